// A stand-in DNS for the outbound policy (packages/platform/src/outbound.ts): tests must not depend
// on the machine's resolver (CI may have none), and some need answers that change from one lookup
// to the next, as a DNS rebinding attacker's do.
import type { ResolvedAddress, Resolver } from "#platform/outbound.ts";

/** A public address (example.com's, held by IANA) for names tests save but never connect to. */
export const PUBLIC_TEST_ADDRESS = "93.184.215.14";

export interface StubResolver {
  resolve: Resolver;
  /** Every name looked up, in order. */
  calls: string[];
  /** Each lookup of `host` answers the next of `answers`; the last one answers from then on. */
  answer(host: string, ...answers: string[][]): void;
}

/** Names it was not told about do not exist (ENOTFOUND), as on a machine without DNS. */
export function stubResolver(records: Record<string, string[]> = {}): StubResolver {
  const answers = new Map<string, string[][]>(Object.entries(records).map(([host, a]) => [host, [a]]));
  const calls: string[] = [];
  return {
    calls,
    answer(host, ...next) {
      answers.set(host, next);
    },
    async resolve(host): Promise<ResolvedAddress[]> {
      calls.push(host);
      const queue = answers.get(host);
      if (!queue || queue.length === 0)
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
      const addresses = queue.length > 1 ? queue.shift()! : queue[0]!;
      return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    },
  };
}
