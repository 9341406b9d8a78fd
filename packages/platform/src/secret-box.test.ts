import { expect, test } from "vitest";
import { DaprClient } from "./dapr-client.ts";
import {
  generateSecretKey,
  loadSecretKeyring,
  needsReseal,
  openSecret,
  parseKeyring,
  SecretBoxError,
  SecretKeyError,
  sealSecret,
} from "./secret-box.ts";

const k1 = generateSecretKey();
const k2 = generateSecretKey();
const keys = parseKeyring({ current: "k1", k1 }, "test");
const owner = "7d5e1f0a-0000-4000-8000-000000000001";

test("seals to v1:<kid>:<iv>:<ciphertext>:<tag> and opens back for the same owner", () => {
  const sealed = sealSecret("whsec_0123456789abcdef", owner, keys);
  expect(sealed).toMatch(/^v1:k1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{22}$/);
  expect(sealed).not.toContain("whsec");
  expect(openSecret(sealed, owner, keys)).toBe("whsec_0123456789abcdef");
  // A fresh IV each time: equal secrets do not give equal values.
  expect(sealSecret("whsec_0123456789abcdef", owner, keys)).not.toBe(sealed);
});

test("another owner, an altered byte or an unknown key id does not open", () => {
  const sealed = sealSecret("whsec_0123456789abcdef", owner, keys);
  expect(() => openSecret(sealed, "someone-else", keys)).toThrow(SecretBoxError);
  const parts = sealed.split(":");
  const flipped = Buffer.from(parts[3]!, "base64url");
  flipped[0]! ^= 1;
  parts[3] = flipped.toString("base64url");
  expect(() => openSecret(parts.join(":"), owner, keys)).toThrow("does not authenticate");
  expect(() => openSecret(sealed, owner, parseKeyring({ current: "k2", k2 }, "test"))).toThrow(
    'under key "k1", which is not loaded',
  );
  expect(() => openSecret("v1:k1:abc", owner, keys)).toThrow("malformed");
});

test("after rotation old values still open, and only they and plain text need resealing", () => {
  const rotated = parseKeyring({ current: "k2", k1, k2 }, "test");
  const old = sealSecret("old-secret-0123456789", owner, keys);
  expect(openSecret(old, owner, rotated)).toBe("old-secret-0123456789");
  expect(needsReseal(old, rotated)).toBe(true);
  expect(needsReseal(sealSecret("new-secret-0123456789", owner, rotated), rotated)).toBe(false);
  expect(needsReseal("legacy-plain-text-secret", rotated)).toBe(true);
  expect(openSecret("legacy-plain-text-secret", owner, rotated)).toBe("legacy-plain-text-secret");
});

test("a keyring needs a current key id it holds and 32-byte keys", () => {
  expect(() => parseKeyring({ k1 }, "s")).toThrow('s lacks "current"');
  expect(() => parseKeyring({ current: "k2", k1 }, "s")).toThrow('"current" names key "k2"');
  expect(() => parseKeyring({ current: "k1", k1: "c2hvcnQ=" }, "s")).toThrow("must be 32 bytes");
  expect(() => parseKeyring({ current: "a:b", "a:b": k1 }, "s")).toThrow('key id "a:b"');
  // Standard base64, as `openssl rand -base64 32` writes it, is accepted too.
  const std = Buffer.from(k1, "base64url").toString("base64");
  expect(parseKeyring({ current: "k1", k1: std }, "s").keys.get("k1")).toEqual(keys.keys.get("k1"));
});

test("loads from the env value before the sidecar, and says what to set when neither has it", async () => {
  // Nothing listens on port 1: the env value must not need the sidecar.
  const dapr = new DaprClient({ port: 1 });
  const options = { envName: "WEBHOOK_SECRET_KEYS", secretName: "webhook-secret-key", sidecarTimeoutMs: 200 };
  const loaded = await loadSecretKeyring(JSON.stringify({ current: "k1", k1 }), dapr, options);
  expect(loaded.current).toBe("k1");
  await expect(loadSecretKeyring("not json", dapr, options)).rejects.toThrow(
    "WEBHOOK_SECRET_KEYS is not JSON",
  );
  const missing = loadSecretKeyring(undefined, dapr, options);
  await expect(missing).rejects.toThrow(SecretKeyError);
  await expect(missing).rejects.toThrow(/no WEBHOOK_SECRET_KEYS, and the Dapr sidecar at .* did not answer/);
});
