// The client's address, from the one hop we trust. Each proxy in front of an app appends the address
// it received the request from to X-Forwarded-For; whatever is further left the client wrote itself
// (MDN, "X-Forwarded-For: Security and privacy concerns"). So count from the right: with N trusted
// proxies, the Nth entry from the right is what our outermost proxy saw, and the socket's peer is
// hop 0. Production's chain is documented beside TRUSTED_PROXY_HOPS in web/app/lib/env.server.ts.
import { isIP } from "node:net";

/** The bucket for requests whose chain is shorter than configured (they bypassed a proxy). */
export const UNKNOWN_ADDRESS = "unknown";

export function clientAddress(
  forwardedFor: string | null | undefined,
  remoteAddress: string | null | undefined,
  trustedHops: number,
): string {
  const chain = [
    ...(forwardedFor ?? "")
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean),
    remoteAddress ?? "",
  ];
  const index = chain.length - 1 - trustedHops;
  if (index < 0) return UNKNOWN_ADDRESS;
  return rateLimitAddress(chain[index]!) ?? UNKNOWN_ADDRESS;
}

/**
 * The address as a rate-limit key: IPv4 as is, IPv6 by its /64 (one subscriber usually holds a
 * whole /64 and can pick any address in it, RFC 6177), IPv4-mapped IPv6 as IPv4. Null if not an IP.
 */
export function rateLimitAddress(raw: string): string | null {
  let address = raw.trim();
  if (address.startsWith("[")) address = address.slice(1, address.indexOf("]"));
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(":"));
  address = address.replace(/%.*$/, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) address = mapped[1]!;
  const version = isIP(address);
  if (version === 4) return address;
  if (version !== 6) return null;
  return `${expandIpv6(address).slice(0, 4).join(":")}::/64`;
}

function expandIpv6(address: string): string[] {
  const [head = "", tail] = address.split("::");
  const parse = (part: string) => (part ? part.split(":") : []);
  let left = parse(head);
  let right = tail === undefined ? [] : parse(tail);
  // An embedded IPv4 tail ("::1.2.3.4") is two groups.
  const last = (right.length ? right : left).at(-1);
  if (last?.includes(".")) {
    const [a, b, c, d] = last.split(".").map(Number) as [number, number, number, number];
    const groups = [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    if (right.length) right = [...right.slice(0, -1), ...groups];
    else left = [...left.slice(0, -1), ...groups];
  }
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => "0");
  return [...left, ...zeros, ...right].map((group) => group.replace(/^0+(?=.)/, ""));
}
