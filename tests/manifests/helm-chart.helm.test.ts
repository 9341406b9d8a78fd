// The Helm chart (charts/orbit) proven against the kustomize overlays with the real helm (built by
// `make helm` from its pinned Go module): `helm lint`, every values file rendered and validated as
// `make manifests` validates the overlays (published schemas, zod schemas, the Knative + Dapr
// rules), and each render equal, object by object and field by field, to the overlay it stands
// for, but for INTENDED_DIFFERENCES. Then the other way round: a template that drifts, and values
// that break a rule, are caught.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { get, type Obj } from "../../scripts/manifest-checks.ts";
import {
  CHART_DIR,
  CHART_RENDERS,
  compareRenders,
  helmLint,
  helmTemplate,
  renderChart,
  type ChartRender,
} from "../../scripts/helm.ts";
import {
  formatProblem,
  functionNames,
  kustomizeBuild,
  loadSubscriptions,
  parseManifests,
  RENDERS,
  SchemaRegistry,
  validateRender,
} from "../../scripts/manifests.ts";

/**
 * What the chart renders differently from the overlays, on purpose (docs/deployment.md lists
 * them too). The comparison must give exactly this: one more difference, or one fewer, fails.
 */
const INTENDED_DIFFERENCES = [
  // The migration is a Helm hook: run to completion before anything of the release is applied
  // (the kustomize path does that itself, in scripts/deploy.ts), replaced at each release.
  'Job/orbit-migrate: metadata.annotations: only in the chart: {"helm.sh/hook":"pre-install,pre-upgrade","helm.sh/hook-delete-policy":"before-hook-creation"}',
];

const registry = new SchemaRegistry();
const overlays = new Map<string, Obj[]>();
const charts = new Map<string, Obj[]>();
const scratch = mkdtempSync(path.join(os.tmpdir(), "orbit-chart-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const specOf = (render: ChartRender) => RENDERS.find((r) => r.name === render.overlay)!;
const production = CHART_RENDERS.find((r) => r.overlay === "production")!;
const eventing = CHART_RENDERS.find((r) => r.overlay === "eventing")!;

function problemsOf(objects: Obj[], render: ChartRender): string[] {
  const manifests = objects.map((object) => ({ source: `chart ${render.overlay}`, object }));
  return validateRender(manifests, registry, {
    ...specOf(render),
    functions: functionNames(),
    subscriptions: loadSubscriptions(),
  }).map(formatProblem);
}

const objectsOf = (text: string) => parseManifests(text, "chart").manifests.map((m) => m.object);
const named = (objects: Obj[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && get(o, "metadata", "name") === name);

beforeAll(async () => {
  await Promise.all(
    CHART_RENDERS.map(async (render) => {
      const [chart, overlay] = await Promise.all([renderChart(render), kustomizeBuild(specOf(render).dir)]);
      charts.set(render.overlay, chart);
      overlays.set(render.overlay, objectsOf(overlay));
    }),
  );
}, 120_000);

test("every values file is paired with an overlay, and every deployable overlay with a values file", () => {
  expect(CHART_RENDERS.map((r) => r.overlay).sort()).toEqual(
    RENDERS.filter((r) => r.deployable)
      .map((r) => r.name)
      .sort(),
  );
});

test.each(CHART_RENDERS)("helm lint --strict passes with the values of $overlay", async (render) => {
  const report = await helmLint(render);
  expect(report).toContain("1 chart(s) linted, 0 chart(s) failed");
  expect(report).not.toMatch(/\[(WARNING|ERROR)\]/);
});

test.each(CHART_RENDERS)(
  "every object the values of $overlay render validates like the overlays do",
  (render) => {
    const objects = charts.get(render.overlay)!;
    expect(objects.length).toBeGreaterThan(20);
    expect(problemsOf(objects, render)).toEqual([]);
  },
);

test.each(CHART_RENDERS)(
  "the chart with the values of $overlay renders the overlay's objects, but for the intended differences",
  (render) => {
    expect(compareRenders(charts.get(render.overlay)!, overlays.get(render.overlay)!)).toEqual(
      INTENDED_DIFFERENCES,
    );
  },
);

test("a template that drifts from the overlays fails the comparison, naming each object and field", async () => {
  // A copy of the chart (its links to knative/observability followed) with two edits: the
  // sidecar's graceful shutdown in the shared helper, and the dead-letter topics dropped.
  const chart = path.join(scratch, "drifted");
  cpSync(CHART_DIR, chart, { recursive: true, dereference: true });
  const edit = (file: string, from: string, to: string) => {
    const text = readFileSync(path.join(chart, file), "utf8");
    expect(text).toContain(from);
    writeFileSync(path.join(chart, file), text.replace(from, to));
  };
  edit(
    "templates/_helpers.tpl",
    'dapr.io/graceful-shutdown-seconds: "20"',
    'dapr.io/graceful-shutdown-seconds: "30"',
  );
  edit("templates/kafka-topics.yaml", '(printf "%s-dlq" $topic)', "");
  const drifted = await renderChart(production, { chart });
  const differences = compareRenders(drifted, overlays.get("production")!);
  expect(differences).toContain(
    'Service/create-task: spec.template.metadata.annotations["dapr.io/graceful-shutdown-seconds"]: chart "30", overlay "20"',
  );
  expect(differences).toContain("KafkaTopic/reminders-dlq: only in the overlay");
  expect(differences).toHaveLength(INTENDED_DIFFERENCES.length + 13 + 3);
  // The drifted render is still valid: only the comparison tells it from the overlay.
  expect(problemsOf(drifted, production).filter((p) => !p.includes("-dlq"))).toEqual([]);
});

test("the comparison tells types, list order and a missing field apart", () => {
  const overlay = overlays.get("production")!;
  const change = (mutate: (copy: Obj[]) => void) => {
    const copy = structuredClone(overlay);
    mutate(copy);
    return compareRenders(copy, overlay);
  };
  const web = (objects: Obj[]) => named(objects, "Service", "web")!;
  const container = (objects: Obj[]) => get(web(objects), "spec", "template", "spec", "containers", 0) as Obj;
  expect(
    change((copy) => {
      (container(copy).ports as Obj[])[0]!.containerPort = "8080";
    }),
  ).toEqual([
    'Service/web: spec.template.spec.containers[0].ports[0].containerPort: chart "8080", overlay 8080',
  ]);
  expect(
    change((copy) => {
      (container(copy).env as Obj[]).reverse();
    }),
  ).toContain(
    'Service/web: spec.template.spec.containers[0].env[0].name: chart "APP_API_TOKEN", overlay "NODE_ENV"',
  );
  expect(
    change((copy) => {
      delete (container(copy).securityContext as Obj).readOnlyRootFilesystem;
    }),
  ).toEqual([
    "Service/web: spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem: only in the overlay: true",
  ]);
  // A Dapr resource's scopes are a set: their order is the one thing normalised away.
  expect(
    change((copy) => {
      (named(copy, "Resiliency", "orbit")!.scopes as string[]).reverse();
    }),
  ).toEqual([]);
});

test("values that break a Knative + Dapr rule are refused, as a broken overlay is", async () => {
  const objects = await renderChart(production, {
    typed: { "apps.on-reminder-fired.scale.min": "0", "scaling.consumer.min": "0" },
  });
  const problems = problemsOf(objects, production);
  expect(problems).toContain(
    "chart production: Service/on-reminder-fired: owns Dapr Jobs, which fire only into a running sidecar: min-scale must be at least 1",
  );
  expect(problems).toContain(
    "chart production: Service/audit-log: subscribes through Dapr but may scale to zero: nothing wakes it for its events (min-scale must be ≥ 1)",
  );
});

test("values for one namespace refuse another, and a misspelt value is refused by the chart's schema", async () => {
  await expect(helmTemplate({ values: production.values, namespace: "orbit-staging" })).rejects.toThrow(
    /these values are for namespace "orbit-production", but the release is in "orbit-staging"/,
  );
  await expect(
    helmTemplate({ values: [], namespace: "orbit", typed: { "scailng.http.max": "3" } }),
  ).rejects.toThrow(/additional properties 'scailng' not allowed/);
});

test("a release's values: every image at the release, an app left out, per-app scale", async () => {
  const objects = await renderChart(production, {
    strings: { "image.registry": "ghcr.io/acme", "image.tag": "0123456" },
    typed: {
      "apps.web.enabled": "false",
      "apps.mcp.scale.max": "7",
      "apps.mcp.scale.containerConcurrency": "25",
    },
  });
  const images = objects.flatMap((o) =>
    ((get(o, "spec", "template", "spec", "containers") as Obj[] | undefined) ?? []).map((c) => c.image),
  );
  expect(images).toHaveLength(functionNames().length + 1);
  for (const image of images) expect(image).toMatch(/^ghcr\.io\/acme\/orbit-[a-z-]+:0123456$/);
  expect(images).toContain("ghcr.io/acme/orbit-migrate:0123456");
  expect(named(objects, "Service", "web")).toBeUndefined();
  // web stays in the scopes (it may come back in a later release): still a valid render.
  expect(named(objects, "Component", "pubsub")!.scopes).toContain("web");
  const mcp = named(objects, "Service", "mcp")!;
  expect(get(mcp, "spec", "template", "metadata", "annotations", "autoscaling.knative.dev/max-scale")).toBe(
    "7",
  );
  expect(get(mcp, "spec", "template", "spec", "containerConcurrency")).toBe(25);
  expect(problemsOf(objects, production)).toEqual([]);
});

test("Kafka without SASL or TLS, in both delivery modes", async () => {
  const typed = { "kafka.sasl.enabled": "false", "kafka.tls.enabled": "false" };
  const objects = await renderChart(eventing, { typed });
  const metadata = Object.fromEntries(
    (get(named(objects, "Component", "pubsub"), "spec", "metadata") as Obj[]).map((m) => [m.name, m]),
  );
  expect(metadata.authType).toEqual({ name: "authType", value: "none" });
  expect(metadata.disableTls).toEqual({ name: "disableTls", value: "true" });
  expect(Object.keys(metadata)).not.toContain("saslPassword");
  expect(Object.keys(metadata)).not.toContain("caCert");
  const source = named(objects, "KafkaSource", "audit-log-task-events")!;
  expect(get(source, "spec", "net")).toEqual({ sasl: { enable: false }, tls: { enable: false } });
  expect(get(source, "spec", "bootstrapServers")).toEqual(["orbit-kafka-bootstrap.orbit.svc:9093"]);
  expect(get(named(objects, "KafkaSink", "task-events-dlq"), "spec", "auth")).toBeUndefined();
  expect(problemsOf(objects, eventing)).toEqual([]);
  const brokers = await renderChart(eventing, {
    typed: { "kafka.brokers[0]": "kafka.example.com:9092" },
  });
  // A fully qualified broker is used as it is by the sources.
  expect(get(named(brokers, "KafkaSource", "notifications-reminders"), "spec", "bootstrapServers")).toEqual([
    "kafka.example.com:9092",
  ]);
});
