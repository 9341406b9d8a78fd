// Who may deliver events and job triggers. Every delivery route (`/dapr/*`, `/events/*`, `/job/*`)
// accepts only:
// - its own Dapr sidecar: daprd sends the app API token (APP_API_TOKEN, `dapr.io/app-token-secret`)
//   as `dapr-api-token` on every call it makes to the app: deliveries, job triggers, GET
//   /dapr/subscribe and /dapr/config, service invocation; not its app health probes (dapr/dapr
//   v1.18.2 pkg/channel/http/http_channel.go constructRequest, constructJobRequest, HealthProbe);
// - in the Knative Eventing overlay, a KafkaSource: with Knative's `authentication-oidc` feature it
//   sends `Authorization: Bearer <JWT>`, a Kubernetes service account token of the source's own
//   service account issued for the audience in the source's `sink.audience`
//   (https://knative.dev/docs/eventing/features/sender-identity/). It is checked against the API
//   server's signing keys (its OIDC discovery), the audience and the allowed subjects.
// docs/deployment.md ("Who may deliver") says how both are configured and rotated.
import {
  createHash,
  createPublicKey,
  timingSafeEqual,
  verify,
  type JsonWebKey,
  type KeyObject,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";

export const APP_TOKEN_HEADER = "dapr-api-token";

/** `given` equals `expected`, compared in constant time (SHA-256 digests of equal length). */
export function secretMatches(expected: string | undefined, given: string | string[] | undefined): boolean {
  if (!expected || typeof given !== "string" || given.length === 0) return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Paths only a sender of deliveries may call, normalised as Express and Remix match routes: without
 * regard to case and with an optional trailing slash.
 */
export function isDeliveryPath(path: string): boolean {
  const p = path.toLowerCase().replace(/\/+$/, "");
  return p.startsWith("/dapr/") || p.startsWith("/events/") || p.startsWith("/job/");
}

/** A delivery the verifier could not decide because the key set is unreachable: answer 503. */
export class OidcUnavailableError extends Error {}

export interface OidcVerifierOptions {
  /**
   * The Kubernetes API server (default https://kubernetes.default.svc): `iss` must equal the
   * `issuer` of its /.well-known/openid-configuration, and its /openid/v1/jwks holds the keys.
   */
  apiServer: string;
  /** The audience the KafkaSource's `sink.audience` names. */
  audience: string;
  /**
   * Allowed `sub` claims: `system:serviceaccount:<namespace>:<name>`, or `…:<namespace>:*` for any
   * service account of that namespace (Knative names the source's account itself).
   */
  subjects: string[];
  /** Bearer token for the discovery calls (the pod's own service account token), re-read each time. */
  tokenFile?: string;
  fetch?: typeof fetch;
  now?: () => number;
}

const discoverySchema = z.object({ issuer: z.string().min(1) });
const jwksSchema = z.object({
  keys: z.array(z.looseObject({ kid: z.string().optional(), kty: z.string() })),
});
const headerSchema = z.object({ alg: z.string(), kid: z.string().optional() });
const claimsSchema = z.object({
  iss: z.string(),
  sub: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  nbf: z.number().optional(),
});

const ALGORITHMS: Record<string, { hash: string; ec?: boolean }> = {
  RS256: { hash: "sha256" },
  RS384: { hash: "sha384" },
  RS512: { hash: "sha512" },
  ES256: { hash: "sha256", ec: true },
  ES384: { hash: "sha384", ec: true },
  ES512: { hash: "sha512", ec: true },
};

/** Clock skew tolerated on `exp` and `nbf`. */
const LEEWAY_S = 60;
/** Keys are fetched again at most this often when a token names one we do not know (rotation). */
const REFETCH_MS = 30_000;
/** And at least this often, so a key the cluster dropped stops verifying. */
const MAX_AGE_MS = 60 * 60_000;

function base64url(part: string): Buffer {
  return Buffer.from(part, "base64url");
}

/** Verifies Knative Eventing's OIDC tokens (Kubernetes service account JWTs). */
export class OidcVerifier {
  private keys: { issuer: string; byKid: Map<string | undefined, KeyObject[]>; fetchedAt: number } | null =
    null;
  private loading: Promise<void> | null = null;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: OidcVerifierOptions) {
    this.fetch = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  /**
   * The subject of a valid token, or null for a token that is not valid here. Throws
   * OidcUnavailableError when the keys cannot be fetched (the delivery should be retried).
   */
  async verify(token: string): Promise<string | null> {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    const [rawHeader, rawClaims, signature] = parts as [string, string, string];
    let header: z.infer<typeof headerSchema>;
    let claims: z.infer<typeof claimsSchema>;
    try {
      header = headerSchema.parse(JSON.parse(base64url(rawHeader).toString("utf8")));
      claims = claimsSchema.parse(JSON.parse(base64url(rawClaims).toString("utf8")));
    } catch {
      return null;
    }
    const algorithm = ALGORITHMS[header.alg];
    if (!algorithm) return null;
    const nowS = this.now() / 1000;
    if (claims.exp + LEEWAY_S < nowS) return null;
    if (claims.nbf !== undefined && claims.nbf - LEEWAY_S > nowS) return null;
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(this.options.audience)) return null;
    if (!this.subjectAllowed(claims.sub)) return null;

    let keys = await this.keysFor(header.kid, false);
    if (keys.length === 0) keys = await this.keysFor(header.kid, true);
    if (claims.iss !== this.keys?.issuer) return null;
    const data = Buffer.from(`${rawHeader}.${rawClaims}`);
    const signed = base64url(signature);
    const valid = keys.some((key) => {
      try {
        return verify(algorithm.hash, data, algorithm.ec ? { key, dsaEncoding: "ieee-p1363" } : key, signed);
      } catch {
        return false;
      }
    });
    return valid ? claims.sub : null;
  }

  private subjectAllowed(sub: string): boolean {
    return this.options.subjects.some((allowed) => {
      if (!allowed.endsWith(":*")) return sub === allowed;
      const prefix = allowed.slice(0, -1);
      const name = sub.slice(prefix.length);
      return sub.startsWith(prefix) && /^[a-z0-9][a-z0-9.-]*$/.test(name);
    });
  }

  private async keysFor(kid: string | undefined, refresh: boolean): Promise<KeyObject[]> {
    const age = this.keys ? this.now() - this.keys.fetchedAt : Infinity;
    if (!this.keys || age > MAX_AGE_MS || (refresh && age > REFETCH_MS)) {
      this.loading ??= this.load().finally(() => {
        this.loading = null;
      });
      await this.loading;
    }
    const byKid = this.keys?.byKid;
    if (!byKid) return [];
    // A token without `kid` may be signed by any of the keys.
    return kid === undefined ? [...byKid.values()].flat() : (byKid.get(kid) ?? []);
  }

  private async load(): Promise<void> {
    const base = this.options.apiServer.replace(/\/+$/, "");
    const get = async (path: string): Promise<unknown> => {
      const headers: Record<string, string> = { accept: "application/json" };
      if (this.options.tokenFile) {
        try {
          headers.authorization = `Bearer ${readFileSync(this.options.tokenFile, "utf8").trim()}`;
        } catch {
          // No service account token mounted: ask anonymously.
        }
      }
      let response: Response;
      try {
        response = await this.fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(5_000) });
      } catch (error) {
        throw new OidcUnavailableError(`GET ${base}${path} failed: ${(error as Error).message}`);
      }
      if (!response.ok) throw new OidcUnavailableError(`GET ${base}${path} answered ${response.status}`);
      return response.json();
    };
    try {
      const { issuer } = discoverySchema.parse(await get("/.well-known/openid-configuration"));
      const { keys } = jwksSchema.parse(await get("/openid/v1/jwks"));
      const byKid = new Map<string | undefined, KeyObject[]>();
      for (const jwk of keys) {
        try {
          const key = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
          byKid.set(jwk.kid, [...(byKid.get(jwk.kid) ?? []), key]);
        } catch {
          // A key type Node cannot use: no token signed with it verifies.
        }
      }
      this.keys = { issuer, byKid, fetchedAt: this.now() };
    } catch (error) {
      if (error instanceof OidcUnavailableError) throw error;
      throw new OidcUnavailableError(`the API server's OIDC documents are not usable: ${String(error)}`);
    }
  }
}

export type DeliveryAuth =
  | { ok: true; sender: "sidecar" | "knative" }
  | { ok: false; reason: "unauthenticated" | "unavailable"; detail: string };

/**
 * Decides whether a request to a delivery route comes from this app's sidecar (the app token) or,
 * when `oidc` is configured, from a Knative source (its OIDC token).
 */
export async function authorizeDelivery(
  headers: Record<string, string | string[] | undefined>,
  appToken: string | undefined,
  oidc: OidcVerifier | null,
): Promise<DeliveryAuth> {
  if (secretMatches(appToken, headers[APP_TOKEN_HEADER])) return { ok: true, sender: "sidecar" };
  const bearer =
    oidc && typeof headers.authorization === "string"
      ? /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization)?.[1]
      : undefined;
  if (oidc && bearer) {
    try {
      if (await oidc.verify(bearer)) return { ok: true, sender: "knative" };
    } catch (error) {
      if (error instanceof OidcUnavailableError)
        return { ok: false, reason: "unavailable", detail: error.message };
      throw error;
    }
  }
  return {
    ok: false,
    reason: "unauthenticated",
    detail: appToken
      ? "Deliveries need the Dapr app API token (`dapr-api-token`)."
      : "Deliveries are refused: APP_API_TOKEN is not configured.",
  };
}
