import { expect, test } from "vitest";
import { clientAddress, rateLimitAddress, UNKNOWN_ADDRESS } from "./client-address.ts";

test("counts trusted hops from the right: entries the client wrote are never used", () => {
  // Client wrote "1.1.1.1"; the ingress appended the client's real address, the activator the
  // ingress's, the queue-proxy the activator's; the socket peer is the queue-proxy.
  const xff = "1.1.1.1, 203.0.113.9, 10.0.0.2, 10.0.0.3";
  expect(clientAddress(xff, "127.0.0.1", 3)).toBe("203.0.113.9");
  expect(clientAddress(xff, "127.0.0.1", 1)).toBe("10.0.0.3");
  expect(clientAddress(xff, "127.0.0.1", 4)).toBe("1.1.1.1");
});

test("hop 0 is the socket's peer", () => {
  expect(clientAddress("1.1.1.1", "203.0.113.9", 0)).toBe("203.0.113.9");
  expect(clientAddress(null, "::ffff:203.0.113.9", 0)).toBe("203.0.113.9");
  expect(clientAddress(null, undefined, 0)).toBe(UNKNOWN_ADDRESS);
});

test("a chain shorter than the trusted hops (a proxy was bypassed) is one shared bucket, not the client's word", () => {
  expect(clientAddress("203.0.113.9", undefined, 3)).toBe(UNKNOWN_ADDRESS);
  expect(clientAddress(null, undefined, 1)).toBe(UNKNOWN_ADDRESS);
  expect(clientAddress(" , ,", undefined, 1)).toBe(UNKNOWN_ADDRESS);
});

test("an entry that is not an IP address is not a key", () => {
  expect(clientAddress("evil, not-an-ip", undefined, 1)).toBe(UNKNOWN_ADDRESS);
  expect(clientAddress("unknown", undefined, 1)).toBe(UNKNOWN_ADDRESS);
});

test("IPv6 is keyed by its /64, whatever the spelling; ports and brackets are dropped", () => {
  const key = "2001:db8:1:2::/64";
  expect(rateLimitAddress("2001:db8:1:2::1")).toBe(key);
  expect(rateLimitAddress("2001:0DB8:0001:0002:ffff:ffff:ffff:ffff")).toBe(key);
  expect(rateLimitAddress("[2001:db8:1:2::beef]:443")).toBe(key);
  expect(rateLimitAddress("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
  expect(rateLimitAddress("::1")).toBe("0:0:0:0::/64");
  expect(rateLimitAddress("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  expect(rateLimitAddress("203.0.113.9:5123")).toBe("203.0.113.9");
  expect(rateLimitAddress("::ffff:203.0.113.9")).toBe("203.0.113.9");
});
