// Opaque secrets (API tokens, session ids): random, shown once, stored only as SHA-256.
import { createHash, randomBytes } from "node:crypto";

export const API_TOKEN_PREFIX = "orb_";

export interface NewSecret {
  /** The secret to hand to the user exactly once. */
  secret: string;
  /** What the database stores. */
  hash: string;
  /** A short, non-secret prefix that tells tokens apart in listings. */
  prefix: string;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function newApiToken(): NewSecret {
  const secret = API_TOKEN_PREFIX + randomBytes(32).toString("base64url");
  return { secret, hash: hashSecret(secret), prefix: secret.slice(0, 12) };
}

export function newSessionSecret(): NewSecret {
  const secret = randomBytes(32).toString("base64url");
  return { secret, hash: hashSecret(secret), prefix: secret.slice(0, 6) };
}
