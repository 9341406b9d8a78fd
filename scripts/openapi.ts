// Generates the OpenAPI 3.1 documents from the functions' routes and zod schemas:
// docs/openapi/<function>.json (what each function serves at GET /openapi.json) and the combined
// docs/openapi.json. `npx tsx scripts/openapi.ts` rewrites them; tests/docs/api-docs.int.test.ts fails
// when the committed files are stale.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "#db/migrate.ts";
import { combinedOpenApiDocument, openApiDocument } from "#platform/openapi.ts";
import { loadFunctionApis } from "./api-functions.ts";

export const OPENAPI_DOC = path.join(REPO_ROOT, "docs/openapi.json");
export const OPENAPI_DIR = path.join(REPO_ROOT, "docs/openapi");

/** File path → content of every generated OpenAPI document. */
export async function renderOpenApiDocs(): Promise<Map<string, string>> {
  const functions = (await loadFunctionApis()).filter((fn) => fn.routes.length > 0);
  const files = new Map<string, string>();
  for (const fn of functions)
    files.set(path.join(OPENAPI_DIR, `${fn.name}.json`), toJson(openApiDocument(fn.name, fn.routes)));
  files.set(OPENAPI_DOC, toJson(combinedOpenApiDocument(functions)));
  return files;
}

export function toJson(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(OPENAPI_DIR, { recursive: true });
  for (const [file, content] of await renderOpenApiDocs()) {
    writeFileSync(file, content);
    console.log(`wrote ${path.relative(REPO_ROOT, file)}`);
  }
}
