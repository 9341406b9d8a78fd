// Re-encryption of stored webhook secrets: plain-text rows from before encryption at rest, and rows
// under a key other than `current` after a rotation. index.ts runs it in the background at every
// start, so a deploy or a restart after moving `current` is all a rotation needs; it is idempotent
// and safe beside other replicas (each row is written only if it still holds what was read).
import type { Db } from "#db/client.ts";
import { needsReseal, openSecret, sealSecret, type SecretKeyring } from "#platform/secret-box.ts";

export interface ResealReport {
  /** Rows now sealed under the current key. */
  resealed: number;
  /** Rows that could not be opened (their key is not loaded, or they do not authenticate). */
  unreadable: number;
}

const BATCH = 200;

export async function resealWebhookSecrets(db: Db, keys: SecretKeyring): Promise<ResealReport> {
  const report: ResealReport = { resealed: 0, unreadable: 0 };
  const current = `v1:${keys.current}:`;
  let after: string | undefined;
  for (;;) {
    const rows = await db.notificationChannel.findMany({
      where: {
        kind: "webhook",
        webhookSecret: { not: null },
        NOT: { webhookSecret: { startsWith: current } },
        ...(after ? { id: { gt: after } } : {}),
      },
      select: { id: true, userId: true, webhookSecret: true },
      orderBy: { id: "asc" },
      take: BATCH,
    });
    for (const row of rows) {
      const stored = row.webhookSecret!;
      if (!needsReseal(stored, keys)) continue;
      let sealed: string;
      try {
        sealed = sealSecret(openSecret(stored, row.userId, keys), row.userId, keys);
      } catch {
        report.unreadable += 1;
        continue;
      }
      // Only if unchanged since read: a secret saved meanwhile is already sealed and newer.
      const { count } = await db.notificationChannel.updateMany({
        where: { id: row.id, webhookSecret: stored },
        data: { webhookSecret: sealed },
      });
      report.resealed += count;
    }
    if (rows.length < BATCH) return report;
    after = rows.at(-1)!.id;
  }
}
