// What the task list shows of the reminder ledger (notification_deliveries, reminder_jobs): which
// tasks have a reminder that reached the user on no channel. The task's page says why (task.tsx).
import type { Db } from "#db/client.ts";

/**
 * Which of `taskIds` (the user's, pending) have a reminder that fired for their current due date
 * and reached them on no channel: every delivery of that occurrence failed for good. The list
 * marks them, the task's page says why. One statement, by the ledger's exact key (job@instant).
 */
export async function undeliveredTaskIds(db: Db, userId: string, taskIds: string[]): Promise<Set<string>> {
  if (taskIds.length === 0) return new Set();
  const rows = await db.$queryRaw<{ task_id: string }[]>`
    WITH fired AS (
      SELECT r.task_id,
             r.job_name || '@' || to_char(r.remind_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS reminder_key
      FROM reminder_jobs r JOIN tasks t ON t.id = r.task_id AND t.user_id = r.user_id
      WHERE r.user_id = ${userId}::uuid AND r.task_id = ANY(${taskIds}::uuid[]) AND r.status = 'fired'
        AND t.status = 'pending' AND t.due_at = r.due_at)
    SELECT DISTINCT f.task_id::text AS task_id FROM fired f
    WHERE EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.reminder_key = f.reminder_key)
      AND NOT EXISTS (SELECT 1 FROM notification_deliveries d
                      WHERE d.reminder_key = f.reminder_key AND d.status <> 'failed')`;
  return new Set(rows.map((row) => row.task_id));
}
