// A stand-in for a browser push service (FCM, Mozilla autopush…), which tests cannot reach: an HTTPS
// endpoint on loopback with a self-signed certificate that does what a push service and the browser
// do with a message. It checks the VAPID JWT (RFC 8292) against the sender's public key, and
// decrypts the aes128gcm payload (RFC 8188 + RFC 8291) with the subscription's private key, so a
// test sees exactly what the service worker would get. Each endpoint can be told to answer a
// status (e.g. 410 Gone, 500) instead of 201 Created.
import { execFileSync } from "node:child_process";
import {
  createDecipheriv,
  createECDH,
  createPublicKey,
  hkdfSync,
  randomBytes,
  randomUUID,
  verify,
  type ECDH,
} from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, Agent, type Server } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { WAIT_MS } from "./wait.ts";

export interface TestSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface ReceivedPush {
  endpoint: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The decrypted payload parsed as JSON (null when it did not decrypt). */
  payload: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Why decryption failed, if it did. */
  decryptError: string | null;
  vapid: { valid: boolean; publicKey: string; aud: string; sub: string; exp: number } | null;
  at: number;
}

export interface PushService {
  /** PEM of the self-signed certificate: trust it with `agent`. */
  ca: string;
  /** An https.Agent that trusts this service (web-push takes one per call). */
  agent: Agent;
  origin: string;
  received: ReceivedPush[];
  /** A new subscription on this service, as `pushManager.subscribe()` would hand the browser. */
  subscribe(): TestSubscription;
  /** Answer pushes to `endpoint` with `status` from now on (201 = accept). */
  respondWith(endpoint: string, status: number): void;
  /** Resolves once `count` pushes arrived (for `endpoint`, when given). */
  waitFor(count: number, endpoint?: string, timeoutMs?: number): Promise<ReceivedPush[]>;
  close(): Promise<void>;
}

const b64url = (buffer: Buffer) => buffer.toString("base64url");

let certificate: { key: string; cert: string } | null = null;

/** A self-signed certificate for 127.0.0.1 (openssl; Node's crypto cannot issue X.509 certificates). */
function selfSignedCertificate(): { key: string; cert: string } {
  if (certificate) return certificate;
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
  } catch {
    throw new Error(
      "The test push service needs the openssl CLI to create its TLS certificate, and it is not on PATH " +
        "(Debian/Ubuntu: apt-get install openssl).",
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), "orbit-push-tls-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem"),
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "ignore" },
    );
    certificate = {
      key: readFileSync(path.join(dir, "key.pem"), "utf8"),
      cert: readFileSync(path.join(dir, "cert.pem"), "utf8"),
    };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * RFC 8291 §3.4 + RFC 8188 §2: decrypts a single-record aes128gcm body for the user agent holding
 * `ua` (its ECDH key pair) and `authSecret`.
 */
export function decryptAes128gcm(body: Buffer, ua: ECDH, authSecret: Buffer): Buffer {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const asPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  if (idLength !== 65)
    throw new Error(`keyid is ${idLength} bytes; aes128gcm web push puts the 65-byte sender key there`);
  if (ciphertext.length > recordSize) throw new Error("more than one record; web push sends exactly one");
  const uaPublic = ua.getPublicKey();
  const ecdhSecret = ua.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync("sha256", ecdhSecret, authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - 16)),
    decipher.final(),
  ]);
  // The last record ends with the delimiter 0x02, then any zero padding (RFC 8188 §2).
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end -= 1;
  if (padded[end] !== 2)
    throw new Error("no 0x02 padding delimiter: not the last record of an aes128gcm body");
  return padded.subarray(0, end);
}

/** RFC 8292: `Authorization: vapid t=<JWT>, k=<sender public key>`, verified with k. */
function checkVapid(header: string | undefined): ReceivedPush["vapid"] {
  const match = /^vapid\s+t=([^,\s]+),\s*k=([^,\s]+)$/i.exec(header ?? "");
  if (!match) return null;
  const [jwt, k] = [match[1]!, match[2]!];
  const [head, body, signature] = jwt.split(".");
  const raw = Buffer.from(k, "base64url");
  const key = createPublicKey({
    key: {
      kty: "EC",
      crv: "P-256",
      x: b64url(raw.subarray(1, 33)),
      y: b64url(raw.subarray(33, 65)),
    },
    format: "jwk",
  });
  const valid = verify(
    "sha256",
    Buffer.from(`${head}.${body}`),
    { key, dsaEncoding: "ieee-p1363" },
    Buffer.from(signature ?? "", "base64url"),
  );
  const claims = JSON.parse(Buffer.from(body ?? "", "base64url").toString("utf8")) as {
    aud: string;
    sub: string;
    exp: number;
  };
  return { valid, publicKey: k, aud: claims.aud, sub: claims.sub, exp: claims.exp };
}

export async function startPushService(): Promise<PushService> {
  const { key, cert } = selfSignedCertificate();
  const received: ReceivedPush[] = [];
  const statuses = new Map<string, number>();
  const holders = new Map<string, { ua: ECDH; auth: Buffer }>();
  const waiters = new Set<() => void>();
  let origin = "";

  const server: Server = createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const endpoint = origin + (req.url ?? "/");
      const holder = holders.get(endpoint);
      const status = !holder ? 404 : (statuses.get(endpoint) ?? 201);
      let payload: unknown = null;
      let decryptError: string | null = null;
      if (holder) {
        try {
          payload = JSON.parse(
            decryptAes128gcm(Buffer.concat(chunks), holder.ua, holder.auth).toString("utf8"),
          );
        } catch (error) {
          decryptError = (error as Error).message;
        }
      }
      received.push({
        endpoint,
        status,
        headers: req.headers,
        payload,
        decryptError,
        vapid: checkVapid(req.headers.authorization),
        at: Date.now(),
      });
      // Errors carry a body, as autopush's and FCM's do (a sender must not pass it on to users).
      const failed = status >= 400;
      res
        .writeHead(
          status,
          status === 201
            ? { location: `${endpoint}/messages/${randomUUID()}` }
            : failed
              ? { "content-type": "application/json" }
              : {},
        )
        .end(failed ? JSON.stringify({ code: status, error: "stand-in push service says no" }) : undefined);
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  origin = `https://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const agent = new Agent({ ca: cert, keepAlive: false });

  return {
    ca: cert,
    agent,
    origin,
    received,
    subscribe() {
      const ua = createECDH("prime256v1");
      ua.generateKeys();
      const auth = randomBytes(16);
      const endpoint = `${origin}/push/${randomUUID()}`;
      holders.set(endpoint, { ua, auth });
      return { endpoint, keys: { p256dh: b64url(ua.getPublicKey()), auth: b64url(auth) } };
    },
    respondWith(endpoint, status) {
      statuses.set(endpoint, status);
    },
    waitFor(count, endpoint, timeoutMs = WAIT_MS) {
      const matching = () => received.filter((r) => endpoint === undefined || r.endpoint === endpoint);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (matching().length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(matching());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `expected ${count} pushes${endpoint ? ` to ${endpoint}` : ""}, got ${matching().length}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
