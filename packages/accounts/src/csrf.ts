// CSRF tokens: HMAC-SHA256 of a fixed label under the session's own csrf_secret (OWASP's "HMAC
// based token pattern"). A form posts it as `csrf`; every action compares it in constant time.
// SameSite=Lax cookies already stop most cross-site posts; this covers the rest (old browsers,
// same-site subdomains).
import { createHmac, timingSafeEqual } from "node:crypto";

export function csrfToken(csrfSecret: string): string {
  return createHmac("sha256", csrfSecret).update("orbit-csrf-v1").digest("base64url");
}

export function verifyCsrfToken(csrfSecret: string, token: unknown): boolean {
  if (typeof token !== "string" || token.length === 0 || token.length > 100) return false;
  const expected = Buffer.from(csrfToken(csrfSecret));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
