// Webhook secrets at rest (ADR 014): sealed when saved, and re-encrypted in bulk: plain-text rows
// from before encryption at rest, and rows under a key other than `current` after a rotation. The
// function runs the bulk pass in the background at every start (./startup.ts), so a deploy or a
// restart after moving `current` is all a rotation needs; it is idempotent and safe beside other
// replicas (each row is written only if it still holds what was read).
import type { Db } from "#db/client.ts";
import { needsReseal, openSecret, sealSecret, type SecretKeyring } from "#platform/secret-box.ts";

export interface ResealReport {
  /** Rows now sealed under the current key. */
  resealed: number;
  /** Rows that could not be opened (their key is not loaded, or they do not authenticate). */
  unreadable: number;
}

const BATCH = 200;

/** The webhook secret to store: `given` sealed, else `stored` (re-sealed when it needs it). */
export function sealedWebhookSecret(
  given: string | undefined,
  stored: string | null | undefined,
  userId: string,
  keys: SecretKeyring,
): string | null {
  if (given !== undefined) return sealSecret(given, userId, keys);
  if (!stored || !needsReseal(stored, keys)) return stored ?? null;
  try {
    return sealSecret(openSecret(stored, userId, keys), userId, keys);
  } catch {
    return stored; // Not ours to open (its key is gone): left as it is, and delivery reports why.
  }
}

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
