// Password hashing with scrypt, a memory-hard KDF built into Node (no native addon to build).
// Parameters follow OWASP's scrypt guidance (N=2^17 is its first row; 2^15 with r=8 costs 32 MiB
// and ~60 ms here, which keeps sign-in fast on our 2-core machines). Stored as
// scrypt$<N>$<r>$<p>$<salt b64>$<hash b64> so parameters can be raised later.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";

const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(
      password.normalize("NFKC"),
      salt,
      KEY_LENGTH,
      { N: n, r, p, maxmem: 256 * n * r * p },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Parameters a stored hash may name: what scrypt accepts, capped so a bad row cannot cost gigabytes. */
function plausibleParams(n: number, r: number, p: number): boolean {
  const isInt = (value: number, max: number) => Number.isInteger(value) && value >= 1 && value <= max;
  const powerOfTwo = isInt(n, 2 ** 24) && n > 1 && (n & (n - 1)) === 0;
  // scrypt needs 128·N·r bytes; 256 MiB leaves room to raise N or r later.
  return powerOfTwo && isInt(r, 32) && isInt(p, 16) && 128 * n * r <= 256 * 1024 * 1024;
}

/** False for a wrong password and for a stored value that is not one of our hashes; never throws. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !hash) return false;
  if (!plausibleParams(Number(n), Number(r), Number(p))) return false;
  const expected = Buffer.from(hash, "base64");
  if (expected.length !== KEY_LENGTH) return false;
  const actual = await scrypt(password, Buffer.from(salt, "base64"), Number(n), Number(r), Number(p));
  return timingSafeEqual(actual, expected);
}
