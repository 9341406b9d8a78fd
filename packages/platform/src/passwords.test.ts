import { expect, test } from "vitest";
import { hashPassword, needsRehash, verifyPassword } from "./passwords.ts";

test("a hash verifies its password and no other", async () => {
  const stored = await hashPassword("correct horse battery staple");
  expect(stored).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  expect(await verifyPassword("correct horse battery staple", stored)).toBe(true);
  expect(await verifyPassword("correct horse battery stapler", stored)).toBe(false);
  expect(await verifyPassword("", stored)).toBe(false);
});

test("the same password hashes differently each time (random salt)", async () => {
  const [a, b] = await Promise.all([hashPassword("pw"), hashPassword("pw")]);
  expect(a).not.toBe(b);
});

test("passwords are compared after Unicode normalisation", async () => {
  // "é" precomposed vs "e" + combining acute: the same password to a person.
  const stored = await hashPassword("caf\u00e9");
  expect(await verifyPassword("cafe\u0301", stored)).toBe(true);
});

test("a tampered or malformed stored hash never verifies and never throws", async () => {
  const stored = await hashPassword("secret");
  const parts = stored.split("$");
  const hash = Buffer.from(parts[5]!, "base64");
  hash[0] = hash[0]! ^ 0xff;
  const flipped = [...parts.slice(0, 5), hash.toString("base64")].join("$");
  expect(await verifyPassword("secret", flipped)).toBe(false);
  const otherSalt = [...parts.slice(0, 4), Buffer.alloc(16, 7).toString("base64"), parts[5]].join("$");
  expect(await verifyPassword("secret", otherSalt)).toBe(false);
  const truncated = [...parts.slice(0, 5), parts[5]!.slice(0, 20)].join("$");
  expect(await verifyPassword("secret", truncated)).toBe(false);
  expect(await verifyPassword("secret", "scrypt$disabled")).toBe(false);
  expect(await verifyPassword("secret", "")).toBe(false);
  expect(await verifyPassword("secret", ["bcrypt", ...parts.slice(1)].join("$"))).toBe(false);
  // Parameters that scrypt refuses (not a power of two) or that would cost gigabytes.
  expect(await verifyPassword("secret", ["scrypt", "1000", ...parts.slice(2)].join("$"))).toBe(false);
  expect(await verifyPassword("secret", ["scrypt", "abc", ...parts.slice(2)].join("$"))).toBe(false);
  expect(await verifyPassword("secret", ["scrypt", String(2 ** 30), ...parts.slice(2)].join("$"))).toBe(
    false,
  );
});

test("a hash of other parameters than today's needs a rehash; one of today's does not", async () => {
  expect(needsRehash(await hashPassword("pw"))).toBe(false);
  expect(needsRehash("scrypt$32768$8$1$c2FsdA==$aGFzaA==")).toBe(true);
  expect(needsRehash("scrypt$131072$8$2$c2FsdA==$aGFzaA==")).toBe(true);
  expect(needsRehash("bcrypt$131072$8$1$c2FsdA==$aGFzaA==")).toBe(true);
});
