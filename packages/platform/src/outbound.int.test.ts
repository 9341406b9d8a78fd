import type { LookupAddress } from "node:dns";
import { expect, test } from "vitest";
import { PUBLIC_TEST_ADDRESS, stubResolver } from "#testing/resolver.ts";
import { addressProblem, checkOutbound, type OutboundCheck } from "./outbound.ts";

const LOOPBACK = "a loopback address";
const PRIVATE = "a private address";
const LINK_LOCAL = "a link-local address";
const DOCUMENTATION = "a documentation address";

test("IPv4: every range that is not globally reachable is refused, exactly to its edges", () => {
  const cases: [string, string | null][] = [
    ["0.0.0.0", 'an unspecified ("this network") address'],
    ["0.255.255.255", 'an unspecified ("this network") address'],
    ["1.0.0.0", null],
    ["9.255.255.255", null],
    ["10.0.0.0", PRIVATE],
    ["10.255.255.255", PRIVATE],
    ["11.0.0.0", null],
    ["100.63.255.255", null],
    ["100.64.0.0", "a shared (carrier-grade NAT) address"],
    ["100.127.255.255", "a shared (carrier-grade NAT) address"],
    ["100.128.0.0", null],
    ["126.255.255.255", null],
    ["127.0.0.1", LOOPBACK],
    ["127.255.255.254", LOOPBACK],
    ["128.0.0.0", null],
    ["169.253.255.255", null],
    ["169.254.169.254", LINK_LOCAL],
    ["169.255.0.0", null],
    ["172.15.255.255", null],
    ["172.16.0.0", PRIVATE],
    ["172.31.255.255", PRIVATE],
    ["172.32.0.0", null],
    ["192.0.0.8", "an IETF protocol address"],
    ["192.0.2.1", DOCUMENTATION],
    ["192.88.99.1", "a 6to4 relay anycast address"],
    ["192.167.255.255", null],
    ["192.168.0.1", PRIVATE],
    ["192.169.0.0", null],
    ["198.17.255.255", null],
    ["198.18.0.0", "a benchmarking address"],
    ["198.19.255.255", "a benchmarking address"],
    ["198.20.0.0", null],
    ["198.51.100.7", DOCUMENTATION],
    ["203.0.113.9", DOCUMENTATION],
    ["223.255.255.255", null],
    ["224.0.0.1", "a multicast address"],
    ["239.255.255.255", "a multicast address"],
    ["240.0.0.1", "a reserved address"],
    ["255.255.255.255", "a reserved address"],
    ["8.8.8.8", null],
    [PUBLIC_TEST_ADDRESS, null],
  ];
  expect(cases.map(([address]) => [address, addressProblem(address)])).toEqual(cases);
});

test("IPv6: loopback, ULA, link-local, multicast, IPv4-mapped and special ranges are refused; embedded IPv4 decides NAT64 and 6to4", () => {
  const cases: [string, string | null][] = [
    ["::", "an unspecified address"],
    ["::1", LOOPBACK],
    ["::ffff:127.0.0.1", "an IPv4-mapped address"],
    ["::ffff:7f00:1", "an IPv4-mapped address"],
    ["::ffff:8.8.8.8", "an IPv4-mapped address"],
    ["::127.0.0.1", "an IPv4-compatible address"],
    ["100::1", "a discard-only address"],
    ["fc00::1", "a unique local address"],
    ["fd12:3456:789a::1", "a unique local address"],
    ["fe80::1", LINK_LOCAL],
    ["fe80::1%eth0", LINK_LOCAL],
    ["febf:ffff::1", LINK_LOCAL],
    ["fec0::1", "a site-local address"],
    ["ff02::1", "a multicast address"],
    ["2001::1", "a Teredo address"],
    ["2001:db8::1", DOCUMENTATION],
    ["3fff::1", DOCUMENTATION],
    ["64:ff9b::a00:1", "a NAT64 address of 10.0.0.1, a private address"],
    ["64:ff9b::127.0.0.1", "a NAT64 address of 127.0.0.1, a loopback address"],
    ["64:ff9b::a9fe:a9fe", "a NAT64 address of 169.254.169.254, a link-local address"],
    ["64:ff9b::808:808", null],
    ["64:ff9b:1::1", "a local-use NAT64 address"],
    ["2002:a00:1::1", "a 6to4 address of 10.0.0.1, a private address"],
    ["2002:808:808::1", null],
    ["4000::1", "a reserved address"],
    ["2606:4700:4700::1111", null],
    ["2a00:1450:4001:80b::200e", null],
  ];
  expect(cases.map(([address]) => [address, addressProblem(address)])).toEqual(cases);
});

test("allowing loopback admits 127.0.0.0/8 and ::1, and nothing else", () => {
  for (const address of ["127.0.0.1", "127.255.255.254", "::1"])
    expect(addressProblem(address, true)).toBeNull();
  for (const address of [
    "0.0.0.0",
    "10.0.0.1",
    "169.254.169.254",
    "192.168.1.1",
    "::ffff:127.0.0.1",
    "64:ff9b::127.0.0.1",
    "fd00::1",
    "fe80::1",
  ])
    expect(addressProblem(address, true), address).not.toBeNull();
});

const refusal = (check: OutboundCheck) =>
  check.ok ? null : { refused: check.refused, reason: check.reason };

test("a URL's host is checked in the form WHATWG URL normalises it to, without a lookup", async () => {
  const dns = stubResolver();
  const policy = { allowLoopback: false, resolve: dns.resolve };
  const cases: [string, string][] = [
    ["https://0x7f000001/", "127.0.0.1 is a loopback address"],
    ["https://2130706433/", "127.0.0.1 is a loopback address"],
    ["https://0177.0.0.1/", "127.0.0.1 is a loopback address"],
    ["https://127.1/", "127.0.0.1 is a loopback address"],
    ["https://0/", '0.0.0.0 is an unspecified ("this network") address'],
    ["https://[::1]/", "::1 is a loopback address"],
    ["https://[::ffff:127.0.0.1]/", "::ffff:7f00:1 is an IPv4-mapped address"],
    ["https://[0:0:0:0:0:ffff:169.254.169.254]/", "::ffff:a9fe:a9fe is an IPv4-mapped address"],
    ["https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"],
  ];
  for (const [url, reason] of cases)
    expect(refusal(await checkOutbound(new URL(url), policy)), url).toEqual({ refused: true, reason });
  expect(dns.calls).toEqual([]);
});

test("cluster-internal, local and single-label names are refused without a lookup", async () => {
  const dns = stubResolver();
  const policy = { allowLoopback: false, resolve: dns.resolve };
  for (const host of [
    "kubernetes.default.svc",
    "kubernetes.default.svc.",
    "KUBERNETES.DEFAULT.SVC",
    "orbit-db.orbit.svc.cluster.local",
    "metadata.google.internal",
    "localhost",
    "LOCALHOST.",
    "api.localhost",
    "printer.local",
    "router.home.arpa",
    "redis",
  ]) {
    const check = await checkOutbound(new URL(`https://${host}/hook`), policy);
    expect(check.ok, host).toBe(false);
    expect(refusal(check)?.refused, host).toBe(true);
  }
  expect(refusal(await checkOutbound(new URL("https://redis:6379/"), policy))?.reason).toBe(
    "redis is a single-label name (resolved inside the cluster)",
  );
  expect(dns.calls).toEqual([]);
  // With loopback allowed, `localhost` is looked up, and its addresses checked like any others.
  dns.answer("localhost", ["127.0.0.1", "::1"]);
  expect((await checkOutbound(new URL("http://localhost:9/"), { ...policy, allowLoopback: true })).ok).toBe(
    true,
  );
});

test("a name is refused when any address it resolves to is refused; one that does not resolve fails without being refused", async () => {
  const dns = stubResolver({
    "hooks.example.com": [PUBLIC_TEST_ADDRESS],
    "split.example.com": [PUBLIC_TEST_ADDRESS, "10.0.0.1"],
    "mapped.example.com": ["2606:4700:4700::1111", "::ffff:127.0.0.1"],
    "127.0.0.1.nip.io": ["127.0.0.1"],
  });
  const policy = { allowLoopback: false, resolve: dns.resolve };
  const check = (host: string) => checkOutbound(new URL(`https://${host}/`), policy);
  expect(await check("hooks.example.com")).toMatchObject({
    ok: true,
    host: "hooks.example.com",
    addresses: [{ address: PUBLIC_TEST_ADDRESS, family: 4 }],
  });
  expect(refusal(await check("split.example.com"))).toEqual({
    refused: true,
    reason: "split.example.com resolves to 10.0.0.1, a private address",
  });
  expect(refusal(await check("mapped.example.com"))).toEqual({
    refused: true,
    reason: "mapped.example.com resolves to ::ffff:127.0.0.1, an IPv4-mapped address",
  });
  expect(refusal(await check("127.0.0.1.nip.io"))).toEqual({
    refused: true,
    reason: "127.0.0.1.nip.io resolves to 127.0.0.1, a loopback address",
  });
  expect(refusal(await check("nowhere.example.com"))).toEqual({
    refused: false,
    reason: "nowhere.example.com does not resolve (ENOTFOUND)",
  });
  const slow = { allowLoopback: false, resolve: () => new Promise<never>(() => {}) };
  expect(refusal(await checkOutbound(new URL("https://slow.example.com/"), slow, 50))).toEqual({
    refused: false,
    reason: "slow.example.com does not resolve (ETIMEOUT)",
  });
});

function lookupWith(
  check: Extract<OutboundCheck, { ok: true }>,
  options: { all?: boolean; family?: number },
): Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) =>
    check.lookup("rebind.example.com", options, (error, address, family) =>
      resolve({ error, address, family }),
    ),
  );
}

test("DNS rebinding: the connection's lookup answers the checked address, whatever the name resolves to next", async () => {
  const dns = stubResolver();
  dns.answer("rebind.example.com", [PUBLIC_TEST_ADDRESS], ["127.0.0.1"]);
  const policy = { allowLoopback: false, resolve: dns.resolve };
  const check = await checkOutbound(new URL("https://rebind.example.com/hook"), policy);
  if (!check.ok) throw new Error(check.reason);
  // As net.connect asks: all addresses (autoSelectFamily), one address, or one of a family.
  expect(await lookupWith(check, { all: true })).toEqual({
    error: null,
    address: [{ address: PUBLIC_TEST_ADDRESS, family: 4 }],
    family: undefined,
  });
  expect(await lookupWith(check, {})).toEqual({ error: null, address: PUBLIC_TEST_ADDRESS, family: 4 });
  expect((await lookupWith(check, { family: 6 })).error?.code).toBe("ENOTFOUND");
  expect(dns.calls).toEqual(["rebind.example.com"]);
  // The name now answers 127.0.0.1: a check made now refuses it.
  expect(refusal(await checkOutbound(new URL("https://rebind.example.com/hook"), policy))).toEqual({
    refused: true,
    reason: "rebind.example.com resolves to 127.0.0.1, a loopback address",
  });
});
