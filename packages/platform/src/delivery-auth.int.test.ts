import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startOidcIssuer, strangerKey, TEST_ISSUER, type OidcIssuer } from "#testing/oidc-issuer.ts";
import {
  authorizeDelivery,
  isDeliveryPath,
  OidcUnavailableError,
  OidcVerifier,
  secretMatches,
} from "./delivery-auth.ts";

const AUDIENCE = "orbit.dev/deliveries/audit-log";
const SOURCE = "system:serviceaccount:orbit:audit-log-task-events-oidc-sources.knative.dev-kafkasource";
let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer();
});
afterAll(async () => {
  await issuer.close();
});

function verifier(options: { subjects?: string[]; now?: () => number; tokenFile?: string } = {}) {
  return new OidcVerifier({
    apiServer: issuer.url,
    audience: AUDIENCE,
    subjects: options.subjects ?? ["system:serviceaccount:orbit:*"],
    tokenFile: options.tokenFile,
    now: options.now,
  });
}

test("the app token matches only itself: not empty, shorter, longer, one character off or repeated", () => {
  const token = "a".repeat(31) + "b".repeat(33);
  expect(secretMatches(token, token)).toBe(true);
  for (const given of [
    "",
    token.slice(0, -1),
    `${token}b`,
    `${token.slice(0, -1)}c`,
    [token, token],
    undefined,
  ])
    expect(secretMatches(token, given), JSON.stringify(given)).toBe(false);
  // Nothing configured matches nothing, not even an empty header.
  expect(secretMatches(undefined, "")).toBe(false);
  expect(secretMatches("", "")).toBe(false);
});

test("delivery paths are recognised however Express or Remix would match them", () => {
  for (const path of [
    "/dapr/subscribe",
    "/dapr/config",
    "/events/task-events",
    "/EVENTS/x/",
    "/Job/reminder-1",
    "/job/x//",
  ])
    expect(isDeliveryPath(path), path).toBe(true);
  for (const path of ["/v1/tasks", "/healthz", "/readyz", "/metrics", "/events", "/jobs/x", "/v1/events/x"])
    expect(isDeliveryPath(path), path).toBe(false);
});

test("a KafkaSource's token for this audience, from this namespace, signed by the API server, is accepted", async () => {
  const token = issuer.mint({ aud: [AUDIENCE], sub: SOURCE });
  expect(await verifier().verify(token)).toBe(SOURCE);
  // A single-string audience, and an exact subject, verify as well.
  expect(await verifier({ subjects: [SOURCE] }).verify(issuer.mint({ aud: AUDIENCE, sub: SOURCE }))).toBe(
    SOURCE,
  );
});

test("tokens for another audience, subject, namespace or issuer, expired or not yet valid, are refused", async () => {
  const v = verifier();
  const now = Math.floor(Date.now() / 1000);
  const refused = {
    "another audience": issuer.mint({ aud: "orbit.dev/deliveries/notifications", sub: SOURCE }),
    "another namespace": issuer.mint({ aud: AUDIENCE, sub: "system:serviceaccount:tenant-a:x" }),
    "a namespace that only starts alike": issuer.mint({
      aud: AUDIENCE,
      sub: "system:serviceaccount:orbit-x:y",
    }),
    "no service account": issuer.mint({ aud: AUDIENCE, sub: "system:serviceaccount:orbit:" }),
    "a user, not a service account": issuer.mint({ aud: AUDIENCE, sub: "admin@example.com" }),
    "another issuer": issuer.mint({ aud: AUDIENCE, sub: SOURCE, iss: "https://evil.example" }),
    "expired beyond the leeway": issuer.mint({ aud: AUDIENCE, sub: SOURCE, exp: now - 120 }),
    "not yet valid": issuer.mint({ aud: AUDIENCE, sub: SOURCE, nbf: now + 600 }),
  };
  for (const [what, token] of Object.entries(refused)) expect(await v.verify(token), what).toBeNull();
  expect(
    await verifier({ subjects: [SOURCE] }).verify(issuer.mint({ aud: AUDIENCE, sub: `${SOURCE}x` })),
  ).toBeNull();
  // Within a minute of clock skew, still valid.
  expect(await v.verify(issuer.mint({ aud: AUDIENCE, sub: SOURCE, exp: now - 30 }))).toBe(SOURCE);
});

test("forged signatures are refused: another key, another algorithm, none, a tampered payload, garbage", async () => {
  const v = verifier();
  const good = issuer.mint({ aud: AUDIENCE, sub: SOURCE });
  const [header, claims] = good.split(".") as [string, string, string];
  const tampered = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(claims, "base64url").toString()), sub: `${SOURCE}-2` }),
  ).toString("base64url");
  const unsigned = (alg: string) =>
    `${Buffer.from(JSON.stringify({ alg, kid: JSON.parse(Buffer.from(header, "base64url").toString()).kid })).toString("base64url")}.${claims}.`;
  const refused = {
    "a stranger's key, the issuer's key id": issuer.mint(
      { aud: AUDIENCE, sub: SOURCE },
      { key: strangerKey() },
    ),
    "alg none": unsigned("none"),
    "alg HS256 keyed with the public key": unsigned("HS256"),
    "a tampered payload": `${header}.${tampered}.${good.split(".")[2]}`,
    "two parts": `${header}.${claims}`,
    garbage: "not-a-jwt",
    empty: "",
  };
  for (const [what, token] of Object.entries(refused)) expect(await v.verify(token), what).toBeNull();
});

test("the API server is asked with the pod's service account token, and a rotated key is fetched again", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "orbit-sa-"));
  const tokenFile = path.join(dir, "token");
  writeFileSync(tokenFile, "pod-sa-token\n");
  issuer.requireBearer = "pod-sa-token";
  let clock = Date.now();
  try {
    const v = verifier({ tokenFile, now: () => clock });
    expect(await v.verify(issuer.mint({ aud: AUDIENCE, sub: SOURCE }))).toBe(SOURCE);
    expect(issuer.requests.at(-1)?.authorization).toBe("Bearer pod-sa-token");
    issuer.rotate();
    const rotated = issuer.mint({ aud: AUDIENCE, sub: SOURCE });
    // Unknown key ids refetch the keys at most every 30 s (a flood of junk tokens is not a flood
    // of API server calls), then the new key verifies.
    const before = issuer.requests.length;
    expect(await v.verify(rotated)).toBeNull();
    expect(issuer.requests.length).toBe(before);
    clock += 31_000;
    expect(await v.verify(rotated)).toBe(SOURCE);
  } finally {
    issuer.requireBearer = null;
  }
});

test("with the API server unreachable the verifier says so (the delivery is retried), and recovers", async () => {
  const v = verifier();
  issuer.down = true;
  try {
    await expect(v.verify(issuer.mint({ aud: AUDIENCE, sub: SOURCE }))).rejects.toBeInstanceOf(
      OidcUnavailableError,
    );
    const auth = await authorizeDelivery(
      { authorization: `Bearer ${issuer.mint({ aud: AUDIENCE, sub: SOURCE })}` },
      "x".repeat(32),
      v,
    );
    expect(auth).toMatchObject({ ok: false, reason: "unavailable" });
  } finally {
    issuer.down = false;
  }
  expect(await v.verify(issuer.mint({ aud: AUDIENCE, sub: SOURCE }))).toBe(SOURCE);
});

test("EC-signed service account tokens (ES256) verify too", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "ec-1" };
  const fakeFetch = (async (url: string | URL | Request) =>
    Response.json(
      String(url).endsWith("/openid/v1/jwks") ? { keys: [jwk] } : { issuer: TEST_ISSUER },
    )) as typeof fetch;
  const v = new OidcVerifier({
    apiServer: "https://kubernetes.default.svc",
    audience: AUDIENCE,
    subjects: [SOURCE],
    fetch: fakeFetch,
  });
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode({ alg: "ES256", kid: "ec-1" })}.${encode({
    iss: TEST_ISSUER,
    aud: [AUDIENCE],
    sub: SOURCE,
    exp: Math.floor(Date.now() / 1000) + 600,
  })}`;
  const signature = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
  expect(await v.verify(`${input}.${signature.toString("base64url")}`)).toBe(SOURCE);
  const der = sign("sha256", Buffer.from(input), privateKey);
  expect(await v.verify(`${input}.${der.toString("base64url")}`)).toBeNull();
});

test("authorizeDelivery: the app token is the sidecar; a bearer token counts only where OIDC is configured", async () => {
  const token = "t".repeat(40);
  const oidc = verifier();
  const bearer = { authorization: `Bearer ${issuer.mint({ aud: AUDIENCE, sub: SOURCE })}` };
  expect(await authorizeDelivery({ "dapr-api-token": token }, token, oidc)).toEqual({
    ok: true,
    sender: "sidecar",
  });
  expect(await authorizeDelivery(bearer, token, oidc)).toEqual({ ok: true, sender: "knative" });
  expect(await authorizeDelivery(bearer, token, null)).toMatchObject({
    ok: false,
    reason: "unauthenticated",
  });
  expect(await authorizeDelivery({ "dapr-api-token": "nope" }, token, oidc)).toMatchObject({
    ok: false,
    reason: "unauthenticated",
  });
  // No token configured: nothing gets in, whatever is sent.
  expect(await authorizeDelivery({ "dapr-api-token": "" }, undefined, null)).toMatchObject({
    ok: false,
    detail: "Deliveries are refused: APP_API_TOKEN is not configured.",
  });
});
