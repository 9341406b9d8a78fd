// `make deploy TOOL=helm` and `make rollback`: the commands they run, against fake kubectl and helm
// (no cluster is reachable here; the fakes record every call). The fake helm hands `template` to
// the real one (`make helm`), so the chart rendering and its validation are the real ones.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { deployWithHelm, rollbackHelm } from "../../scripts/deploy.ts";
import { CHART_DIR, helmBinary } from "../../scripts/helm.ts";
import { REPO_ROOT } from "../../scripts/manifests.ts";
import { fakeCommand, type Call } from "./fake-cli.ts";

interface Scenario {
  /** The release's revision before the deploy (null: not installed). */
  revision: number | null;
  /** `helm upgrade`'s exit code and what it prints on failure. */
  upgradeCode: number;
  upgradeError?: string;
}

const scratch = mkdtempSync(path.join(os.tmpdir(), "orbit-deploy-helm-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A fake helm and kubectl for one scenario. */
function fakes(name: string, scenario: Scenario) {
  const dir = path.join(scratch, name);
  const helm = fakeCommand(
    dir,
    "helm",
    `const scenario = ${JSON.stringify(scenario)};
const verb = args[0];
if (verb === "template" || verb === "lint") {
  const real = require("node:child_process").spawnSync(${JSON.stringify(helmBinary())}, args, { stdio: ["ignore", "inherit", "inherit"] });
  process.exit(real.status ?? 1);
} else if (verb === "status") {
  if (scenario.revision === null) { process.stderr.write("Error: release: not found\\n"); process.exit(1); }
  process.stdout.write(JSON.stringify({ name: "orbit", version: scenario.revision, info: { status: "deployed" } }));
} else if (verb === "upgrade") {
  if (scenario.upgradeCode !== 0) process.stderr.write(scenario.upgradeError ?? "");
  process.exit(scenario.upgradeCode);
} else if (verb === "rollback") {
  process.stdout.write("Rollback was a success! Happy Helming!\\n");
}`,
  );
  const kubectl = fakeCommand(
    dir,
    "kubectl",
    `if (args[0] === "logs") process.stdout.write("Error: P3018 A migration failed to apply.\\n");`,
  );
  return { helm, kubectl };
}

const verbs = (calls: Call[]) => calls.map((c) => c.args.slice(0, 2).join(" "));
/** Everything after the chart: the namespace, the values, the flags. */
const afterChart = (call: Call) => call.args.slice(call.args.indexOf(CHART_DIR) + 1);

test("a first Helm release: the chart rendered and validated, the namespace applied, then helm upgrade --install taking over what kubectl applied", async () => {
  const { helm, kubectl } = fakes("first", { revision: null, upgradeCode: 0 });
  const statePath = path.join(scratch, "first.json");
  const lines: string[] = [];
  const state = await deployWithHelm({
    environment: "staging",
    tag: "0123abc",
    owner: "acme",
    state: statePath,
    helm: helm.bin,
    kubectl: kubectl.bin,
    log: (line) => lines.push(line),
  });

  expect(verbs(helm.calls())).toEqual(["template orbit", "status orbit", "upgrade orbit"]);
  expect(verbs(kubectl.calls())).toEqual(["apply -f"]);
  const namespace = kubectl.calls()[0]!.stdin;
  expect(namespace).toContain("kind: Namespace");
  expect(namespace).toContain("name: orbit-staging");
  expect(namespace).toContain("pod-security.kubernetes.io/enforce: baseline");
  const [template, , upgrade] = helm.calls();
  const values = [
    "-f",
    path.join(CHART_DIR, "values-staging.yaml"),
    "--set-string",
    "image.registry=ghcr.io/acme",
    "--set-string",
    "image.tag=0123abc",
  ];
  expect(upgrade!.args).toEqual([
    "upgrade",
    "orbit",
    CHART_DIR,
    "--install",
    "--namespace",
    "orbit-staging",
    ...values,
    "--rollback-on-failure",
    "--wait=watcher",
    "--timeout=600s",
    "--take-ownership",
    "--force-conflicts",
  ]);
  // What was validated is what is installed: the same values, and the Namespace besides.
  expect(afterChart(template!)).toEqual([
    "--namespace",
    "orbit-staging",
    ...values,
    "--set",
    "namespace.create=true",
  ]);
  expect(state).toEqual({
    tool: "helm",
    environment: "staging",
    namespace: "orbit-staging",
    release: "orbit",
    revision: null,
  });
  expect(JSON.parse(readFileSync(statePath, "utf8"))).toEqual(state);
  expect(lines).toContain("staging: release orbit is deployed and every Service is Ready");
});

test("an upgrade of an existing release records its revision and takes nothing over", async () => {
  const { helm } = fakes("upgrade", { revision: 7, upgradeCode: 0 });
  const state = await deployWithHelm({
    environment: "production",
    tag: "0123abc",
    owner: "acme",
    state: path.join(scratch, "upgrade.json"),
    timeoutSeconds: 900,
    helm: helm.bin,
    kubectl: fakes("upgrade-kubectl", { revision: 7, upgradeCode: 0 }).kubectl.bin,
    log: () => {},
  });
  expect(state.revision).toBe(7);
  const upgrade = helm.calls().at(-1)!;
  expect(upgrade.args).toContain("orbit-production");
  expect(upgrade.args).toContain(path.join(CHART_DIR, "values-production.yaml"));
  expect(upgrade.args.slice(-3)).toEqual(["--rollback-on-failure", "--wait=watcher", "--timeout=900s"]);
  expect(upgrade.args).not.toContain("--take-ownership");
});

test("a failed upgrade says Helm rolled the release back, with the migration's log when the hook failed", async () => {
  const { helm, kubectl } = fakes("hook-fails", {
    revision: 7,
    upgradeCode: 1,
    upgradeError:
      "Error: UPGRADE FAILED: pre-upgrade hooks failed: 1 error occurred:\n\t* job orbit-migrate failed: BackoffLimitExceeded\n",
  });
  await expect(
    deployWithHelm({
      environment: "production",
      tag: "0123abc",
      owner: "acme",
      state: path.join(scratch, "hook-fails.json"),
      helm: helm.bin,
      kubectl: kubectl.bin,
      log: () => {},
    }),
  ).rejects.toThrow(
    /^helm upgrade of production failed; helm rolled the release back to revision 7:\nError: UPGRADE FAILED: pre-upgrade hooks failed[\s\S]*\nmigration log:\nError: P3018/,
  );
  expect(verbs(kubectl.calls())).toEqual(["apply -f", "logs job/orbit-migrate"]);
});

test("placeholder images never reach a cluster, and a tag needs its owner", async () => {
  const { helm, kubectl } = fakes("placeholders", { revision: 7, upgradeCode: 0 });
  const options = {
    environment: "staging" as const,
    state: path.join(scratch, "placeholders.json"),
    helm: helm.bin,
    kubectl: kubectl.bin,
    log: () => {},
  };
  const refusals = await Promise.allSettled([
    deployWithHelm(options),
    deployWithHelm({ ...options, tag: "0123abc" }),
  ]);
  expect(
    refusals.map((r) => (r.status === "rejected" ? String(r.reason).split("\n").slice(0, 2) : r)),
  ).toEqual([
    [
      "Error: refusing to deploy staging:",
      expect.stringMatching(
        /^staging: ghcr\.io\/OWNER\/orbit-\S+:unreleased: is a placeholder: pass IMAGE_OWNER and IMAGE_TAG/,
      ),
    ],
    [expect.stringMatching(/^Error: IMAGE_TAG and IMAGE_OWNER go together/)],
  ]);
  expect(verbs(helm.calls())).toEqual(["template orbit"]);
  expect(kubectl.calls()).toEqual([]);
});

test("helm rollback goes to the recorded revision, refuses after a first install, and takes the previous one without a record", async () => {
  const { helm } = fakes("rollback", { revision: 7, upgradeCode: 0 });
  await rollbackHelm({ environment: "production", revision: 7 }, { helm: helm.bin, log: () => {} });
  await rollbackHelm({ environment: "staging" }, { helm: helm.bin, log: () => {} });
  expect(helm.calls().map((c) => c.args)).toEqual([
    ["rollback", "orbit", "7", "--namespace", "orbit-production", "--wait=watcher", "--timeout=300s"],
    ["rollback", "orbit", "--namespace", "orbit-staging", "--wait=watcher", "--timeout=300s"],
  ]);
  await expect(
    rollbackHelm({ environment: "production", revision: null }, { helm: helm.bin, log: () => {} }),
  ).rejects.toThrow(/the last deploy installed orbit in orbit-production: there is no earlier revision/);
});

function cli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "scripts/deploy.ts", ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

test("deploy.ts rollback follows the tool its state file records", async () => {
  const { helm } = fakes("cli", { revision: 7, upgradeCode: 0 });
  const state = path.join(scratch, "cli-state.json");
  writeFileSync(
    state,
    JSON.stringify({
      tool: "helm",
      environment: "production",
      namespace: "orbit-production",
      release: "orbit",
      revision: 4,
    }),
  );
  const done = await cli(["rollback", "production", "--state", state], { HELM: helm.bin });
  expect(done.code, done.stderr).toBe(0);
  expect(helm.calls().map((c) => c.args.slice(0, 3))).toEqual([["rollback", "orbit", "4"]]);
  const mismatch = await cli(["rollback", "production", "--tool", "kustomize", "--state", state]);
  expect(mismatch.code).toBe(1);
  expect(mismatch.stderr).toContain("records a helm deploy, not a kustomize one");
  const wrongTool = await cli(["deploy", "staging", "--tool", "argo"]);
  expect(wrongTool.code).toBe(64);
  expect(wrongTool.stderr).toContain("[--tool kustomize|helm]");
});

test("make deploy TOOL=helm builds helm and passes the tool on; make rollback too; kustomize stays the default", async () => {
  const dry = (args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile("make", ["-n", ...args], { cwd: REPO_ROOT }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
  const helmDeploy = await dry([
    "deploy",
    "ENV=production",
    "TOOL=helm",
    "IMAGE_TAG=0123abc",
    "IMAGE_OWNER=acme",
    "DEPLOY_STATE=/tmp/state.json",
  ]);
  expect(helmDeploy).toContain("tools/helm/build.sh");
  expect(helmDeploy).toContain(
    "npx tsx scripts/deploy.ts deploy production --tool helm --tag 0123abc --owner acme --state /tmp/state.json",
  );
  const kustomizeDeploy = await dry(["deploy", "ENV=staging", "IMAGE_TAG=0123abc", "IMAGE_OWNER=acme"]);
  expect(kustomizeDeploy).toContain(
    "npx tsx scripts/deploy.ts deploy staging --tool kustomize --tag 0123abc --owner acme",
  );
  expect(kustomizeDeploy).not.toContain("tools/helm/build.sh");
  const rollback = await dry(["rollback", "ENV=staging", "TOOL=helm", "DEPLOY_STATE=/tmp/state.json"]);
  expect(rollback).toContain("tools/helm/build.sh");
  expect(rollback).toContain(
    "npx tsx scripts/deploy.ts rollback staging --tool helm --state /tmp/state.json",
  );
});
