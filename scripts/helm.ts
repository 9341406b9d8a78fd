// The Helm chart (charts/orbit) beside the kustomize overlays: the pinned helm binary (`make helm`
// builds it from the helm.sh/helm/v4 module into tools/helm/bin), rendering values files as
// `make deploy TOOL=helm` does, and comparing a chart render with the overlay it stands for
// (tests/manifests/helm-chart.helm.test.ts; docs/decisions/015).
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { isObj, type Obj } from "./manifest-checks.ts";
import { parseManifests, REPO_ROOT } from "./manifests.ts";

export const CHART_DIR = path.join(REPO_ROOT, "charts/orbit");
/** The release name in every namespace. */
export const RELEASE = "orbit";

export interface ChartRender {
  /** The kustomize render (scripts/manifests.ts RENDERS) these values reproduce. */
  overlay: string;
  /** Values files after values.yaml, relative to the chart. */
  values: string[];
  namespace: string;
  /** Whether the overlay holds its Namespace (the environments do; the option overlays deploy into
   * an existing `orbit`): the chart's `namespace.create`. */
  createsNamespace: boolean;
}

/** Every values file and the overlay it must render the same objects as. */
export const CHART_RENDERS: readonly ChartRender[] = [
  { overlay: "dapr-subscriptions", values: [], namespace: "orbit", createsNamespace: false },
  { overlay: "eventing", values: ["values-eventing.yaml"], namespace: "orbit", createsNamespace: false },
  {
    overlay: "staging",
    values: ["values-staging.yaml"],
    namespace: "orbit-staging",
    createsNamespace: true,
  },
  {
    overlay: "production",
    values: ["values-production.yaml"],
    namespace: "orbit-production",
    createsNamespace: true,
  },
];

/** tools/helm/bin/helm, which `make helm` builds; a clear error where it has not been built. */
export function helmBinary(): string {
  const binary = path.join(REPO_ROOT, "tools/helm/bin/helm");
  if (!existsSync(binary))
    throw new Error(`${binary} is missing: run \`make helm\` (builds helm from the pinned Go module)`);
  return binary;
}

/** The namespace a values file is for (`namespace.name`), as the chart checks it. */
export function valuesNamespace(valuesFile: string): string {
  const values = parse(readFileSync(path.resolve(CHART_DIR, valuesFile), "utf8")) as unknown;
  const name = isObj(values) && isObj(values.namespace) ? values.namespace.name : undefined;
  if (typeof name !== "string" || !name) throw new Error(`${valuesFile} sets no namespace.name`);
  return name;
}

export interface ValueOptions {
  /** Values files after values.yaml, relative to the chart (or absolute). */
  values: readonly string[];
  /** --set-string: taken as strings, so an all-digit image tag stays a string. */
  strings?: Readonly<Record<string, string>>;
  /** --set: typed values (booleans, numbers). */
  typed?: Readonly<Record<string, string>>;
}

/** The value arguments shared by `helm template`, `helm lint` and `helm upgrade`. */
export function valueArgs(options: ValueOptions): string[] {
  return [
    ...options.values.flatMap((file) => ["-f", path.resolve(CHART_DIR, file)]),
    ...Object.entries(options.strings ?? {}).flatMap(([key, value]) => ["--set-string", `${key}=${value}`]),
    ...Object.entries(options.typed ?? {}).flatMap(([key, value]) => ["--set", `${key}=${value}`]),
  ];
}

function helm(args: string[], binary = helmBinary()): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(binary, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      // helm logs the chart's links to knative/observability on stderr at INFO: not the problem.
      const problem = stderr
        .split("\n")
        .filter((line) => !line.includes('msg="found symbolic link in path'))
        .join("\n")
        .trim();
      reject(new Error(`helm ${args[0]} failed:\n${problem || String(error)}`));
    });
    child.stdin?.end();
  });
}

/** `helm template` of the chart into `namespace`. */
export function helmTemplate(
  options: ValueOptions & { namespace: string; chart?: string; binary?: string },
): Promise<string> {
  return helm(
    [
      "template",
      RELEASE,
      options.chart ?? CHART_DIR,
      "--namespace",
      options.namespace,
      ...valueArgs(options),
    ],
    options.binary,
  );
}

/** `helm lint --strict` of the chart with these values; the lint's report. */
export function helmLint(options: ValueOptions & { namespace: string }): Promise<string> {
  return helm(["lint", CHART_DIR, "--strict", "--namespace", options.namespace, ...valueArgs(options)]);
}

/** Renders one of CHART_RENDERS into objects (its Namespace object included where it has one). */
export async function renderChart(
  render: ChartRender,
  extra: Omit<ValueOptions, "values"> & { chart?: string } = {},
): Promise<Obj[]> {
  const text = await helmTemplate({
    ...extra,
    values: render.values,
    namespace: render.namespace,
    typed: { "namespace.create": String(render.createsNamespace), ...extra.typed },
  });
  const parsed = parseManifests(text, `chart ${render.overlay}`);
  if (parsed.problems.length > 0)
    throw new Error(parsed.problems.map((p) => `${p.object}: ${p.message}`).join("\n"));
  return parsed.manifests.map((m) => m.object);
}

// ── Comparing a chart render with an overlay render ──

const keyOf = (o: Obj) => {
  const meta = isObj(o.metadata) ? o.metadata : {};
  return `${String(o.apiVersion)} ${String(o.kind)} ${String(meta.namespace ?? "")}/${String(meta.name)}`;
};
const labelOf = (o: Obj) => `${String(o.kind)}/${String(isObj(o.metadata) ? o.metadata.name : "?")}`;

/**
 * The one normalisation before comparing: a Dapr resource's `scopes` is a set of app-ids (its
 * order means nothing to Dapr), and the chart lists apps alphabetically. Everything else, list
 * order included (env, component metadata), must match as rendered.
 */
function normalise(object: Obj): Obj {
  if (!String(object.apiVersion).startsWith("dapr.io/") || !Array.isArray(object.scopes)) return object;
  return { ...object, scopes: [...(object.scopes as unknown[])].map(String).sort() };
}

function pathOf(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return /^[A-Za-z_][\w-]*$/.test(key)
    ? parent
      ? `${parent}.${key}`
      : key
    : `${parent}[${JSON.stringify(key)}]`;
}

function diffValues(chart: unknown, overlay: unknown, at: string, out: string[]): void {
  if (isObj(chart) && isObj(overlay)) {
    for (const key of [...new Set([...Object.keys(chart), ...Object.keys(overlay)])].sort())
      diffValues(chart[key], overlay[key], pathOf(at, key), out);
    return;
  }
  if (Array.isArray(chart) && Array.isArray(overlay)) {
    for (let i = 0; i < Math.max(chart.length, overlay.length); i++)
      diffValues(chart[i], overlay[i], pathOf(at, i), out);
    return;
  }
  if (chart === undefined) out.push(`${at}: only in the overlay: ${JSON.stringify(overlay)}`);
  else if (overlay === undefined) out.push(`${at}: only in the chart: ${JSON.stringify(chart)}`);
  else if (JSON.stringify(chart) !== JSON.stringify(overlay))
    out.push(`${at}: chart ${JSON.stringify(chart)}, overlay ${JSON.stringify(overlay)}`);
}

/**
 * Every difference between two renders, one line each (`Kind/name: path: what`), sorted: objects
 * only one side has, then field by field (types count: "1" is not 1). Empty when they are equal.
 */
export function compareRenders(chart: readonly Obj[], overlay: readonly Obj[]): string[] {
  const byKey = (objects: readonly Obj[]) => new Map(objects.map((o) => [keyOf(o), normalise(o)]));
  const [fromChart, fromOverlay] = [byKey(chart), byKey(overlay)];
  const out: string[] = [];
  for (const key of [...new Set([...fromChart.keys(), ...fromOverlay.keys()])].sort()) {
    const [a, b] = [fromChart.get(key), fromOverlay.get(key)];
    if (!a) out.push(`${labelOf(b!)}: only in the overlay`);
    else if (!b) out.push(`${labelOf(a)}: only in the chart`);
    else {
      const fields: string[] = [];
      diffValues(a, b, "", fields);
      out.push(...fields.map((line) => `${labelOf(a)}: ${line}`));
    }
  }
  return out;
}

/** Objects per kind, for the closing note: `{ Service: 12, … }`. */
export function countKinds(objects: readonly Obj[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of objects) counts[String(o.kind)] = (counts[String(o.kind)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
