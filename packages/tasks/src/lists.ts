// Lists: the commands that create and change them (each one transaction holding the change, its
// events on task-events and its updates on task-updates, like the task commands); the reads the API, the web app and MCP share are
// in list-queries.ts (re-exported here), which the web app imports without the outbox.
// The rules are core's (packages/core/src/lists.ts); docs/decisions/016-lists-and-subtasks.md.
import { Conflict, NotFound, RuleViolation, VersionConflict } from "#core/errors.ts";
import { cloudEventType, TOPICS, type ListEvent, type ListEventType, type ListUpdate } from "#core/events.ts";
import {
  diffLists,
  inboxViolation,
  LIST_LIMITS,
  listDtoSchema,
  moveViolation,
  reorderLists,
  type CreateListInput,
  type ListDto,
  type UpdateListInput,
} from "#core/lists.ts";
import type { Tx } from "#db/client.ts";
import { isUniqueViolation } from "#platform/db-errors.ts";
import { nameSchema } from "#platform/openapi.ts";
import { enqueue, type OutboxMessage } from "#platform/outbox.ts";
import type { CommandContext } from "./commands.ts";
import { toListDto } from "./list-queries.ts";

nameSchema(listDtoSchema, "List");

export { findListByName, listLists, loadList, toListDto, type ListFilter } from "./list-queries.ts";

// ───── events ─────

/**
 * A list's event on task-events (the record: audit log) and its update on task-updates (what open
 * clients redraw, partitioned by user like a task's updates), enqueued in the same transaction.
 */
export function listEventMessages(
  type: ListEventType,
  list: ListDto,
  ctx: Pick<CommandContext, "actor" | "now" | "traceparent">,
  changes: Record<string, { before: unknown; after: unknown }> = {},
): OutboxMessage[] {
  const event: ListEvent = {
    version: "1.0",
    event_type: type,
    list_id: list.id,
    user_id: list.user_id,
    list_data: list,
    timestamp: ctx.now.toISOString(),
    actor: ctx.actor,
    changes,
  };
  const update: ListUpdate = {
    event_type: type,
    list_id: list.id,
    user_id: list.user_id,
    list,
    changed_fields: Object.keys(changes),
    timestamp: ctx.now.toISOString(),
  };
  return [
    {
      topic: TOPICS.taskEvents,
      type: cloudEventType.listEvent(type),
      subject: list.id,
      partitionKey: list.id,
      data: event,
      traceparent: ctx.traceparent,
    },
    {
      topic: TOPICS.taskUpdates,
      type: cloudEventType.listUpdate(type),
      subject: list.id,
      // A user's live stream is ordered, lists and tasks alike: partition by user.
      partitionKey: list.user_id,
      data: update,
      traceparent: ctx.traceparent,
    },
  ];
}

// ───── commands ─────

const nameTaken = (name: string) =>
  new Conflict("name", `you already have a list named "${name}" (names are unique, ignoring case)`);

async function nameInUse(tx: Tx, userId: string, name: string, exceptId: string | null): Promise<boolean> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM task_lists
    WHERE user_id = ${userId}::uuid AND lower(name) = lower(${name}) AND archived_at IS NULL
      AND (${exceptId}::uuid IS NULL OR id <> ${exceptId}::uuid)
    LIMIT 1`;
  return rows.length > 0;
}

/**
 * Runs `work` in a transaction (or ctx.tx) and enqueues its events there. Two writers racing for
 * one name both pass the check; the unique index refuses the second, which is the same Conflict.
 */
async function commitList<T>(
  ctx: CommandContext,
  work: (tx: Tx) => Promise<{ value: T; messages: OutboxMessage[] }>,
): Promise<{ value: T; eventIds: string[] }> {
  const run = async (tx: Tx) => {
    const { value, messages } = await work(tx);
    const eventIds = await enqueue(tx, ctx.pubsub, messages, ctx.source);
    await ctx.afterEnqueue?.(tx);
    return { value, eventIds };
  };
  try {
    return ctx.tx ? await run(ctx.tx) : await ctx.db.$transaction(run);
  } catch (error) {
    if (isUniqueViolation(error, "task_lists_user_id_name_active_key"))
      throw new Conflict("name", "another active list has this name (names are unique, ignoring case)");
    throw error;
  }
}

/**
 * The positions after moving `list` just before or after its anchor: the Inbox 0, the others 1…n
 * in their order (archived ones keep their place among them), so `position` is the list's place;
 * and the place the list had (`from`), which is what a no-op move keeps.
 */
async function moveInOrder(
  tx: Tx,
  userId: string,
  list: ListDto,
  move: { where: "before" | "after"; anchor: string },
): Promise<{ positions: Map<string, number>; from: number }> {
  const order = await tx.$queryRaw<{ id: string; is_inbox: boolean }[]>`
    SELECT id::text AS id, is_inbox FROM task_lists WHERE user_id = ${userId}::uuid
    ORDER BY is_inbox DESC, position, created_at, id`;
  const anchor = order.find((row) => row.id === move.anchor);
  if (!anchor) throw new NotFound(`No such list (${move.where}).`);
  const violation = moveViolation(list, anchor, move.where);
  if (violation) throw violation;
  const ids = reorderLists(
    order.map((row) => row.id),
    list.id,
    anchor.id,
    move.where,
  );
  return {
    positions: new Map(ids.map((id, index) => [id, index])),
    from: order.findIndex((row) => row.id === list.id),
  };
}

/** Writes the renumbered positions of the user's lists (each row once, in one statement). */
async function writePositions(tx: Tx, userId: string, positions: Map<string, number>): Promise<void> {
  const ids = [...positions.keys()];
  const values = [...positions.values()];
  await tx.$executeRaw`
    UPDATE task_lists SET position = v.position
    FROM unnest(${ids}::uuid[], ${values}::int[]) AS v(id, position)
    WHERE task_lists.id = v.id AND task_lists.user_id = ${userId}::uuid
      AND task_lists.position IS DISTINCT FROM v.position`;
}

export async function createList(ctx: CommandContext, input: CreateListInput): Promise<ListDto> {
  const { value } = await commitList(ctx, async (tx) => {
    // Serialises the user's list writes, so the count below cannot be overtaken.
    await tx.$executeRaw`SELECT 1 FROM users WHERE id = ${ctx.userId}::uuid FOR UPDATE`;
    const [stats] = await tx.$queryRaw<{ count: number; max: number | null }[]>`
      SELECT count(*)::int AS count, max(position) AS max FROM task_lists WHERE user_id = ${ctx.userId}::uuid`;
    const { count, max } = stats!;
    if (count >= LIST_LIMITS.listsPerUser)
      throw new RuleViolation(
        "name",
        `you have ${LIST_LIMITS.listsPerUser} lists, the most there can be (archived ones included)`,
      );
    if (await nameInUse(tx, ctx.userId, input.name, null)) throw nameTaken(input.name);
    const row = await tx.taskList.create({
      data: {
        userId: ctx.userId,
        name: input.name,
        color: input.color,
        position: (max ?? 0) + 1,
        createdAt: ctx.now,
        updatedAt: ctx.now,
      },
    });
    const list = toListDto(row);
    return { value: list, messages: listEventMessages("list_created", list, ctx) };
  });
  return value;
}

export interface ListChangeResult {
  list: ListDto;
  changed: boolean;
}

/** Renames, recolours, archives, unarchives or moves a list: one event per kind of change. */
export async function updateList(
  ctx: CommandContext,
  listId: string,
  input: UpdateListInput,
): Promise<ListChangeResult> {
  let changed = false;
  const move =
    input.before !== undefined
      ? { where: "before" as const, anchor: input.before }
      : input.after !== undefined
        ? { where: "after" as const, anchor: input.after }
        : null;
  const { value } = await commitList(ctx, async (tx) => {
    // A move renumbers the user's lists: serialise it with the others and with createList (the user
    // row first, as createList takes it, then the list: so concurrent moves cannot deadlock).
    if (move) await tx.$executeRaw`SELECT 1 FROM users WHERE id = ${ctx.userId}::uuid FOR UPDATE`;
    const rows = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM task_lists WHERE id = ${listId}::uuid AND user_id = ${ctx.userId}::uuid FOR UPDATE`;
    if (rows.length === 0) throw new NotFound("No such list.");
    const before = toListDto((await tx.taskList.findUnique({ where: { id: listId } }))!);
    if (input.version !== undefined && input.version !== before.version)
      throw new VersionConflict(before.version, input.version);
    const violation = inboxViolation(before, input);
    if (violation) throw violation;
    const name = input.name ?? before.name;
    const archived = input.archived ?? before.archived;
    // A list coming back (or renamed while active) must not share an active list's name.
    const nameMatters = !archived && (name.toLowerCase() !== before.name.toLowerCase() || before.archived);
    if (nameMatters && (await nameInUse(tx, ctx.userId, name, listId)))
      throw new Conflict(
        "name",
        before.archived && input.name === undefined
          ? `another active list is named "${name}": unarchive this one with a new name`
          : `you already have a list named "${name}" (names are unique, ignoring case)`,
      );
    const renumbered = move ? await moveInOrder(tx, ctx.userId, before, move) : null;
    // A move is a change of place in the order (stored positions may have gaps from older writes).
    const place = renumbered?.positions.get(listId);
    const moved = renumbered !== null && place !== undefined && place !== renumbered.from;
    const after: ListDto = {
      ...before,
      name,
      color: input.color ?? before.color,
      archived,
      archived_at: archived ? (before.archived_at ?? ctx.now.toISOString()) : null,
      position: moved ? place : before.position,
    };
    const changes = diffLists(before, after);
    if (moved) changes.position = { before: renumbered.from, after: place };
    // Only the spelling changed ("work" → "Work"): a rename too.
    if (after.name !== before.name) changes.name = { before: before.name, after: after.name };
    if (Object.keys(changes).length === 0) return { value: before, messages: [] };
    changed = true;
    if (moved) await writePositions(tx, ctx.userId, renumbered.positions);
    const row = await tx.taskList.update({
      where: { id: listId },
      data: {
        name: after.name,
        color: after.color,
        position: after.position,
        archivedAt: after.archived_at ? new Date(after.archived_at) : null,
        updatedAt: ctx.now,
        version: { increment: 1 },
      },
    });
    const list = toListDto(row);
    const messages: OutboxMessage[] = [];
    const one = (field: string) => ({ [field]: changes[field]! });
    if (changes.name) messages.push(...listEventMessages("list_renamed", list, ctx, one("name")));
    if (changes.color) messages.push(...listEventMessages("list_recoloured", list, ctx, one("color")));
    if (changes.archived)
      messages.push(
        ...listEventMessages(list.archived ? "list_archived" : "list_unarchived", list, ctx, one("archived")),
      );
    if (changes.position) messages.push(...listEventMessages("list_moved", list, ctx, one("position")));
    return { value: list, messages };
  });
  return { list: value, changed };
}
