// Reads the resources path the way daprd does (`--resources-path`, every *.yaml/*.yml file, several
// documents per file): Components, Subscriptions (dapr.io/v1alpha1 `route` and v2alpha1 `routes`)
// and Resiliency, each honouring its `scopes` (empty = every app). Programmatic subscriptions
// (GET /dapr/subscribe) are parsed here too, so both kinds get the same rules.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import type { Logger } from "#platform/logger.ts";
import type { AppChannel } from "./app-channel.ts";
import { CelSyntaxError, compileMatch, type CompiledMatch } from "./cel.ts";

export class ResourceError extends Error {}

export interface ComponentResource {
  name: string;
  type: string;
  version: string;
  /** Plain metadata values (numbers and booleans as strings). */
  metadata: Record<string, string>;
  /** Metadata read from a secret store: `secretKeyRef: { name, key }`. */
  secretRefs: Record<string, { name: string; key: string }>;
  /** `auth.secretStore`: the store `secretRefs` are read from. */
  secretStore: string | undefined;
  ignoreErrors: boolean;
  file: string;
}

export interface RouteRule {
  /** null = always matches (a v1 `route`, or the v2 `default`). */
  match: CompiledMatch | null;
  path: string;
}

export interface SubscriptionResource {
  pubsubname: string;
  topic: string;
  rules: RouteRule[];
  deadLetterTopic: string;
  metadata: Record<string, string>;
  rawPayload: boolean;
  type: "DECLARATIVE" | "PROGRAMMATIC";
  /** Where it came from, for messages: a file or "GET /dapr/subscribe". */
  origin: string;
}

export interface Resources {
  components: ComponentResource[];
  subscriptions: SubscriptionResource[];
  /** Raw `spec` of every Resiliency in scope (resiliency.ts interprets them). */
  resiliencies: { spec: unknown; origin: string }[];
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function inScope(doc: Obj, appId: string): boolean {
  const scopes = doc.scopes;
  return !Array.isArray(scopes) || scopes.length === 0 || scopes.map(String).includes(appId);
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(value)) for (const [key, inner] of Object.entries(value)) out[key] = String(inner);
  return out;
}

/** strconv.ParseBool, which Dapr uses for `rawPayload`. */
export function parseBool(value: string): boolean | null {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  return null;
}

function parseComponent(doc: Obj, file: string): ComponentResource {
  const name = isObject(doc.metadata) ? doc.metadata.name : undefined;
  const spec = isObject(doc.spec) ? doc.spec : {};
  if (typeof name !== "string" || !name) throw new ResourceError(`${file}: a Component needs metadata.name`);
  if (typeof spec.type !== "string" || !spec.type) {
    throw new ResourceError(`${file}: Component "${name}" needs spec.type`);
  }
  const metadata: Record<string, string> = {};
  const secretRefs: Record<string, { name: string; key: string }> = {};
  for (const item of Array.isArray(spec.metadata) ? spec.metadata : []) {
    if (!isObject(item) || typeof item.name !== "string") {
      throw new ResourceError(`${file}: Component "${name}" has a metadata item without a name`);
    }
    if (isObject(item.secretKeyRef)) {
      const refName = String(item.secretKeyRef.name ?? "");
      if (!refName) throw new ResourceError(`${file}: ${name}.${item.name}: secretKeyRef needs a name`);
      secretRefs[item.name] = { name: refName, key: String(item.secretKeyRef.key ?? refName) };
    } else {
      metadata[item.name] = item.value === undefined || item.value === null ? "" : String(item.value);
    }
  }
  const auth = isObject(doc.auth) ? doc.auth : {};
  return {
    name,
    type: spec.type,
    version: typeof spec.version === "string" ? spec.version : "v1",
    metadata,
    secretRefs,
    secretStore: typeof auth.secretStore === "string" ? auth.secretStore : undefined,
    ignoreErrors: spec.ignoreErrors === true || spec.ignoreErrors === "true",
    file,
  };
}

function compileRule(match: unknown, routePath: string, origin: string): RouteRule {
  if (match === undefined || match === null || match === "") return { match: null, path: routePath };
  if (typeof match !== "string")
    throw new ResourceError(`${origin}: a routing rule's match must be a string`);
  try {
    return { match: compileMatch(match), path: routePath };
  } catch (error) {
    if (error instanceof CelSyntaxError) throw new ResourceError(`${origin}: ${error.message}`);
    throw error;
  }
}

/**
 * One subscription in either shape (`route` v1, `routes` v2; both may appear, `routes.default`
 * wins over `route`). Returns null for an entry with no route at all (daprd drops it with a
 * warning); throws ResourceError for a routing expression we cannot evaluate.
 */
export function parseSubscription(
  item: Obj,
  type: SubscriptionResource["type"],
  origin: string,
): SubscriptionResource | null {
  const pubsubname = item.pubsubname ?? item.pubsubName;
  if (typeof pubsubname !== "string" || !pubsubname)
    throw new ResourceError(`${origin}: pubsubname is required`);
  if (typeof item.topic !== "string" || !item.topic) throw new ResourceError(`${origin}: topic is required`);
  if (
    isObject(item.bulkSubscribe) &&
    (item.bulkSubscribe.enabled === true || item.bulkSubscribe.enabled === "true")
  ) {
    // daprd would deliver bulk envelopes; delivering single messages instead would hide a mismatch.
    throw new ResourceError(`${origin}: bulkSubscribe is not supported by the local sidecar`);
  }
  const rules: RouteRule[] = [];
  const routes = isObject(item.routes) ? item.routes : {};
  for (const rule of Array.isArray(routes.rules) ? routes.rules : []) {
    if (!isObject(rule) || typeof rule.path !== "string" || !rule.path) {
      throw new ResourceError(`${origin}: every routes.rules entry needs a path`);
    }
    rules.push(compileRule(rule.match, rule.path, origin));
  }
  const fallback =
    typeof routes.default === "string" && routes.default
      ? routes.default
      : typeof item.route === "string" && item.route
        ? item.route
        : undefined;
  if (fallback) rules.push({ match: null, path: fallback });
  if (rules.length === 0) return null;
  const metadata = stringMap(item.metadata);
  const raw = metadata.rawPayload === undefined ? false : parseBool(metadata.rawPayload);
  if (raw === null) throw new ResourceError(`${origin}: metadata.rawPayload must be a boolean`);
  const deadLetterTopic = item.deadLetterTopic ?? item.deadlettertopic;
  return {
    pubsubname,
    topic: item.topic,
    rules,
    deadLetterTopic: typeof deadLetterTopic === "string" ? deadLetterTopic : "",
    metadata,
    rawPayload: raw,
    type,
    origin,
  };
}

/** The body of `GET /dapr/subscribe`: a JSON array of subscriptions. */
export function parseProgrammaticSubscriptions(body: unknown): {
  subscriptions: SubscriptionResource[];
  warnings: string[];
} {
  if (!Array.isArray(body)) throw new ResourceError("GET /dapr/subscribe must answer a JSON array");
  const subscriptions: SubscriptionResource[] = [];
  const warnings: string[] = [];
  body.forEach((item, index) => {
    const origin = `GET /dapr/subscribe [${index}]`;
    if (!isObject(item)) throw new ResourceError(`${origin}: not an object`);
    const parsed = parseSubscription(item, "PROGRAMMATIC", origin);
    if (parsed) subscriptions.push(parsed);
    else warnings.push(`${origin}: topic "${String(item.topic)}" has no route; ignored`);
  });
  return { subscriptions, warnings };
}

/**
 * Asks the app for its programmatic subscriptions, as daprd does once the app port answers: a 404
 * means none, another status or no answer at all is logged and means none (after daprd's
 * DaprBuiltInInitializationRetries: 3 tries, exponential from 500 ms); a body that is not a valid
 * subscription list fails the app channel (ResourceError).
 */
export async function fetchProgrammaticSubscriptions(
  channel: AppChannel,
  log: Logger,
): Promise<SubscriptionResource[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await channel.call({ method: "GET", path: "/dapr/subscribe", timeoutMs: 10_000 });
      if (response.status === 200) {
        const parsed = parseProgrammaticSubscriptions(JSON.parse(response.body.toString("utf8") || "null"));
        for (const warning of parsed.warnings) log.warn(warning);
        return parsed.subscriptions;
      }
      if (response.status === 404) {
        log.debug("the app has no programmatic subscriptions (GET /dapr/subscribe answered 404)");
      } else {
        log.error("GET /dapr/subscribe failed; no programmatic subscriptions", { status: response.status });
      }
      return [];
    } catch (error) {
      if (error instanceof ResourceError) throw error;
      if (error instanceof SyntaxError)
        throw new ResourceError(`GET /dapr/subscribe did not answer JSON: ${error.message}`);
      if (attempt >= 2) {
        log.error("GET /dapr/subscribe unreachable; no programmatic subscriptions", { err: error });
        return [];
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}

/** The declarative subscriptions whose pub/sub is loaded; the others are logged and ignored. */
export function declarativeSubscriptions(
  subscriptions: SubscriptionResource[],
  pubsubs: ReadonlyMap<string, ComponentResource>,
  log: Logger,
): SubscriptionResource[] {
  for (const s of subscriptions) {
    if (!pubsubs.has(s.pubsubname)) {
      log.warn("declarative subscription names an unknown pubsub; ignored", {
        origin: s.origin,
        pubsub: s.pubsubname,
      });
    }
  }
  return subscriptions.filter((s) => pubsubs.has(s.pubsubname));
}

/**
 * The declarative subscriptions, then the programmatic ones that name a known pub/sub and a topic
 * no declarative subscription of that pub/sub takes (those win, as in daprd).
 */
export function mergeSubscriptions(
  declarative: SubscriptionResource[],
  programmatic: SubscriptionResource[],
  pubsubs: ReadonlyMap<string, ComponentResource>,
  log: Logger,
): SubscriptionResource[] {
  const merged = [...declarative];
  for (const s of programmatic) {
    if (!pubsubs.has(s.pubsubname)) {
      log.warn("subscription names an unknown pubsub; ignored", { pubsub: s.pubsubname, topic: s.topic });
    } else if (merged.some((d) => d.pubsubname === s.pubsubname && d.topic === s.topic)) {
      log.warn("a declarative subscription to this topic takes precedence; programmatic one ignored", {
        pubsub: s.pubsubname,
        topic: s.topic,
      });
    } else merged.push(s);
  }
  return merged;
}

async function resourceFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const entry of paths) {
    let info;
    try {
      info = await stat(entry);
    } catch {
      throw new ResourceError(`resources path "${entry}" does not exist`);
    }
    if (info.isFile()) {
      files.push(entry);
      continue;
    }
    const names = (await readdir(entry)).filter((n) => /\.ya?ml$/i.test(n)).sort();
    files.push(...names.map((n) => path.join(entry, n)));
  }
  return files;
}

export async function loadResources(paths: string[], appId: string): Promise<Resources> {
  const resources: Resources = { components: [], subscriptions: [], resiliencies: [] };
  for (const file of await resourceFiles(paths)) {
    const documents = parseAllDocuments(await readFile(file, "utf8"));
    if (!Array.isArray(documents)) continue;
    for (const document of documents) {
      if (document.errors.length > 0) {
        throw new ResourceError(`${file}: invalid YAML: ${document.errors[0]!.message}`);
      }
      const doc: unknown = document.toJS();
      if (!isObject(doc) || !inScope(doc, appId)) continue;
      const name = isObject(doc.metadata) ? String(doc.metadata.name ?? "") : "";
      const origin = `${file} (${String(doc.kind)} ${name})`;
      if (doc.kind === "Component") {
        const component = parseComponent(doc, file);
        if (resources.components.some((c) => c.name === component.name)) {
          throw new ResourceError(`${file}: a component named "${component.name}" is already loaded`);
        }
        resources.components.push(component);
      } else if (doc.kind === "Subscription") {
        const spec = isObject(doc.spec) ? doc.spec : {};
        const subscription = parseSubscription(spec, "DECLARATIVE", origin);
        if (!subscription) throw new ResourceError(`${origin}: needs spec.route or spec.routes`);
        resources.subscriptions.push(subscription);
      } else if (doc.kind === "Resiliency") {
        resources.resiliencies.push({ spec: doc.spec, origin });
      }
    }
  }
  return resources;
}
