// A stand-in for the Kubernetes API server's service account token issuer, as Knative Eventing's
// OIDC sender identity uses it: an RSA signing key, the discovery document
// (/.well-known/openid-configuration) and the key set (/openid/v1/jwks), and tokens shaped like
// the ones a KafkaSource sends (https://knative.dev/docs/eventing/features/sender-identity/).
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";

export const TEST_ISSUER = "https://kubernetes.default.svc.cluster.local";

export interface TokenClaims {
  aud: string | string[];
  sub: string;
  iss?: string;
  /** Seconds since the epoch; default: an hour from now. */
  exp?: number;
  nbf?: number;
}

export interface OidcIssuer {
  /** Base URL standing in for https://kubernetes.default.svc. */
  url: string;
  /** Requests the server received (path and authorization header). */
  requests: { path: string; authorization: string | undefined }[];
  /** A token signed by the issuer's current key (or by `key`, e.g. a stranger's). */
  mint(claims: TokenClaims, options?: { key?: KeyObject; kid?: string; alg?: string }): string;
  /** Replaces the signing key, as a key rotation does; old tokens stop verifying. */
  rotate(): void;
  /** When set, every request must carry `Authorization: Bearer <this>` (else 401). */
  requireBearer: string | null;
  /** When true, the server answers 503 (the API server unreachable). */
  down: boolean;
  close(): Promise<void>;
}

function newKey(): { privateKey: KeyObject; kid: string } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey, kid: randomUUID() };
}

export function signJwt(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: KeyObject,
): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode(header)}.${encode(claims)}`;
  const signature = sign("sha256", Buffer.from(input), key).toString("base64url");
  return `${input}.${signature}`;
}

/** A throwaway key nobody trusts. */
export function strangerKey(): KeyObject {
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
}

export async function startOidcIssuer(): Promise<OidcIssuer> {
  let current = newKey();
  const requests: OidcIssuer["requests"] = [];
  const state = { requireBearer: null as string | null, down: false };
  const server: Server = createServer((req: IncomingMessage, res) => {
    requests.push({ path: req.url ?? "", authorization: req.headers.authorization });
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (state.down) return reply(503, { message: "unavailable" });
    if (state.requireBearer && req.headers.authorization !== `Bearer ${state.requireBearer}`)
      return reply(401, { message: "Unauthorized" });
    if (req.url === "/.well-known/openid-configuration")
      return reply(200, {
        issuer: TEST_ISSUER,
        jwks_uri: `${TEST_ISSUER}/openid/v1/jwks`,
        response_types_supported: ["id_token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
    if (req.url === "/openid/v1/jwks") {
      const jwk = current.privateKey.export({ format: "jwk" });
      return reply(200, {
        keys: [{ kty: jwk.kty, n: jwk.n, e: jwk.e, kid: current.kid, alg: "RS256", use: "sig" }],
      });
    }
    reply(404, { message: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get requireBearer() {
      return state.requireBearer;
    },
    set requireBearer(value: string | null) {
      state.requireBearer = value;
    },
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    mint(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return signJwt(
        { alg: options.alg ?? "RS256", kid: options.kid ?? current.kid },
        {
          iss: TEST_ISSUER,
          iat: now,
          nbf: now,
          exp: now + 3600,
          "kubernetes.io": { namespace: "orbit" },
          ...claims,
        },
        options.key ?? current.privateKey,
      );
    },
    rotate() {
      current = newKey();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let shared: Promise<OidcIssuer> | null = null;

/** One issuer per test process, for functions started by startFunction (fixtures.ts). */
export function sharedOidcIssuer(): Promise<OidcIssuer> {
  shared ??= startOidcIssuer();
  return shared;
}
