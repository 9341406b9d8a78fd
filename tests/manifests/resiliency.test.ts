// No Resiliency in dapr-components/ (production's and `dapr run`'s local one) may put a circuit
// breaker on a pub/sub component's inbound target. In daprd 1.18 an open breaker's error is
// permanent (pkg/resiliency/breaker/circuitbreaker.go IsErrorPermanent), so a delivery is not
// retried but sent to the dead-letter topic (pkg/runtime/subscription/subscription.go): a short
// outage would fill the *-dlq topics. dapr-components/resiliency.yaml says the rest;
// packages/local-dapr/src/breaker.int.test.ts shows what such a breaker does.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { parseAllDocuments } from "yaml";

const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
const COMPONENTS_DIR = path.join(REPO_ROOT, "dapr-components");

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Obj) : {};

interface Resource {
  file: string;
  doc: Obj;
}

/** Every YAML document under dapr-components/, with the file it came from. */
function loadResources(dir = COMPONENTS_DIR): Resource[] {
  const resources: Resource[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) resources.push(...loadResources(file));
    else if (/\.ya?ml$/.test(entry.name)) {
      for (const doc of parseAllDocuments(readFileSync(file, "utf8")))
        resources.push({ file: path.relative(REPO_ROOT, file), doc: obj(doc.toJS()) });
    }
  }
  return resources;
}

/**
 * The default policy names daprd falls back to for the inbound side of a pub/sub component that
 * has no target of its own (pkg/resiliency/resiliency.go ComponentInboundPolicy, getDefaultPolicy:
 * Default{Pubsub}Component{Inbound}…, DefaultComponent…, then Default…).
 */
const DEFAULT_INBOUND_BREAKERS = [
  "DefaultPubsubComponentInboundCircuitBreakerPolicy",
  "DefaultComponentInboundCircuitBreakerPolicy",
  "DefaultComponentCircuitBreakerPolicy",
  "DefaultCircuitBreakerPolicy",
];

/** Each way a Resiliency puts a breaker on the inbound side of one of `pubsubs`. */
function inboundBreakers(resources: Resource[], pubsubs: Set<string>): string[] {
  const problems: string[] = [];
  for (const { file, doc } of resources.filter((r) => r.doc.kind === "Resiliency")) {
    const spec = obj(doc.spec);
    const targets = obj(obj(spec.targets).components);
    for (const [component, target] of Object.entries(targets)) {
      const breaker = obj(obj(target).inbound).circuitBreaker;
      if (pubsubs.has(component) && breaker !== undefined && breaker !== "")
        problems.push(
          `${file}: targets.components.${component}.inbound.circuitBreaker is "${String(breaker)}"`,
        );
    }
    for (const name of Object.keys(obj(obj(spec.policies).circuitBreakers)))
      if (DEFAULT_INBOUND_BREAKERS.includes(name))
        problems.push(
          `${file}: policies.circuitBreakers.${name} applies to the inbound side of every pub/sub component without a target of its own`,
        );
  }
  return problems;
}

function pubsubNames(resources: Resource[]): Set<string> {
  return new Set(
    resources
      .filter((r) => r.doc.kind === "Component" && String(obj(r.doc.spec).type).startsWith("pubsub."))
      .map((r) => String(obj(r.doc.metadata).name)),
  );
}

test("no Resiliency in dapr-components/ (production and local) puts a circuit breaker on a pub/sub component's inbound target", () => {
  const resources = loadResources();
  const resiliencies = resources.filter((r) => r.doc.kind === "Resiliency").map((r) => r.file);
  // What the check looked at, so that it cannot pass by finding nothing.
  expect(resiliencies.sort()).toEqual([
    "dapr-components/local/resiliency.yaml",
    "dapr-components/resiliency.yaml",
  ]);
  const pubsubs = pubsubNames(resources);
  expect([...pubsubs]).toEqual(["pubsub"]);
  for (const { doc } of resources.filter((r) => r.doc.kind === "Resiliency"))
    expect(Object.keys(obj(obj(obj(doc.spec).targets).components))).toContain("pubsub");
  expect(inboundBreakers(resources, pubsubs)).toEqual([]);
});

test("the check finds a breaker on pub/sub inbound, by target or by default policy name, and nothing else", () => {
  const resources = loadResources();
  const pubsubs = pubsubNames(resources);
  const production = resources.find((r) => r.file === "dapr-components/resiliency.yaml")!;
  const variant = (change: (spec: Obj) => void): Resource[] => {
    const doc = structuredClone(production.doc);
    change(obj(doc.spec));
    return [{ file: production.file, doc }];
  };
  const components = (spec: Obj) => obj(obj(spec.targets).components);
  const breakers = (spec: Obj) => {
    const policies = obj(spec.policies);
    policies.circuitBreakers = { ...obj(policies.circuitBreakers) };
    return policies.circuitBreakers as Obj;
  };

  const onInbound = variant((spec) => {
    breakers(spec).delivery = { timeout: "60s", trip: "consecutiveFailures >= 10" };
    obj(components(spec).pubsub).inbound = {
      ...obj(obj(components(spec).pubsub).inbound),
      circuitBreaker: "delivery",
    };
  });
  expect(inboundBreakers(onInbound, pubsubs)).toEqual([
    'dapr-components/resiliency.yaml: targets.components.pubsub.inbound.circuitBreaker is "delivery"',
  ]);
  const byDefault = variant((spec) => {
    breakers(spec).DefaultPubsubComponentInboundCircuitBreakerPolicy = { timeout: "60s" };
  });
  expect(inboundBreakers(byDefault, pubsubs)).toEqual([
    expect.stringContaining(
      "policies.circuitBreakers.DefaultPubsubComponentInboundCircuitBreakerPolicy applies",
    ),
  ]);
  // A breaker on the e-mail binding or on publishes is not this check's business.
  const elsewhere = variant((spec) => {
    breakers(spec).other = {};
    obj(components(spec).email).outbound = {
      ...obj(obj(components(spec).email).outbound),
      circuitBreaker: "other",
    };
    obj(components(spec).pubsub).outbound = {
      ...obj(obj(components(spec).pubsub).outbound),
      circuitBreaker: "other",
    };
  });
  expect(inboundBreakers(elsewhere, pubsubs)).toEqual([]);
});
