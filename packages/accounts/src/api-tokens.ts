// API tokens a user manages in Settings: the secret is shown once at creation; lists show the
// prefix and last use; revoking is immediate (auth.ts checks revoked_at on every call).
import { z } from "zod";
import { storableString } from "#core/text.ts";
import type { Db } from "#db/client.ts";
import { newApiToken } from "#platform/tokens.ts";

export const createApiTokenSchema = z.strictObject({
  name: storableString("Name the token.")
    .trim()
    .min(1, "Name the token.")
    .max(100, "Use at most 100 characters."),
  scope: z.enum(["read", "read_write"], { error: "Choose read or read and write." }),
});

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  scope: "read" | "read_write";
  createdAt: Date;
  lastUsedAt: Date | null;
}

export async function createApiToken(
  db: Db,
  userId: string,
  input: z.infer<typeof createApiTokenSchema>,
): Promise<{ secret: string; token: ApiTokenView }> {
  const { secret, hash, prefix } = newApiToken();
  const row = await db.apiToken.create({
    data: { userId, name: input.name, scope: input.scope, tokenHash: hash, prefix },
  });
  return { secret, token: view(row) };
}

export async function listApiTokens(db: Db, userId: string): Promise<ApiTokenView[]> {
  const rows = await db.apiToken.findMany({
    where: { userId, revokedAt: null },
    orderBy: { createdAt: "desc" },
  });
  return rows.map(view);
}

/** False when the token is not the user's (or already revoked): callers answer 404. */
export async function revokeApiToken(db: Db, userId: string, tokenId: string, now: Date): Promise<boolean> {
  if (!z.uuid().safeParse(tokenId).success) return false;
  const { count } = await db.apiToken.updateMany({
    where: { id: tokenId, userId, revokedAt: null },
    data: { revokedAt: now },
  });
  return count === 1;
}

function view(row: ApiTokenView): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scope: row.scope,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
  };
}
