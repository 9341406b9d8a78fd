// Secrets we must keep readable (a webhook's HMAC key is needed to sign every delivery, so it cannot
// be hashed) are stored encrypted: AES-256-GCM (NIST SP 800-38D) under a key from the Dapr secret
// store, never from the database. Stored form: `v1:<kid>:<iv>:<ciphertext>:<tag>` (base64url; a
// 12-byte random IV, a 16-byte tag). The row's owner is the additional authenticated data, so a
// ciphertext copied into another account's row fails to decrypt. The key id picks the key, so
// rows written under an old key stay readable while `current` moves on (docs/deployment.md,
// "Rotating the webhook secret key"). A value without the `v1:` prefix predates encryption and is
// read as plain text until it is next saved or re-encrypted.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { DaprClient } from "./dapr-client.ts";

const PREFIX = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** A key id: a Kubernetes Secret key (`[-._a-zA-Z0-9]+`) without `:` and other than `current`. */
const KID = /^[A-Za-z0-9_-]{1,64}$/;

export interface SecretKeyring {
  /** The key id new values are encrypted under. */
  current: string;
  /** Every key that can decrypt: the current one and any still needed for older rows. */
  keys: ReadonlyMap<string, Buffer>;
}

/** The key material is missing or malformed; the message says what and where, never a key. */
export class SecretKeyError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = "SecretKeyError";
  }
}

/** A stored value cannot be decrypted: an unknown key id, a damaged value or another row's value. */
export class SecretBoxError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = "SecretBoxError";
  }
}

/** A fresh 32-byte key, base64url: what the secret's `<kid>` field holds. */
export function generateSecretKey(): string {
  return randomBytes(KEY_BYTES).toString("base64url");
}

/**
 * The keyring from a secret's fields: `current` names the key id new values use, and every other
 * field is a key id whose value is a 32-byte key in base64 or base64url.
 */
export function parseKeyring(fields: Record<string, string>, source: string): SecretKeyring {
  const keys = new Map<string, Buffer>();
  for (const [kid, value] of Object.entries(fields)) {
    if (kid === "current") continue;
    if (!KID.test(kid))
      throw new SecretKeyError(`${source}: key id "${kid}" must be 1-64 of A-Z a-z 0-9 _ -`);
    const key = Buffer.from(value.trim(), "base64");
    if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim()))
      throw new SecretKeyError(`${source}: key "${kid}" must be ${KEY_BYTES} bytes in base64`);
    keys.set(kid, key);
  }
  const current = fields.current?.trim();
  if (!current) throw new SecretKeyError(`${source} lacks "current" (the key id to encrypt with)`);
  if (!keys.has(current))
    throw new SecretKeyError(`${source}: "current" names key "${current}", which it does not hold`);
  return { current, keys };
}

/** `plaintext` encrypted under the current key, bound to `owner` (e.g. the user id). */
export function sealSecret(plaintext: string, owner: string, keyring: SecretKeyring): string {
  const key = keyring.keys.get(keyring.current);
  if (!key) throw new SecretKeyError(`the keyring lacks its current key "${keyring.current}"`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(owner, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const parts = [iv, ciphertext, cipher.getAuthTag()].map((b) => b.toString("base64url"));
  return [PREFIX, keyring.current, ...parts].join(":");
}

/** Whether `stored` predates encryption (plain text, read as is). */
export function isLegacyPlaintext(stored: string): boolean {
  return !stored.startsWith(`${PREFIX}:`);
}

/** Whether `stored` should be written again: plain text, or encrypted under a key other than current. */
export function needsReseal(stored: string, keyring: SecretKeyring): boolean {
  return isLegacyPlaintext(stored) || !stored.startsWith(`${PREFIX}:${keyring.current}:`);
}

/**
 * The plaintext of a stored value for `owner`. Legacy plain text is returned as is. Throws
 * SecretBoxError when the key id is unknown or the value was not sealed for this owner.
 */
export function openSecret(stored: string, owner: string, keyring: SecretKeyring): string {
  if (isLegacyPlaintext(stored)) return stored;
  const [, kid, iv, ciphertext, tag, ...rest] = stored.split(":");
  if (!kid || iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0)
    throw new SecretBoxError("the stored secret is malformed");
  const key = keyring.keys.get(kid);
  if (!key) throw new SecretBoxError(`the stored secret is under key "${kid}", which is not loaded`);
  const ivBytes = Buffer.from(iv, "base64url");
  const tagBytes = Buffer.from(tag, "base64url");
  if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES)
    throw new SecretBoxError("the stored secret is malformed");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, ivBytes, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(owner, "utf8"));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    // GCM says only "unable to authenticate": a wrong owner, a wrong key or altered bytes.
    throw new SecretBoxError("the stored secret does not authenticate for this account");
  }
}

/**
 * The keyring: from `envValue` (JSON of the secret's fields) when set, else from `secretName` in
 * the Dapr secret store `store` (waiting up to `sidecarTimeoutMs` for the sidecar), as
 * web-push.ts loads VAPID keys. Throws SecretKeyError saying what is missing.
 */
export async function loadSecretKeyring(
  envValue: string | undefined,
  dapr: DaprClient,
  options: { envName: string; secretName: string; store?: string; sidecarTimeoutMs?: number },
): Promise<SecretKeyring> {
  const { envName, secretName } = options;
  const store = options.store ?? "secretstore";
  const fix =
    `Set ${envName} (JSON: {"current":"<kid>","<kid>":"<32 bytes, base64>"}), or store "current" and ` +
    `"<kid>" in the secret "${secretName}" of the Dapr secret store (\`make dev\` generates it into .local/secrets.json).`;
  const fail = (detail: string) => new SecretKeyError(`${detail}. ${fix}`);
  if (envValue) {
    let fields: unknown;
    try {
      fields = JSON.parse(envValue);
    } catch {
      throw fail(`${envName} is not JSON`);
    }
    if (!fields || typeof fields !== "object" || Array.isArray(fields))
      throw fail(`${envName} is not a JSON object`);
    if (Object.values(fields).some((v) => typeof v !== "string"))
      throw fail(`${envName} must hold only strings`);
    return parseKeyring(fields as Record<string, string>, envName);
  }
  if (!(await dapr.waitUntilReady(options.sidecarTimeoutMs ?? 10_000)))
    throw fail(`no ${envName}, and the Dapr sidecar at ${dapr.baseUrl} did not answer`);
  let secret: Record<string, string> | null;
  try {
    secret = await dapr.getSecret(store, secretName);
  } catch (error) {
    throw fail(
      `no ${envName}, and reading secret "${secretName}" from store "${store}" failed (${(error as Error).message})`,
    );
  }
  if (!secret) throw fail(`no ${envName}, and store "${store}" has no secret "${secretName}"`);
  return parseKeyring(secret, `secret "${secretName}" in store "${store}"`);
}
