import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { parseKeyring } from "#platform/secret-box.ts";
import { checkVapidKeys } from "#platform/web-push.ts";
import { ensureLocalSecrets } from "./local-secrets.ts";

const dir = mkdtempSync(path.join(tmpdir(), "orbit-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("creates the secrets file with usable VAPID keys, readable by its owner only", () => {
  const file = path.join(dir, "nested/secrets.json");
  expect(ensureLocalSecrets(file)).toEqual([
    "vapid",
    "admin",
    "app-token",
    "webhook-secret-key",
    "reminder-action-key",
  ]);
  const secrets = JSON.parse(readFileSync(file, "utf8"));
  expect(Object.keys(secrets.vapid).sort()).toEqual(["private_key", "public_key", "subject"]);
  // An operator token long enough for the host's ADMIN_TOKEN rule.
  expect(secrets.admin.token.length).toBeGreaterThanOrEqual(24);
  // An app API token long enough for the host's APP_API_TOKEN rule, 256 random bits.
  expect(secrets["app-token"].token).toMatch(/^[0-9a-f]{64}$/);
  expect(() =>
    checkVapidKeys({
      publicKey: secrets.vapid.public_key,
      privateKey: secrets.vapid.private_key,
      subject: secrets.vapid.subject,
    }),
  ).not.toThrow();
  expect(statSync(file).mode & 0o777).toBe(0o600);
});

test("creates a webhook secret key the notifications function accepts", () => {
  const file = path.join(dir, "webhook-key.json");
  ensureLocalSecrets(file);
  const secret = JSON.parse(readFileSync(file, "utf8"))["webhook-secret-key"];
  const keys = parseKeyring(secret, "webhook-secret-key");
  expect(keys.current).toBe("k1");
  expect(keys.keys.get("k1")?.length).toBe(32);
});

test("creates a reminder action key that notifications and on-reminder-fired accept, apart from the webhook key", () => {
  const file = path.join(dir, "action-key.json");
  ensureLocalSecrets(file);
  const secrets = JSON.parse(readFileSync(file, "utf8"));
  const keys = parseKeyring(secrets["reminder-action-key"], "reminder-action-key");
  expect(keys.keys.get(keys.current)?.length).toBe(32);
  expect(secrets["reminder-action-key"].k1).not.toBe(secrets["webhook-secret-key"].k1);
});

test("never replaces existing secrets, and keeps what else the file holds", () => {
  const file = path.join(dir, "existing.json");
  ensureLocalSecrets(file);
  const before = readFileSync(file, "utf8");
  expect(ensureLocalSecrets(file)).toEqual([]);
  expect(readFileSync(file, "utf8")).toBe(before);

  const partial = path.join(dir, "partial.json");
  writeFileSync(partial, JSON.stringify({ smtp: { password: "kept" } }));
  expect(ensureLocalSecrets(partial)).toEqual([
    "vapid",
    "admin",
    "app-token",
    "webhook-secret-key",
    "reminder-action-key",
  ]);
  const secrets = JSON.parse(readFileSync(partial, "utf8"));
  expect(secrets.smtp).toEqual({ password: "kept" });
  expect(secrets.vapid.public_key).toMatch(/^[A-Za-z0-9_-]{87}$/);
});

test("refuses to touch a file that is not a JSON object", () => {
  const file = path.join(dir, "broken.json");
  writeFileSync(file, "[1, 2]");
  expect(() => ensureLocalSecrets(file)).toThrow("must hold a JSON object of secrets");
  expect(readFileSync(file, "utf8")).toBe("[1, 2]");
});
