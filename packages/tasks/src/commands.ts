// Task commands: each is one transaction holding the change and its events (outbox). Functions
// (create-task, update-task, complete-task, delete-task, on-task-completed) call these; nothing
// else writes tasks. A refusal is a domain error (#core/errors.ts), which each caller states its
// own way (the function host as problem+json, packages/platform/src/problems.ts).
import {
  cloudEventType,
  TOPICS,
  type TaskEvent,
  type TaskEventType,
  type TaskUpdate,
  type TaskUpdateType,
} from "#core/events.ts";
import type { Actor } from "#core/actor.ts";
import { NotFound, OpenSubtasks, VersionConflict } from "#core/errors.ts";
import { archivedListViolation, parentViolation, subtaskListViolation } from "#core/lists.ts";
import {
  diffTasks,
  recurrenceWithoutDueDate,
  remindersWithoutDueDate,
  type Changes,
  type CreateTaskInput,
  type RecurrenceInput,
  type ReminderInput,
  type SubtaskChoice,
  type TaskDto,
  type UpdateTaskInput,
} from "#core/tasks.ts";
import { randomUUID } from "node:crypto";
import type { Db, Tx } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";
import { enqueue, outboxRows, type OutboxMessage } from "#platform/outbox.ts";
import { loadList } from "./list-queries.ts";
import { loadTaskDto, loadTaskDtos, NO_SUBTASKS, toTaskDto } from "./records.ts";

export interface CommandContext {
  db: Db;
  /** Pub/sub component name for the events. */
  pubsub: string;
  /** The app-id writing the events (their CloudEvent source). */
  source?: string;
  actor: Actor;
  userId: string;
  /** The user's zone and default reminders (from the principal). */
  userTimeZone: string;
  defaultReminderMinutes: number[];
  now: Date;
  traceparent?: string;
  /** Test hook for fault injection: runs inside the transaction after the events are enqueued. */
  afterEnqueue?: (tx: Tx) => Promise<void>;
  /** Run inside this transaction instead of opening one (a consumer's inbox + effect commit together). */
  tx?: Tx;
}

export interface CommandResult {
  task: TaskDto;
  /** False when the command changed nothing (e.g. completing a completed task): no events. */
  changed: boolean;
  eventIds: string[];
  /** Completing a parent with `subtasks: "complete"`: the subtasks it completed. */
  completedSubtasks?: string[];
}

// ───── events ─────

export function taskEventMessages(
  type: TaskEventType,
  task: TaskDto,
  ctx: Pick<CommandContext, "actor" | "now" | "traceparent">,
  changes: Changes = {},
  reason: string | null = null,
): OutboxMessage[] {
  const event: TaskEvent = {
    version: "1.0",
    event_type: type,
    task_id: task.id,
    user_id: task.user_id,
    task_data: task,
    timestamp: ctx.now.toISOString(),
    actor: ctx.actor,
    changes,
    reason,
  };
  const updates: TaskUpdate[] = [];
  const update = (updateType: TaskUpdateType, extra: Partial<TaskUpdate> = {}) =>
    updates.push({
      event_type: updateType,
      task_id: task.id,
      user_id: task.user_id,
      old_status: null,
      new_status: null,
      task: type === "deleted" ? null : task,
      changed_fields: Object.keys(changes),
      timestamp: ctx.now.toISOString(),
      ...extra,
    });
  if (type === "created") update("task_created");
  if (type === "deleted") update("task_deleted");
  if (changes.status) {
    update("status_changed", {
      old_status: changes.status.before as TaskDto["status"],
      new_status: changes.status.after as TaskDto["status"],
    });
  }
  const otherChanges = Object.keys(changes).filter((f) => f !== "status" && f !== "completed_at");
  if (type === "updated" && otherChanges.length > 0) update("task_updated");

  return [
    {
      topic: TOPICS.taskEvents,
      type: cloudEventType.taskEvent(type),
      subject: task.id,
      partitionKey: task.id,
      data: event,
      traceparent: ctx.traceparent,
    },
    ...updates.map((u) => ({
      topic: TOPICS.taskUpdates,
      type: cloudEventType.taskUpdate(u.event_type),
      subject: task.id,
      // A user's live stream is ordered: partition by user.
      partitionKey: task.user_id,
      data: u,
      traceparent: ctx.traceparent,
    })),
  ];
}

// ───── helpers ─────

/** Reuses the spelling the user already has for each tag (tags are case-insensitive per user). */
async function canonicalTags(tx: Tx, userId: string, tags: string[]): Promise<string[]> {
  if (tags.length === 0) return [];
  const existing = await tx.$queryRaw<{ tag: string }[]>`
    SELECT DISTINCT ON (lower(tag)) tag FROM task_tags
    WHERE user_id = ${userId}::uuid AND lower(tag) = ANY(${tags.map((t) => t.toLowerCase())}::text[])
    ORDER BY lower(tag), created_at`;
  const spelling = new Map(existing.map((row) => [row.tag.toLowerCase(), row.tag]));
  return tags.map((tag) => spelling.get(tag.toLowerCase()) ?? tag);
}

function reminderRows(reminders: ReminderInput[], dueAt: Date | null) {
  const violation = remindersWithoutDueDate(reminders, dueAt);
  if (violation) throw violation;
  const seen = new Set<string>();
  return reminders
    .map((r) =>
      "offset_minutes" in r
        ? { offsetMinutes: r.offset_minutes, remindAt: null }
        : { offsetMinutes: null, remindAt: r.remind_at },
    )
    .filter((r) => {
      const key = r.offsetMinutes !== null ? `o${r.offsetMinutes}` : `a${r.remindAt!.getTime()}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

function seriesData(recurrence: RecurrenceInput) {
  return {
    pattern: recurrence.pattern,
    interval: recurrence.interval,
    weekdays: recurrence.weekdays,
    monthDay: recurrence.month_day,
    lastDayOfMonth: recurrence.last_day_of_month,
    monthWeek: recurrence.month_week,
    anchor: recurrence.anchor,
    endsAt: recurrence.ends_at,
    maxCount: recurrence.max_count,
  };
}

async function commit(
  ctx: CommandContext,
  work: (tx: Tx) => Promise<{ task: TaskDto; messages: OutboxMessage[] }>,
): Promise<{ task: TaskDto; eventIds: string[] }> {
  const run = async (tx: Tx) => {
    const { task, messages } = await work(tx);
    const eventIds = await enqueue(tx, ctx.pubsub, messages, ctx.source);
    await ctx.afterEnqueue?.(tx);
    return { task, eventIds };
  };
  return ctx.tx ? run(ctx.tx) : ctx.db.$transaction(run);
}

async function lockOwnedTask(tx: Tx, ctx: CommandContext, taskId: string, expectedVersion?: number) {
  // Row lock: concurrent commands on one task serialise here, so version checks are exact.
  const rows = await tx.$queryRaw<{ version: number }[]>`
    SELECT version FROM tasks WHERE id = ${taskId}::uuid AND user_id = ${ctx.userId}::uuid FOR UPDATE`;
  const row = rows[0];
  if (!row) throw new NotFound("No such task.");
  if (expectedVersion !== undefined && expectedVersion !== row.version) {
    throw new VersionConflict(row.version, expectedVersion);
  }
  const before = await loadTaskDto(tx, ctx.userId, taskId);
  if (!before) throw new NotFound("No such task.");
  return before;
}

// ───── commands ─────

export interface CreateOptions {
  /** Set by on-task-completed for a recurrence's next occurrence. */
  series?: { id: string; occurrenceIndex: number };
  reason?: string | null;
  /**
   * The list and parent are taken as they are, unchecked: the next occurrence of a series stays
   * where the completed one was, also in a list archived since (on-task-completed).
   */
  trustedPlacement?: boolean;
}

/** A task's parent as the placement rules read it. */
interface ParentRow {
  id: string;
  parent_id: string | null;
  list_id: string;
}

async function loadParent(db: Db | Tx, userId: string, parentId: string): Promise<ParentRow> {
  const rows = await db.$queryRaw<ParentRow[]>`
    SELECT id, parent_id, list_id FROM tasks WHERE id = ${parentId}::uuid AND user_id = ${userId}::uuid`;
  // Another user's task is as unknown as a made-up id.
  if (!rows[0]) throw new NotFound("No such parent task (parent_id).");
  return rows[0];
}

/** A list a task is put into: the user's, and not archived. */
async function checkTargetList(db: Db | Tx, userId: string, listId: string): Promise<void> {
  const list = await loadList(db, userId, listId);
  if (!list) throw new NotFound("No such list (list_id).");
  const violation = archivedListViolation(list);
  if (violation) throw violation;
}

/**
 * Where a new task goes: its parent's list for a subtask, else the list named, else (null) the
 * Inbox, which the insert trigger fills in. Checks only what the input names.
 */
async function placementOf(
  db: Db | Tx,
  userId: string,
  input: Pick<CreateTaskInput, "list_id" | "parent_id">,
): Promise<string | null> {
  let listId = input.list_id ?? null;
  if (input.parent_id) {
    const parent = await loadParent(db, userId, input.parent_id);
    const violation =
      parentViolation(null, parent, false) ?? subtaskListViolation(parent.list_id, input.list_id);
    if (violation) throw violation;
    listId = parent.list_id;
  }
  if (listId) await checkTargetList(db, userId, listId);
  return listId;
}

/**
 * Creates a task: the series (for a new recurrence), the task, its tags (in the spelling the user
 * already has), its reminders and its two events, in one SQL statement, so a create is one round
 * trip and needs no interactive transaction. The DTO is the one loadTaskDto would read back: every
 * value is known here (ids are made here) except the tags' spelling, which the statement returns.
 * Inside `ctx.tx` (a consumer's inbox) the statement runs in that transaction; with `afterEnqueue`
 * (a test hook) in a transaction of its own.
 */
export async function createTask(
  ctx: CommandContext,
  input: CreateTaskInput,
  options: CreateOptions = {},
): Promise<CommandResult> {
  const timeZone = input.time_zone ?? ctx.userTimeZone;
  const reminders =
    input.reminders ?? (input.due_at ? ctx.defaultReminderMinutes.map((m) => ({ offset_minutes: m })) : []);
  const reminderData = reminderRows(reminders, input.due_at).map((r) => ({ id: randomUUID(), ...r }));
  const newSeries =
    !options.series && input.recurrence
      ? { id: randomUUID(), ...seriesData(input.recurrence), startsAt: input.due_at!, timeZone }
      : null;
  const series = options.series ?? (newSeries ? { id: newSeries.id, occurrenceIndex: 1 } : null);

  const run = async (db: Db | Tx) => {
    const listId = options.trustedPlacement
      ? (input.list_id ?? null)
      : input.list_id || input.parent_id
        ? await placementOf(db, ctx.userId, input)
        : null;
    // An existing series (a recurrence's next occurrence): its current row, as loadTaskDto reads it.
    const seriesRow = newSeries
      ? { ...newSeries, userId: ctx.userId, active: true }
      : options.series
        ? await db.taskRecurrence.findFirst({ where: { id: options.series.id, userId: ctx.userId } })
        : null;
    const taskRow = {
      id: randomUUID(),
      userId: ctx.userId,
      title: input.title,
      description: input.description,
      status: "pending" as const,
      priority: input.priority,
      dueAt: input.due_at,
      timeZone,
      completedAt: null,
      createdAt: ctx.now,
      updatedAt: ctx.now,
      version: 1,
      seriesId: series?.id ?? null,
      occurrenceIndex: series?.occurrenceIndex ?? null,
      // Without one, the Inbox: the statement returns its id (the insert trigger's choice).
      listId: listId ?? "",
      parentId: input.parent_id ?? null,
      subtasks: NO_SUBTASKS,
      // Replaced by the spelling the statement chose, in the order loadTaskDto sorts them.
      tags: input.tags.map((tag) => ({ tag })),
      reminders: [...reminderData].sort(byReminderOrder),
    };
    const draft = toTaskDto(taskRow as Parameters<typeof toTaskDto>[0], seriesRow as SeriesRow | null);
    const messages = taskEventMessages("created", draft, ctx, {}, options.reason ?? null);
    const rows = outboxRows(ctx.pubsub, messages, ctx.source);
    const outbox = rows.map((row, i) => ({
      event_id: row.eventId,
      source: row.source,
      pubsub: row.pubsub,
      topic: row.topic,
      type: row.type,
      subject: row.subject,
      partition_key: row.partitionKey,
      data: row.data,
      traceparent: row.traceparent,
      // Where the task is in this event's data (its tags and list patched with the statement's).
      task_key: taskKey(messages[i]!.data, draft),
    }));
    const seriesInsert = newSeries
      ? Prisma.sql`, series AS (
          INSERT INTO task_recurrence (id, user_id, pattern, interval, weekdays, month_day, last_day_of_month,
            month_week, anchor, starts_at, time_zone, ends_at, max_count, occurrences_created)
          VALUES (${newSeries.id}::uuid, ${ctx.userId}::uuid, ${newSeries.pattern}::recurrence_pattern,
            ${newSeries.interval}::integer, ${newSeries.weekdays}::integer[], ${newSeries.monthDay}::integer,
            ${newSeries.lastDayOfMonth}::boolean, ${newSeries.monthWeek}::integer, ${newSeries.anchor}::recurrence_anchor,
            ${newSeries.startsAt}::timestamptz, ${timeZone}, ${newSeries.endsAt}::timestamptz,
            ${newSeries.maxCount}::integer, 1)
          RETURNING id)`
      : Prisma.empty;
    const [result] = await db.$queryRaw<{ tags: string[]; list_id: string }[]>`
      WITH given AS (
        SELECT g.tag, g.folded, g.n
        FROM unnest(${input.tags}::text[], ${input.tags.map((t) => t.toLowerCase())}::text[])
          WITH ORDINALITY AS g(tag, folded, n)
      ),
      existing AS (
        SELECT DISTINCT ON (lower(tag)) tag FROM task_tags
        WHERE user_id = ${ctx.userId}::uuid AND lower(tag) IN (SELECT folded FROM given)
        ORDER BY lower(tag), created_at
      ),
      chosen AS (
        SELECT coalesce(e.tag, g.tag) AS tag FROM given g LEFT JOIN existing e ON lower(e.tag) = g.folded
      ),
      sorted AS (SELECT coalesce(array_agg(tag ORDER BY tag), '{}') AS tags FROM chosen)
      ${seriesInsert},
      task AS (
        INSERT INTO tasks (id, user_id, title, description, priority, due_at, time_zone, created_at,
          updated_at, series_id, occurrence_index, list_id, parent_id)
        VALUES (${taskRow.id}::uuid, ${ctx.userId}::uuid, ${input.title}, ${input.description},
          ${input.priority}::priority, ${input.due_at}::timestamptz, ${timeZone}, ${ctx.now}::timestamptz,
          ${ctx.now}::timestamptz, ${taskRow.seriesId}::uuid, ${taskRow.occurrenceIndex}::integer,
          ${listId}::uuid, ${taskRow.parentId}::uuid)
        RETURNING id, list_id
      ),
      tags AS (
        INSERT INTO task_tags (task_id, user_id, tag, created_at)
        SELECT task.id, ${ctx.userId}::uuid, chosen.tag, ${ctx.now}::timestamptz FROM task, chosen
      ),
      reminders AS (
        INSERT INTO task_reminders (id, task_id, user_id, offset_minutes, remind_at)
        SELECT r.id, task.id, ${ctx.userId}::uuid, r.offset_minutes, r.remind_at
        FROM task, unnest(${reminderData.map((r) => r.id)}::uuid[],
          ${reminderData.map((r) => r.offsetMinutes)}::integer[],
          ${reminderData.map((r) => r.remindAt?.toISOString() ?? null)}::timestamptz[]) AS r(id, offset_minutes, remind_at)
      ),
      events AS (
        INSERT INTO outbox (event_id, source, pubsub, topic, type, subject, partition_key, data, traceparent)
        SELECT (e.m->>'event_id')::uuid, e.m->>'source', e.m->>'pubsub', e.m->>'topic', e.m->>'type',
          e.m->>'subject', e.m->>'partition_key',
          CASE WHEN e.m->>'task_key' IS NULL THEN e.m->'data'
            ELSE jsonb_set(jsonb_set(e.m->'data', ARRAY[e.m->>'task_key', 'tags'], to_jsonb(sorted.tags)),
              ARRAY[e.m->>'task_key', 'list_id'], to_jsonb(task.list_id::text)) END,
          e.m->>'traceparent'
        FROM task, sorted, jsonb_array_elements(${JSON.stringify(outbox)}::jsonb) WITH ORDINALITY AS e(m, n)
        ORDER BY e.n
      )
      SELECT sorted.tags, task.list_id FROM sorted, task`;
    const task: TaskDto = { ...draft, tags: result!.tags, list_id: result!.list_id };
    // The events' copies of the task carry the same tags and list (the statement patched them).
    for (const [i, message] of messages.entries()) {
      const key = outbox[i]!.task_key;
      if (key) (message.data as Record<string, unknown>)[key] = task;
    }
    await ctx.afterEnqueue?.(db as Tx);
    return { task, eventIds: rows.map((r) => r.eventId) };
  };
  const { task, eventIds } = ctx.tx
    ? await run(ctx.tx)
    : ctx.afterEnqueue
      ? await ctx.db.$transaction((tx) => run(tx))
      : await run(ctx.db);
  return { task, changed: true, eventIds };
}

type SeriesRow = Parameters<typeof toTaskDto>[1];

/** loadTaskDto's reminder order: offset desc (NULLs first, as PostgreSQL sorts DESC), then remind_at. */
function byReminderOrder(
  a: { offsetMinutes: number | null; remindAt: Date | null },
  b: { offsetMinutes: number | null; remindAt: Date | null },
): number {
  if (a.offsetMinutes !== b.offsetMinutes) {
    if (a.offsetMinutes === null) return -1;
    if (b.offsetMinutes === null) return 1;
    return b.offsetMinutes - a.offsetMinutes;
  }
  const [x, y] = [a.remindAt?.getTime() ?? Infinity, b.remindAt?.getTime() ?? Infinity];
  return x === y ? 0 : x < y ? -1 : 1;
}

/** The key of the task inside an event's data (the DTO is embedded by reference), if any. */
function taskKey(data: unknown, task: TaskDto): string | null {
  if (!data || typeof data !== "object") return null;
  for (const [key, value] of Object.entries(data)) if (value === task) return key;
  return null;
}

export async function updateTask(
  ctx: CommandContext,
  taskId: string,
  input: UpdateTaskInput,
): Promise<CommandResult> {
  let changed = false;
  const { task, eventIds } = await commit(ctx, async (tx) => {
    const before = await lockOwnedTask(tx, ctx, taskId, input.version);
    const dueAt = input.due_at !== undefined ? input.due_at : before.due_at ? new Date(before.due_at) : null;
    const timeZone = input.time_zone ?? before.time_zone;

    const violation = recurrenceWithoutDueDate(input.recurrence, dueAt);
    if (violation) throw violation;
    const { listId, parentId } = await movedPlacement(tx, ctx.userId, before, input);
    // Tags and reminders are replaced by difference, not wholesale: an unchanged one keeps its row
    // (its id and position), so restating the current set is a no-op with no event.
    if (input.tags !== undefined) {
      const tags = await canonicalTags(tx, ctx.userId, input.tags);
      const removed = before.tags.filter((tag) => !tags.includes(tag));
      const added = tags.filter((tag) => !before.tags.includes(tag));
      if (removed.length) await tx.taskTag.deleteMany({ where: { taskId, tag: { in: removed } } });
      if (added.length)
        await tx.taskTag.createMany({
          data: added.map((tag) => ({ taskId, userId: ctx.userId, tag, createdAt: ctx.now })),
        });
    }
    if (input.reminders !== undefined) {
      const rows = reminderRows(input.reminders, dueAt);
      const key = (offset: number | null, at: Date | string | null) =>
        offset !== null ? `o${offset}` : `a${new Date(at!).getTime()}`;
      const wanted = new Set(rows.map((r) => key(r.offsetMinutes, r.remindAt)));
      const existing = new Set(before.reminders.map((r) => key(r.offset_minutes, r.remind_at)));
      const removed = before.reminders.filter((r) => !wanted.has(key(r.offset_minutes, r.remind_at)));
      const added = rows.filter((r) => !existing.has(key(r.offsetMinutes, r.remindAt)));
      if (removed.length)
        await tx.taskReminder.deleteMany({ where: { id: { in: removed.map((r) => r.id) } } });
      if (added.length)
        await tx.taskReminder.createMany({ data: added.map((r) => ({ ...r, taskId, userId: ctx.userId })) });
    } else if (input.due_at === null && before.reminders.length > 0) {
      // Reminders are planned against the due time: clearing it clears them.
      await tx.taskReminder.deleteMany({ where: { taskId } });
    }
    let seriesId = before.series_id;
    let occurrenceIndex = before.occurrence_index;
    if (input.recurrence === null && seriesId) {
      await tx.taskRecurrence.updateMany({
        where: { id: seriesId, userId: ctx.userId },
        data: { active: false, updatedAt: ctx.now },
      });
    } else if (input.recurrence) {
      if (seriesId && before.recurrence) {
        // A changed pattern applies from the next occurrence on.
        await tx.taskRecurrence.updateMany({
          where: { id: seriesId, userId: ctx.userId },
          data: {
            ...seriesData(input.recurrence),
            active: true,
            timeZone,
            version: { increment: 1 },
            updatedAt: ctx.now,
          },
        });
      } else {
        const created = await tx.taskRecurrence.create({
          data: {
            userId: ctx.userId,
            ...seriesData(input.recurrence),
            startsAt: dueAt!,
            timeZone,
            occurrencesCreated: 1,
          },
        });
        seriesId = created.id;
        occurrenceIndex = 1;
      }
    }
    await tx.task.update({
      where: { id: taskId },
      data: {
        ...(input.title !== undefined ? { title: input.title } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.priority !== undefined ? { priority: input.priority } : {}),
        ...(input.due_at !== undefined ? { dueAt: input.due_at } : {}),
        ...(input.time_zone !== undefined ? { timeZone: input.time_zone } : {}),
        seriesId,
        occurrenceIndex,
        listId,
        parentId,
      },
    });
    const after = (await loadTaskDto(tx, ctx.userId, taskId))!;
    const changes = diffTasks(before, after);
    if (Object.keys(changes).length === 0) return { task: before, messages: [] };
    changed = true;
    await tx.task.update({ where: { id: taskId }, data: { version: { increment: 1 }, updatedAt: ctx.now } });
    const task = { ...after, version: before.version + 1, updated_at: ctx.now.toISOString() };
    const messages = taskEventMessages("updated", task, ctx, changes);
    // A moved parent takes its subtasks along, each moved with its own event.
    if (listId !== before.list_id && before.subtasks.total > 0)
      messages.push(...(await moveSubtasks(tx, ctx, taskId, listId)));
    return { task, messages };
  });
  return { task, changed, eventIds };
}

/**
 * Where an update puts the task: a new parent (its list too), no parent, or another list. A
 * subtask stays in its parent's list; a task with subtasks cannot become one; the target list is
 * the user's and not archived.
 */
async function movedPlacement(
  tx: Tx,
  userId: string,
  before: TaskDto,
  input: Pick<UpdateTaskInput, "list_id" | "parent_id">,
): Promise<{ listId: string; parentId: string | null }> {
  let listId = before.list_id;
  let parentId = before.parent_id;
  let parentListId = before.list_id;
  if (input.parent_id !== undefined && input.parent_id !== before.parent_id) {
    if (input.parent_id === null) parentId = null;
    else {
      const parent = await loadParent(tx, userId, input.parent_id);
      const violation = parentViolation(before, parent, before.subtasks.total > 0);
      if (violation) throw violation;
      parentId = parent.id;
      listId = parentListId = parent.list_id;
    }
  }
  if (parentId !== null) {
    const violation = subtaskListViolation(parentListId, input.list_id);
    if (violation) throw violation;
  } else if (input.list_id !== undefined) listId = input.list_id;
  if (listId !== before.list_id) await checkTargetList(tx, userId, listId);
  return { listId, parentId };
}

/** A parent's subtasks (all, or the open ones), locked for the change, oldest first. */
async function lockSubtasks(
  tx: Tx,
  userId: string,
  parentId: string,
  which: "all" | "pending",
): Promise<TaskDto[]> {
  const pending = which === "pending" ? Prisma.sql`AND status = 'pending'` : Prisma.empty;
  const ids = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM tasks WHERE parent_id = ${parentId}::uuid AND user_id = ${userId}::uuid ${pending}
    ORDER BY created_at, id FOR UPDATE`;
  return loadTaskDtos(
    tx,
    userId,
    ids.map((r) => r.id),
  );
}

/** Moves a parent's subtasks to `listId`: each locked, changed and announced like any update. */
async function moveSubtasks(tx: Tx, ctx: CommandContext, parentId: string, listId: string) {
  const messages: OutboxMessage[] = [];
  for (const child of await lockSubtasks(tx, ctx.userId, parentId, "all")) {
    await tx.task.update({
      where: { id: child.id },
      data: { listId, version: { increment: 1 }, updatedAt: ctx.now },
    });
    const moved: TaskDto = {
      ...child,
      list_id: listId,
      version: child.version + 1,
      updated_at: ctx.now.toISOString(),
    };
    messages.push(...taskEventMessages("updated", moved, ctx, diffTasks(child, moved), "parent_moved"));
  }
  return messages;
}

async function setStatus(
  ctx: CommandContext,
  taskId: string,
  status: "pending" | "completed",
  expectedVersion?: number,
  subtaskChoice?: SubtaskChoice,
): Promise<CommandResult> {
  let changed = false;
  const completedSubtasks: string[] = [];
  const { task, eventIds } = await commit(ctx, async (tx) => {
    const before = await lockOwnedTask(tx, ctx, taskId);
    // Completing a completed task (or reopening a pending one) is a no-op, not an error: retries are
    // safe, also a retry that still names the version its lost first attempt moved on from.
    if (before.status === status) return { task: before, messages: [] };
    if (expectedVersion !== undefined && expectedVersion !== before.version) {
      throw new VersionConflict(before.version, expectedVersion);
    }
    changed = true;
    const messages: OutboxMessage[] = [];
    let subtasks = before.subtasks;
    if (status === "completed" && before.subtasks.done < before.subtasks.total) {
      const open = await lockSubtasks(tx, ctx.userId, taskId, "pending");
      if (open.length > 0 && subtaskChoice === undefined) throw new OpenSubtasks(open.length);
      if (open.length > 0 && subtaskChoice === "complete") {
        // Each subtask completed as if on its own: its row, its events, its audit entry.
        for (const child of open) {
          const done = await statusChanged(tx, ctx, child, "completed", "parent_completed");
          messages.push(...done.messages);
          completedSubtasks.push(child.id);
        }
        subtasks = { done: before.subtasks.done + open.length, total: before.subtasks.total };
      }
    }
    const done = await statusChanged(tx, ctx, { ...before, subtasks }, status, null);
    messages.push(...done.messages);
    return { task: done.task, messages };
  });
  return { task, changed, eventIds, completedSubtasks };
}

/** One task's status change: its row and its events. */
async function statusChanged(
  tx: Tx,
  ctx: CommandContext,
  before: TaskDto,
  status: "pending" | "completed",
  reason: string | null,
): Promise<{ task: TaskDto; messages: OutboxMessage[] }> {
  const completedAt = status === "completed" ? ctx.now : null;
  await tx.task.update({
    where: { id: before.id },
    data: { status, completedAt, updatedAt: ctx.now, version: { increment: 1 } },
  });
  const task: TaskDto = {
    ...before,
    status,
    completed_at: completedAt?.toISOString() ?? null,
    updated_at: ctx.now.toISOString(),
    version: before.version + 1,
  };
  const changes = diffTasks(before, task);
  return {
    task,
    messages: taskEventMessages(status === "completed" ? "completed" : "updated", task, ctx, changes, reason),
  };
}

/**
 * Completes a task. A parent with open subtasks needs `subtasks`: "complete" completes them too
 * (in this transaction, each with its own events; `completedSubtasks` names them, so an undo can
 * reopen exactly those), "leave" leaves them open; without it the command refuses (OpenSubtasks).
 */
export function completeTask(
  ctx: CommandContext,
  taskId: string,
  expectedVersion?: number,
  subtasks?: SubtaskChoice,
): Promise<CommandResult> {
  return setStatus(ctx, taskId, "completed", expectedVersion, subtasks);
}

export function reopenTask(
  ctx: CommandContext,
  taskId: string,
  expectedVersion?: number,
): Promise<CommandResult> {
  return setStatus(ctx, taskId, "pending", expectedVersion);
}

export type DeleteScope = "series" | "occurrence";

/**
 * Deletes a task. For an occurrence of a recurring series, scope "series" (the default) ends the
 * series; "occurrence" deletes only this one and lets the series go on (on-task-completed then
 * creates the next occurrence).
 */
export async function deleteTask(
  ctx: CommandContext,
  taskId: string,
  options: { scope?: DeleteScope; expectedVersion?: number } = {},
): Promise<CommandResult> {
  const scope = options.scope ?? "series";
  const { task, eventIds } = await commit(ctx, async (tx) => {
    const before = await lockOwnedTask(tx, ctx, taskId, options.expectedVersion);
    let reason: string | null = null;
    if (before.series_id) {
      reason = scope === "series" ? "series_deleted" : "occurrence_skipped";
      if (scope === "series") {
        await tx.taskRecurrence.updateMany({
          where: { id: before.series_id, userId: ctx.userId },
          data: { active: false, updatedAt: ctx.now },
        });
      }
    }
    // A parent goes with its subtasks, each deleted with its own event (the foreign key's cascade
    // would delete them silently).
    const messages: OutboxMessage[] = [];
    if (before.subtasks.total > 0) {
      const children = await lockSubtasks(tx, ctx.userId, taskId, "all");
      for (const child of children) {
        if (child.series_id)
          await tx.taskRecurrence.updateMany({
            where: { id: child.series_id, userId: ctx.userId },
            data: { active: false, updatedAt: ctx.now },
          });
        const gone = child.recurrence
          ? { ...child, recurrence: { ...child.recurrence, active: false } }
          : child;
        messages.push(...taskEventMessages("deleted", gone, ctx, {}, "parent_deleted"));
      }
      await tx.task.deleteMany({ where: { id: { in: children.map((c) => c.id) } } });
    }
    await tx.task.delete({ where: { id: taskId } });
    const task =
      before.recurrence && scope === "series"
        ? { ...before, recurrence: { ...before.recurrence, active: false } }
        : before;
    messages.push(...taskEventMessages("deleted", task, ctx, {}, reason));
    return { task, messages };
  });
  return { task, changed: true, eventIds };
}
