// The alerts and the dashboard must query metrics the functions really export: a renamed metric
// would otherwise silently turn an alert into one that never fires.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "#db/migrate.ts";
import { registry } from "#platform/metrics.ts";

const dir = path.join(REPO_ROOT, "knative/observability");

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:orbit|http_server)_[a-z_]+)/g)].map((m) =>
    m[1]!.replace(/_(bucket|count|sum)$/, ""),
  );
}

const exported = new Set(registry.getMetricsAsArray().map((m) => m.name));

test("every alert expression uses exported metrics", () => {
  const rule = parse(readFileSync(path.join(dir, "prometheusrule.yaml"), "utf8")) as {
    spec: { groups: { rules: { alert: string; expr: string }[] }[] };
  };
  const rules = rule.spec.groups.flatMap((g) => g.rules);
  expect(rules.length).toBeGreaterThanOrEqual(5);
  for (const r of rules) {
    const names = metricNames(r.expr);
    expect(names.length, r.alert).toBeGreaterThan(0);
    for (const name of names) expect(exported.has(name), `${r.alert}: ${name}`).toBe(true);
  }
});

test("every dashboard panel queries exported metrics", () => {
  const dashboard = JSON.parse(readFileSync(path.join(dir, "grafana-dashboard.json"), "utf8")) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      const names = metricNames(target.expr);
      expect(names.length, panel.title).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${panel.title}: ${name}`).toBe(true);
    }
  }
});
