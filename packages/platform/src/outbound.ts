// Requests to addresses our users choose (webhook URLs, push endpoints) must reach the public
// internet only, never what only we can reach: loopback, the pod and node networks, the cloud
// metadata service, cluster Services (SSRF). Every such request is checked here: the host is
// resolved once, every address it resolves to is classified, and the connection is then made to
// a checked address only (a pinned `lookup`), so a DNS answer that changes between the check and
// the connect (DNS rebinding) cannot send it anywhere else. ADR 011 says why it is done this way.
//
// The ranges are IANA's special-purpose registries, every entry that is not globally reachable:
// https://www.iana.org/assignments/iana-ipv4-special-registry/ and
// https://www.iana.org/assignments/iana-ipv6-special-registry/. Node's net.BlockList is not used:
// it matches IPv4 rules against IPv4-mapped IPv6 addresses and an IPv6 ::ffff:0:0/96 rule against
// every IPv4 address, which hides exactly the distinctions this module is about.
import { lookup } from "node:dns/promises";
import { isIP, type LookupFunction } from "node:net";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address `hostname` resolves to. Tests inject their own (fixed answers, rebinding). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The system resolver (getaddrinfo, as a connection would resolve the name). */
export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

export interface OutboundPolicy {
  /**
   * Loopback (127.0.0.0/8, ::1, `localhost`) may be reached: `make dev` and tests that run their
   * receivers on this machine (env OUTBOUND_ALLOW_LOOPBACK). Private and every other range stay
   * refused. Production never sets it (tests/manifests/outbound-loopback.int.test.ts).
   */
  allowLoopback: boolean;
  /** Default: systemResolver. */
  resolve?: Resolver;
}

export type OutboundCheck =
  | {
      ok: true;
      url: URL;
      /** The host without brackets or trailing dot, as checked. */
      host: string;
      /** Every address the host resolved to; all of them were checked. */
      addresses: ResolvedAddress[];
      /** For the connection (http.request `lookup`, https.Agent `lookup`): only `addresses`. */
      lookup: LookupFunction;
    }
  | {
      ok: false;
      /** True: the policy refuses this host (final). False: it did not resolve (may be transient). */
      refused: boolean;
      reason: string;
    };

// ───── addresses ─────

interface Range {
  bytes: number[];
  prefix: number;
  /** What an address in it is, as a phrase: "a loopback address". */
  kind: string;
}

function parseIPv4(text: string): number[] {
  return text.split(".").map(Number);
}

/** 16 bytes of a valid IPv6 address (net.isIP said so), zone id already removed. */
function parseIPv6(text: string): number[] {
  let address = text;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    address = `${address.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = address.split("::") as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const front = groups(head);
  const back = groups(tail);
  const words = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

function range(cidr: string, kind: string): Range {
  const [address, prefix] = cidr.split("/") as [string, string];
  return {
    bytes: isIP(address) === 4 ? parseIPv4(address) : parseIPv6(address),
    prefix: Number(prefix),
    kind,
  };
}

function inRange(bytes: number[], r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  for (let bit = 0; bit < r.prefix; bit += 8) {
    const bits = Math.min(8, r.prefix - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((bytes[bit / 8]! & mask) !== (r.bytes[bit / 8]! & mask)) return false;
  }
  return true;
}

const LOOPBACK = "a loopback address";

const IPV4_RANGES: Range[] = [
  range("0.0.0.0/8", 'an unspecified ("this network") address'),
  range("10.0.0.0/8", "a private address"),
  range("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
  range("127.0.0.0/8", LOOPBACK),
  range("169.254.0.0/16", "a link-local address"),
  range("172.16.0.0/12", "a private address"),
  range("192.0.0.0/24", "an IETF protocol address"),
  range("192.0.2.0/24", "a documentation address"),
  range("192.88.99.0/24", "a 6to4 relay anycast address"),
  range("192.168.0.0/16", "a private address"),
  range("198.18.0.0/15", "a benchmarking address"),
  range("198.51.100.0/24", "a documentation address"),
  range("203.0.113.0/24", "a documentation address"),
  range("224.0.0.0/4", "a multicast address"),
  // 240.0.0.0/4 includes the limited broadcast address 255.255.255.255.
  range("240.0.0.0/4", "a reserved address"),
];

const IPV6_RANGES: Range[] = [
  range("::/128", "an unspecified address"),
  range("::1/128", LOOPBACK),
  range("::ffff:0:0/96", "an IPv4-mapped address"),
  range("::ffff:0:0:0/96", "an IPv4-translated address"),
  range("::/96", "an IPv4-compatible address"),
  range("64:ff9b:1::/48", "a local-use NAT64 address"),
  range("100::/64", "a discard-only address"),
  range("2001::/32", "a Teredo address"),
  range("2001:2::/48", "a benchmarking address"),
  range("2001:10::/28", "an ORCHID address"),
  range("2001:20::/28", "an ORCHID address"),
  range("2001:db8::/32", "a documentation address"),
  range("3fff::/20", "a documentation address"),
  range("5f00::/16", "an SRv6 SID address"),
  range("fc00::/7", "a unique local address"),
  range("fe80::/10", "a link-local address"),
  range("fec0::/10", "a site-local address"),
  range("ff00::/8", "a multicast address"),
];

/** Prefixes whose addresses carry an IPv4 address, which decides: [range, offset of the IPv4]. */
const EMBEDDING: [Range, number][] = [
  [range("64:ff9b::/96", "a NAT64 address"), 12],
  [range("2002::/16", "a 6to4 address"), 2],
];

const GLOBAL_UNICAST = range("2000::/3", "");

/**
 * Why nothing may connect to `address` ("a loopback address"), or null when it may: refused are
 * loopback (unless `allowLoopback`), private, link-local, CGNAT, ULA, IPv4-mapped, unspecified,
 * multicast, documentation, benchmarking and every other range that is not globally reachable.
 */
export function addressProblem(address: string, allowLoopback = false): string | null {
  const bare = address.split("%")[0]!;
  const family = isIP(bare);
  if (family === 4) {
    const kind = IPV4_RANGES.find((r) => inRange(parseIPv4(bare), r))?.kind ?? null;
    return kind === LOOPBACK && allowLoopback ? null : kind;
  }
  if (family !== 6) return "not an IP address";
  const bytes = parseIPv6(bare);
  const kind = IPV6_RANGES.find((r) => inRange(bytes, r))?.kind ?? null;
  if (kind) return kind === LOOPBACK && allowLoopback ? null : kind;
  for (const [r, offset] of EMBEDDING) {
    if (!inRange(bytes, r)) continue;
    const v4 = bytes.slice(offset, offset + 4).join(".");
    // What reaches the embedded address is what it is (a NAT64 gateway would forward to it).
    const embedded = addressProblem(v4, false);
    return embedded ? `${r.kind} of ${v4}, ${embedded}` : null;
  }
  return inRange(bytes, GLOBAL_UNICAST) ? null : "a reserved address";
}

// ───── names ─────

/** Names that only mean something inside a cluster or on a local network. */
const INTERNAL_SUFFIXES = ["localhost", "localdomain", "local", "internal", "svc", "arpa"];

/** Why a host name is refused before any lookup, or null. `host` is lower-case, no trailing dot. */
function hostnameProblem(host: string, allowLoopback: boolean): string | null {
  if (host === "localhost" && allowLoopback) return null;
  if (!host.includes(".")) return `${host} is a single-label name (resolved inside the cluster)`;
  const suffix = INTERNAL_SUFFIXES.find((s) => host === s || host.endsWith(`.${s}`));
  return suffix ? `${host} is a cluster-internal or local name (.${suffix})` : null;
}

/** A `lookup` that answers only the checked addresses, whatever name it is asked for. */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
    const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
    if (usable.length === 0) {
      const error = Object.assign(new Error(`no checked IPv${wanted} address`), { code: "ENOTFOUND" });
      callback(error, "", 0);
    } else if (options.all) callback(null, usable);
    else callback(null, usable[0]!.address, usable[0]!.family);
  };
}

function timeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "ETIMEOUT" })), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Resolves `url`'s host and checks it and every address it resolves to against `policy`. On
 * success, connect with `lookup` (IP-literal hosts connect without one): it answers the checked
 * addresses only.
 */
export async function checkOutbound(
  url: URL,
  policy: OutboundPolicy,
  resolveTimeoutMs = 5_000,
): Promise<OutboundCheck> {
  // WHATWG URL already turned 0x7f000001, 2130706433, 0177.0.0.1 and 0 into dotted IPv4 and
  // lower-cased names; what is left is brackets around IPv6 and a trailing root dot.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").replace(/\.+$/, "");
  if (!host) return { ok: false, refused: true, reason: "the URL has no host" };
  const ok = (addresses: ResolvedAddress[]) =>
    ({ ok: true, url, host, addresses, lookup: pinnedLookup(addresses) }) as const;

  const literal = isIP(host);
  if (literal) {
    const problem = addressProblem(host, policy.allowLoopback);
    if (problem) return { ok: false, refused: true, reason: `${host} is ${problem}` };
    return ok([{ address: host, family: literal === 6 ? 6 : 4 }]);
  }
  const nameProblem = hostnameProblem(host, policy.allowLoopback);
  if (nameProblem) return { ok: false, refused: true, reason: nameProblem };

  let addresses: ResolvedAddress[];
  try {
    addresses = await timeout((policy.resolve ?? systemResolver)(host), resolveTimeoutMs);
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).message;
    return { ok: false, refused: false, reason: `${host} does not resolve (${code})` };
  }
  if (addresses.length === 0)
    return { ok: false, refused: false, reason: `${host} does not resolve (no address)` };
  // Any forbidden answer refuses the host: the connection could otherwise be steered to it.
  for (const { address } of addresses) {
    const problem = addressProblem(address, policy.allowLoopback);
    if (problem) return { ok: false, refused: true, reason: `${host} resolves to ${address}, ${problem}` };
  }
  return ok(addresses);
}

/** True when every checked address is loopback (plain http is only for receivers on this machine). */
export function onlyLoopback(addresses: ResolvedAddress[]): boolean {
  return addresses.every((a) => addressProblem(a.address, false) === LOOPBACK);
}

/** A failed check as a field error's detail ("must be a public address: …"). */
export function outboundProblem(check: Extract<OutboundCheck, { ok: false }>): string {
  if (check.reason.startsWith("must ")) return check.reason;
  return check.refused ? `must be a public address: ${check.reason}` : `must be reachable: ${check.reason}`;
}
