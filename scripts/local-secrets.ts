// Local secrets for `make dev`: generated once into the git-ignored .local/secrets.json, which the
// local secret store component (secretstores.local.file, multiValued) serves to the functions as
// Dapr secrets, the way a Kubernetes secret store does in production. Existing values are never
// replaced: regenerating VAPID keys would orphan every browser subscription made with the old ones.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "#db/migrate.ts";
import { generateSecretKey } from "#platform/secret-box.ts";
import { generateVapidKeys } from "#platform/web-push.ts";

export const LOCAL_SECRETS_FILE = path.join(REPO_ROOT, ".local/secrets.json");

type Secrets = Record<string, Record<string, string>>;

/** Every secret the functions read, generated fresh. */
function generated(): Secrets {
  const vapid = generateVapidKeys("mailto:orbit@localhost");
  return {
    vapid: { public_key: vapid.publicKey, private_key: vapid.privateKey, subject: vapid.subject },
    // The operator token of the dead-letter store (ADMIN_TOKEN).
    admin: { token: randomBytes(24).toString("base64url") },
    // Dapr's app API token (APP_API_TOKEN), given to every app and every sidecar: the sidecar sends
    // it on each delivery and the app refuses deliveries without it, as in production.
    "app-token": { token: randomBytes(32).toString("hex") },
    // The keys webhook secrets are encrypted at rest with (packages/platform/src/secret-box.ts).
    // Never regenerated: a new key would leave every stored webhook secret unreadable.
    "webhook-secret-key": { current: "k1", k1: generateSecretKey() },
    // The keys a reminder's action links are signed with (#core/reminder-actions.ts). A new key
    // only ends the links already sent (they last 7 days at most).
    "reminder-action-key": { current: "k1", k1: generateSecretKey() },
  };
}

/**
 * Creates `file` with every secret, or adds the secrets it lacks. Returns the names it added.
 * Throws when the file exists but is not a JSON object (a human edited it; we do not overwrite).
 */
export function ensureLocalSecrets(file = LOCAL_SECRETS_FILE): string[] {
  let current: Secrets = {};
  if (existsSync(file)) {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new Error(`${file} must hold a JSON object of secrets; fix or delete it`);
    current = parsed as Secrets;
  }
  const added = Object.entries(generated()).filter(([name]) => !(name in current));
  if (added.length === 0) return [];
  const next = { ...current, ...Object.fromEntries(added) };
  mkdirSync(path.dirname(file), { recursive: true });
  // Write then rename: a crash never leaves half a file where the keys were.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
  return added.map(([name]) => name);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const added = ensureLocalSecrets();
  console.log(
    added.length ? `added ${added.join(", ")} to ${LOCAL_SECRETS_FILE}` : `${LOCAL_SECRETS_FILE} is complete`,
  );
}

/**
 * Records values derived from this run (not generated, so rewritten whenever they change): the
 * state store component reads its connection string from the secret store.
 */
export function writeDerivedSecrets(values: { databaseUrl: string }, file = LOCAL_SECRETS_FILE): void {
  const current = JSON.parse(readFileSync(file, "utf8")) as Secrets;
  if (current.pgConnectionString?.pgConnectionString === values.databaseUrl) return;
  const next = { ...current, pgConnectionString: { pgConnectionString: values.databaseUrl } };
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}
