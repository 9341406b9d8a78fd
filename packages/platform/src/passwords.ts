// Password hashing with scrypt, a memory-hard KDF built into Node (no native addon to build).
// Parameters are OWASP's (Password Storage Cheat Sheet: N=2^17, r=8, p=1). One hash takes
// 128·N·r = 128 MiB and ~0.5–1 s of one core on our 2-core machines, so hashes run one at a time
// per process: libuv's four threads would otherwise need 512 MiB, more than the web pod's limit
// (knative/base/web.yaml). Stored as scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>: a hash carries its
// parameters, old ones still verify, and a sign-in rehashes them (needsRehash).
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";

const N = 2 ** 17;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

/** The hash running now (or last): the next one starts when it ends. */
let queue: Promise<unknown> = Promise.resolve();

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const run = () =>
    new Promise<Buffer>((resolve, reject) =>
      scryptCb(
        password.normalize("NFKC"),
        salt,
        KEY_LENGTH,
        // scrypt needs 128·N·r bytes (plus 128·r·p); Node refuses more than maxmem (32 MiB by default).
        { N: n, r, p, maxmem: 128 * n * r + 128 * r * p + 1024 * 1024 },
        (err, key) => (err ? reject(err) : resolve(key)),
      ),
    );
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
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

/** Whether a stored hash was made with other parameters than today's: rehash it at the next sign-in. */
export function needsRehash(stored: string): boolean {
  const [scheme, n, r, p] = stored.split("$");
  return scheme !== "scrypt" || Number(n) !== N || Number(r) !== R || Number(p) !== P;
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
