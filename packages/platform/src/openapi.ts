// OpenAPI 3.1 descriptions generated from a function's routes and their zod schemas: each function
// serves its own at `GET /openapi.json`, and scripts/openapi.ts writes them (and one combined
// document) under docs/. Nothing here is written by hand but prose, so the description cannot
// drift from the validation the host runs.
import { z } from "zod";
import type { AnyRouteDef, AuthRequirement, HttpMethod } from "./host.ts";

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description?: string };
  jsonSchemaDialect: string;
  servers: { url: string; description?: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, unknown>;
  };
}

export const API_VERSION = "1.0.0";

/** RFC 9457 problem details, as problems.ts builds them. */
const problemDetailsSchema = z.object({
  type: z
    .string()
    .describe("URI naming the kind of failure, e.g. https://orbit.invalid/problems/validation-error"),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional().describe("The request path."),
  errors: z
    .array(
      z.object({
        pointer: z.string().describe('JSON Pointer into the request, e.g. "/body/title"'),
        field: z.string().describe('Dotted field name, e.g. "reminders.0.offset_minutes"'),
        detail: z.string(),
      }),
    )
    .optional()
    .describe("Field errors of a 400 validation error."),
  current_version: z.number().int().optional().describe("On a 409 version conflict: the task's version."),
});

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request (field errors name each wrong field) or malformed JSON",
  401: "Missing, unknown, revoked or expired token",
  403: "Token lacks the scope (read-only token on a write) or operator routes are disabled",
  404: "No such resource (also for another user's)",
  409: "Version conflict (stale `version` or If-Match) or conflicting state",
  413: "Body larger than the limit",
  415: "Body is not application/json",
  429: "Rate limit of the token exceeded (see Retry-After)",
  503: "Database or Dapr sidecar unreachable (see Retry-After)",
};

/** Schemas emitted once under components.schemas and referenced by name. */
export const NAMED_SCHEMAS = z.registry<{ id: string }>();
NAMED_SCHEMAS.add(problemDetailsSchema, { id: "ProblemDetails" });

/**
 * Names a schema the API returns in many places (the package that owns it calls this where it
 * defines its wire form, e.g. packages/tasks/src/records.ts names the Task), so every description
 * refers to one `components.schemas` entry instead of repeating it.
 */
export function nameSchema(schema: z.ZodType, id: string): void {
  if (!NAMED_SCHEMAS.has(schema)) NAMED_SCHEMAS.add(schema, { id });
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!value || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === "$ref" && typeof inner === "string"
        ? inner.replace(/^#\/\$defs\//, "#/components/schemas/")
        : rewriteRefs(inner),
    ]),
  );
}

/**
 * zod → JSON Schema 2020-12 (OpenAPI 3.1's and AsyncAPI 3's dialect), with named schemas moved
 * into `components.schemas` (both formats keep them there) instead of each schema's own `$defs`.
 */
export class SchemaCollector {
  readonly schemas: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: "input" | "output"): JsonSchema {
    const {
      $schema: _dialect,
      $defs,
      ...rest
    } = z.toJSONSchema(schema, {
      metadata: NAMED_SCHEMAS,
      io,
      unrepresentable: "any",
      target: "draft-2020-12",
    }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    for (const [id, definition] of Object.entries($defs ?? {})) {
      const rewritten = rewriteRefs(definition) as JsonSchema;
      const known = this.schemas[id];
      if (known && JSON.stringify(known) !== JSON.stringify(rewritten))
        throw new Error(`schema ${id} converts differently in two places (input vs output?)`);
      this.schemas[id] = rewritten;
    }
    return rewriteRefs(rest) as JsonSchema;
  }
}

/** `/v1/tasks/:id` → `/v1/tasks/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

/** `GET /v1/tasks/:id/activity` → `getV1TasksIdActivity`: unique per method and path. */
function operationId(method: HttpMethod, path: string): string {
  const words = path
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1));
  return method.toLowerCase() + words.join("");
}

function parameters(
  schemas: SchemaCollector,
  schema: z.ZodType | undefined,
  location: "path" | "query",
): unknown[] {
  if (!schema) return [];
  const object = schemas.convert(schema, "input");
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: location,
      required: location === "path" || required.has(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

function errorStatuses(route: AnyRouteDef): number[] {
  const statuses = new Set<number>([400, 503]);
  if (route.auth !== "none") statuses.add(401).add(403).add(429);
  if (route.auth === "admin") statuses.delete(429);
  if (/:\w+/.test(route.path)) statuses.add(404);
  // Changing a named resource can meet a stale version or a state that forbids it.
  if (/:\w+/.test(route.path) && route.method !== "GET") statuses.add(409);
  if (route.body) statuses.add(413).add(415);
  return [...statuses].sort((a, b) => a - b);
}

function security(auth: AuthRequirement): Record<string, string[]>[] {
  if (auth === "none") return [];
  if (auth === "admin") return [{ adminToken: [] }];
  return [{ apiToken: [] }];
}

const AUTH_NOTES: Record<AuthRequirement, string> = {
  none: "No authentication.",
  read: "Any API token (scope read or read_write).",
  write: "An API token with scope read_write.",
  admin: "The operator's ADMIN_TOKEN.",
};

function successStatus(route: AnyRouteDef): number {
  if ("kind" in route) return 200;
  if (route.method === "POST" && !/:\w+/.test(route.path)) return 201;
  if (route.method === "DELETE") return 204;
  return 200;
}

function operation(schemas: SchemaCollector, route: AnyRouteDef): Record<string, unknown> {
  const raw = "kind" in route;
  const status = successStatus(route);
  const response = raw ? undefined : route.response;
  const success: Record<string, unknown> = {
    description: status === 204 ? "Done; no body" : (route.summary ?? "Success"),
    ...(status === 204
      ? {}
      : {
          content: {
            "application/json": { schema: response ? schemas.convert(response, "output") : {} },
          },
        }),
  };
  const responses: Record<string, unknown> = { [String(status)]: success };
  for (const code of errorStatuses(route))
    responses[String(code)] = {
      description: PROBLEM_DESCRIPTIONS[code],
      content: { "application/problem+json": { schema: { $ref: "#/components/schemas/ProblemDetails" } } },
    };
  const params = raw
    ? []
    : [...parameters(schemas, route.params, "path"), ...parameters(schemas, route.query, "query")];
  // A path parameter the route declares without a schema still has to be described.
  for (const [, name] of route.path.matchAll(/:([A-Za-z0-9_]+)/g))
    if (!params.some((p) => (p as { name: string; in: string }).name === name))
      params.unshift({ name, in: "path", required: true, schema: { type: "string" } });
  return {
    operationId: operationId(route.method, route.path),
    summary: route.summary ?? `${route.method} ${route.path}`,
    description: AUTH_NOTES[route.auth],
    security: security(route.auth),
    ...(params.length ? { parameters: params } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: schemas.convert(route.body, "input") } },
          },
        }
      : {}),
    responses,
  };
}

function emptyDocument(schemas: SchemaCollector, title: string, description: string): OpenApiDocument {
  schemas.convert(problemDetailsSchema, "output");
  return {
    openapi: "3.1.0",
    info: { title, version: API_VERSION, description },
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    servers: [{ url: "/", description: "The function itself, or the gateway in front of all functions" }],
    paths: {},
    components: {
      // The collector's object: filled as routes are added.
      schemas: schemas.schemas,
      securitySchemes: {
        apiToken: {
          type: "http",
          scheme: "bearer",
          description: "A user's API token (Settings → API tokens); scope read or read_write.",
        },
        adminToken: { type: "http", scheme: "bearer", description: "The operator's ADMIN_TOKEN." },
      },
    },
  };
}

function addRoutes(
  schemas: SchemaCollector,
  document: OpenApiDocument,
  routes: readonly AnyRouteDef[],
  tag?: string,
): void {
  for (const route of routes) {
    const path = openApiPath(route.path);
    const item = (document.paths[path] ??= {});
    const method = route.method.toLowerCase();
    if (item[method]) throw new Error(`two routes for ${route.method} ${route.path}`);
    item[method] = { ...(tag ? { tags: [tag] } : {}), ...operation(schemas, route) };
  }
}

/** Named schemas in name order, so the generated file does not depend on route order. */
function sortSchemas(document: OpenApiDocument): OpenApiDocument {
  const sorted = Object.fromEntries(
    Object.entries(document.components.schemas).sort(([a], [b]) => a.localeCompare(b)),
  );
  return { ...document, components: { ...document.components, schemas: sorted } };
}

/** The OpenAPI document of one function. */
export function openApiDocument(name: string, routes: readonly AnyRouteDef[]): OpenApiDocument {
  const schemas = new SchemaCollector();
  const document = emptyDocument(schemas, `Orbit: ${name}`, `The HTTP API of the \`${name}\` function.`);
  addRoutes(schemas, document, routes);
  return sortSchemas(document);
}

/** One document for every function's routes, each operation tagged with its function. */
export function combinedOpenApiDocument(functions: { name: string; routes: readonly AnyRouteDef[] }[]) {
  const schemas = new SchemaCollector();
  const document = emptyDocument(
    schemas,
    "Orbit API",
    "Every function's HTTP API in one document; each operation is tagged with the function serving it.",
  );
  for (const fn of functions) addRoutes(schemas, document, fn.routes, fn.name);
  return { ...sortSchemas(document), tags: functions.map((fn) => ({ name: fn.name })) };
}
