// The OpenAPI and AsyncAPI documents under docs/ are generated from the code (scripts/openapi.ts,
// scripts/asyncapi.ts): they must be current, well-formed, and served by each function as committed.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { expect, test } from "vitest";
import { routes as queryRoutes } from "../../functions/query-tasks/handler.ts";
import { routes as mcpRoutes } from "../../functions/mcp/handler.ts";
import { ASYNCAPI_DOC, renderAsyncApiDoc } from "../../scripts/asyncapi.ts";
import { OPENAPI_DIR, OPENAPI_DOC, renderOpenApiDocs } from "../../scripts/openapi.ts";
import { api, startFunction, type AnyJson } from "#testing/fixtures.ts";

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const read = (file: string): AnyJson => JSON.parse(readFileSync(file, "utf8"));

/** Every `$ref` in `node` with the JSON path where it sits. */
function refs(node: unknown, at = "#"): [string, string][] {
  if (Array.isArray(node)) return node.flatMap((item, i) => refs(item, `${at}/${i}`));
  if (!node || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === "$ref" && typeof value === "string"
      ? [[at, value] as [string, string]]
      : refs(value, `${at}/${key}`),
  );
}

/** Resolves a local JSON Pointer reference (`#/a/b~1c`), or undefined. */
function resolve(document: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  return ref
    .slice(2)
    .split("/")
    .map((part) => decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce<unknown>(
      (node, key) => (node && typeof node === "object" ? (node as AnyJson)[key] : undefined),
      document,
    );
}

function expectRefsResolve(name: string, document: unknown): void {
  const all = refs(document);
  expect(all.length, name).toBeGreaterThan(0);
  for (const [at, ref] of all) expect(resolve(document, ref), `${name}: ${ref} at ${at}`).toBeDefined();
}

test("docs/openapi.json and docs/openapi/*.json are what the routes generate (run `npx tsx scripts/openapi.ts`)", async () => {
  const generated = await renderOpenApiDocs();
  for (const [file, content] of generated) expect(readFileSync(file, "utf8"), file).toBe(content);
  const committed = readdirSync(OPENAPI_DIR).map((f) => path.join(OPENAPI_DIR, f));
  expect(committed.sort()).toEqual([...generated.keys()].filter((f) => f !== OPENAPI_DOC).sort());
});

test("docs/asyncapi.json is what the event catalog generates (run `npx tsx scripts/asyncapi.ts`)", async () => {
  expect(readFileSync(ASYNCAPI_DOC, "utf8")).toBe(await renderAsyncApiDoc());
});

test("every OpenAPI document is structurally valid 3.1 and its $refs resolve", async () => {
  const files = [...(await renderOpenApiDocs()).keys()];
  const ajv = new Ajv2020({ strict: false });
  addFormats.default(ajv);
  for (const file of files) {
    const doc = read(file);
    const name = path.relative(path.dirname(OPENAPI_DOC), file);
    expect(doc.openapi, name).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title, name).toEqual(expect.any(String));
    expect(doc.info.version, name).toEqual(expect.any(String));
    expect(Object.keys(doc.paths).length, name).toBeGreaterThan(0);
    const operationIds = new Set<string>();
    for (const [p, item] of Object.entries<AnyJson>(doc.paths)) {
      expect(p, name).toMatch(/^\//);
      expect(p, `${name}: Express-style parameter left in ${p}`).not.toMatch(/:/);
      const operations = Object.entries<AnyJson>(item).filter(([m]) => HTTP_METHODS.includes(m));
      expect(operations.length, `${name} ${p}`).toBeGreaterThan(0);
      for (const [method, op] of operations) {
        const where = `${name} ${method.toUpperCase()} ${p}`;
        expect(operationIds.has(op.operationId), `${where}: duplicate operationId`).toBe(false);
        operationIds.add(op.operationId);
        expect(Object.keys(op.responses).length, where).toBeGreaterThan(0);
        for (const [status, response] of Object.entries<AnyJson>(op.responses)) {
          expect(status, where).toMatch(/^[1-5]\d\d$/);
          expect(response.description, where).toEqual(expect.any(String));
        }
        // Every templated segment is a required path parameter, and every path parameter is in the template.
        const template = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        const declared = (op.parameters ?? []).filter((x: AnyJson) => x.in === "path");
        expect(declared.map((x: AnyJson) => x.name).sort(), where).toEqual(template.sort());
        for (const parameter of op.parameters ?? []) {
          expect(["path", "query", "header", "cookie"], where).toContain(parameter.in);
          if (parameter.in === "path") expect(parameter.required, where).toBe(true);
        }
        for (const security of op.security ?? [])
          for (const scheme of Object.keys(security))
            expect(doc.components.securitySchemes[scheme], `${where}: ${scheme}`).toBeDefined();
      }
    }
    expectRefsResolve(name, doc);
    // Every schema in the document is a JSON Schema 2020-12 Ajv can compile.
    ajv.removeSchema();
    ajv.addSchema({ ...doc, $id: "https://orbit.invalid/openapi.json" });
    for (const schema of Object.keys(doc.components.schemas))
      expect(
        ajv.getSchema(`https://orbit.invalid/openapi.json#/components/schemas/${schema}`),
        schema,
      ).toBeTypeOf("function");
  }
});

test("the AsyncAPI document is structurally valid 3.0, its $refs resolve and its examples match their payload schemas", async () => {
  const doc = read(ASYNCAPI_DOC);
  expect(doc.asyncapi).toBe("3.0.0");
  expect(doc.info.title).toEqual(expect.any(String));
  expect(doc.info.version).toEqual(expect.any(String));
  for (const [id, channel] of Object.entries<AnyJson>(doc.channels)) {
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(channel.address, id).toBe(id);
    expect(Object.keys(channel.messages).length, id).toBeGreaterThan(0);
  }
  expect(Object.keys(doc.channels)).toEqual(
    expect.arrayContaining(["task-events", "task-events-dlq", "task-updates", "reminders", "reminders-dlq"]),
  );
  for (const [id, operation] of Object.entries<AnyJson>(doc.operations)) {
    expect(["send", "receive"], id).toContain(operation.action);
    const channelRef: string = operation.channel.$ref;
    expect(channelRef, id).toMatch(/^#\/channels\/[^/]+$/);
    // An operation's messages must be messages of its own channel (AsyncAPI 3 §Operation Object).
    for (const message of operation.messages)
      expect(message.$ref.startsWith(`${channelRef}/messages/`), id).toBe(true);
  }
  expectRefsResolve("asyncapi", doc);

  const ajv = new Ajv2020({ strict: false });
  addFormats.default(ajv);
  ajv.addSchema({ ...doc, $id: "https://orbit.invalid/asyncapi.json" });
  let examples = 0;
  for (const [id, message] of Object.entries<AnyJson>(doc.components.messages)) {
    expect(message.headers.allOf[1].properties.type.const, id).toBe(id);
    const validate = ajv.getSchema(`https://orbit.invalid/asyncapi.json${message.payload.$ref}`)!;
    for (const example of message.examples) {
      examples += 1;
      expect(validate(example.payload), `${id}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  }
  expect(examples).toBe(3);
});

test("a function serves at GET /openapi.json exactly its committed document", async () => {
  for (const [name, routes] of [
    ["query-tasks", queryRoutes],
    ["mcp", mcpRoutes],
  ] as const) {
    const fn = await startFunction({ name, routes });
    try {
      const response = await api(fn.url, "GET", "/openapi.json");
      expect(response.status, name).toBe(200);
      expect(response.headers.get("content-type"), name).toMatch(/^application\/json/);
      expect(response.body, name).toEqual(read(path.join(OPENAPI_DIR, `${name}.json`)));
    } finally {
      await fn.close();
    }
  }
});
