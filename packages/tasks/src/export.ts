// A user's export, written as it is read: the JSON document of all their data and the CSV of their
// tasks (shapes: #core/export-format.ts). Tasks and activity are read a page at a time by keyset
// (the list's (user_id, created_at, id) index, the activity feed's (user_id, occurred_at)), and
// each page is turned into text and handed on before the next is read: an account with 100,000
// tasks is never in memory at once, neither as rows nor as text. The web app streams the chunks
// (web/app/routes/settings.export.ts); a page being read while the user edits may show a task
// before or after the edit, as any read does.
import { channelView, CHANNEL_KINDS } from "#core/channels.ts";
import { csvRecord } from "#core/csv.ts";
import { EXPORT_FORMAT, EXPORT_VERSION, TASK_CSV_COLUMNS, taskCsvValues } from "#core/export-format.ts";
import type { TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";
import { userActivity } from "./activity.ts";
import { listLists } from "./list-queries.ts";
import { taskDtoOfRow, taskDtoSql, type TaskDtoSqlRow } from "./records.ts";

export const EXPORT_PAGE_SIZE = 500;

/** The user's tasks, oldest first, a page at a time. */
export async function* taskPages(
  db: Db,
  userId: string,
  pageSize = EXPORT_PAGE_SIZE,
): AsyncGenerator<TaskDto[]> {
  let after: { createdAt: Date; id: string } | null = null;
  for (;;) {
    const keyset: Prisma.Sql = after
      ? Prisma.sql`AND (t.created_at, t.id) > (${after.createdAt}::timestamptz, ${after.id}::uuid)`
      : Prisma.empty;
    const rows = await db.$queryRaw<TaskDtoSqlRow[]>(
      taskDtoSql(Prisma.sql`
        SELECT t.id, t.created_at AS cursor_key FROM tasks t
        WHERE t.user_id = ${userId}::uuid ${keyset}
        ORDER BY t.created_at, t.id
        LIMIT ${pageSize}`),
    );
    if (rows.length === 0) return;
    yield rows.map(taskDtoOfRow);
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = { createdAt: last.created_at, id: last.id };
  }
}

/** The account and its settings: the head of the JSON document. Null when the user is gone. */
export async function accountExport(db: Db, userId: string, now: Date) {
  const [user, channels, pushSubscriptions, apiTokens, savedViews, lists] = await Promise.all([
    db.user.findUnique({
      where: { id: userId },
      select: {
        email: true,
        displayName: true,
        timeZone: true,
        defaultReminderMinutes: true,
        pastReminderPolicy: true,
        createdAt: true,
      },
    }),
    db.notificationChannel.findMany({ where: { userId } }),
    db.pushSubscription.findMany({
      where: { userId },
      // The endpoint is a capability URL and p256dh/auth are keys: none of them is exported.
      select: { userAgent: true, createdAt: true, lastSuccessAt: true },
      orderBy: { createdAt: "asc" },
    }),
    db.apiToken.findMany({
      where: { userId },
      select: {
        name: true,
        prefix: true,
        scope: true,
        createdAt: true,
        lastUsedAt: true,
        expiresAt: true,
        revokedAt: true,
      },
      orderBy: { createdAt: "asc" },
    }),
    db.savedView.findMany({ where: { userId }, orderBy: [{ position: "asc" }, { name: "asc" }] }),
    listLists(db, userId, "all"),
  ]);
  if (!user) return null;
  const iso = (date: Date | null) => date?.toISOString() ?? null;
  const byKind = new Map(channels.map((row) => [row.kind, row]));
  const account = { email: user.email, pushSubscriptions: pushSubscriptions.length };
  return {
    account: {
      email: user.email,
      display_name: user.displayName,
      time_zone: user.timeZone,
      default_reminder_minutes: user.defaultReminderMinutes,
      past_reminder_policy: user.pastReminderPolicy,
      created_at: user.createdAt.toISOString(),
    },
    // As GET /v1/channels shows them: the webhook secret only as has_secret.
    notification_channels: CHANNEL_KINDS.map((kind) => channelView(kind, byKind.get(kind), account, now)),
    push_subscriptions: pushSubscriptions.map((s) => ({
      user_agent: s.userAgent,
      created_at: s.createdAt.toISOString(),
      last_success_at: iso(s.lastSuccessAt),
    })),
    api_tokens: apiTokens.map((t) => ({
      name: t.name,
      prefix: t.prefix,
      scope: t.scope,
      created_at: t.createdAt.toISOString(),
      last_used_at: iso(t.lastUsedAt),
      expires_at: iso(t.expiresAt),
      revoked_at: iso(t.revokedAt),
    })),
    saved_views: savedViews.map((v) => ({ name: v.name, query: v.query, position: v.position })),
    // Archived ones too: their tasks are in the export.
    lists: lists.map(({ open_tasks: _open, ...list }) => list),
  };
}

/**
 * The JSON document, in chunks: the account first, then the tasks and the activity, one page per
 * chunk. Null when the user no longer exists.
 */
export async function exportJson(
  db: Db,
  userId: string,
  now: Date,
  pageSize = EXPORT_PAGE_SIZE,
): Promise<AsyncGenerator<string> | null> {
  const head = await accountExport(db, userId, now);
  if (!head) return null;
  return (async function* () {
    const opening = JSON.stringify(
      { format: EXPORT_FORMAT, version: EXPORT_VERSION, exported_at: now.toISOString(), ...head },
      null,
      2,
    );
    // The head without its closing brace; the two long lists follow, an item per line.
    yield `${opening.slice(0, opening.lastIndexOf("}")).trimEnd()},\n  "tasks": [`;
    const tasks = jsonList();
    for await (const page of taskPages(db, userId, pageSize)) yield tasks.items(page);
    yield `${tasks.close()},\n  "activity": [`;
    const activity = jsonList();
    let cursor: { occurredAt: Date; id: bigint } | undefined;
    for (;;) {
      const { items } = await userActivity(db, userId, { limit: pageSize, cursor });
      if (items.length > 0) yield activity.items(items);
      if (items.length < pageSize) break;
      const last = items[items.length - 1]!;
      cursor = { occurredAt: new Date(last.occurred_at), id: BigInt(last.id) };
    }
    yield `${activity.close()}\n}\n`;
  })();
}

/** The items of a JSON array written a page at a time, one per line, commas between them. */
function jsonList() {
  let written = 0;
  return {
    items: (values: unknown[]) =>
      values.map((value) => `${written++ === 0 ? "" : ","}\n    ${JSON.stringify(value)}`).join(""),
    close: () => (written === 0 ? "]" : "\n  ]"),
  };
}

/** The tasks as CSV (RFC 4180, formula-guarded), a header line then a page per chunk. */
export async function* exportTasksCsv(
  db: Db,
  userId: string,
  pageSize = EXPORT_PAGE_SIZE,
): AsyncGenerator<string> {
  yield csvRecord(TASK_CSV_COLUMNS);
  const listNames = new Map((await listLists(db, userId, "all")).map((list) => [list.id, list.name]));
  for await (const page of taskPages(db, userId, pageSize)) {
    yield page.map((task) => csvRecord(taskCsvValues(task, listNames.get(task.list_id) ?? ""))).join("");
  }
}
