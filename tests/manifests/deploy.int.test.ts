// `make deploy`'s order and its rollback, against a fake kubectl (no cluster is reachable here; the
// fake answers as the API server would and records every call). The overlay rendering, the
// validation and the image edits are the real ones.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { deploy, DeployError, prepareOverlay } from "../../scripts/deploy.ts";
import { functionNames, kustomizeBuild } from "../../scripts/manifests.ts";
import { fakeCommand, type Call, type FakeCommand } from "./fake-cli.ts";

interface Scenario {
  /** Live Knative Services: name → ready revision. */
  live: Record<string, string>;
  /** The migration Job's conditions, one entry per poll (the last repeats). */
  jobConditions: { type: string; status: string; message?: string }[][];
  /** Exit codes of successive `kubectl wait ksvc` calls. */
  waitCodes: number[];
}

const scratch = mkdtempSync(path.join(os.tmpdir(), "orbit-deploy-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes a kubectl stand-in for one scenario; returns its path and a reader of its calls. */
function fakeKubectl(name: string, scenario: Scenario): FakeCommand {
  return fakeCommand(
    path.join(scratch, name),
    "kubectl",
    `const scenario = ${JSON.stringify(scenario)};
const [verb, kind] = args;
if (verb === "get" && kind === "ksvc") {
  const items = Object.entries(scenario.live).map(([name, rev]) => ({ metadata: { name }, status: { latestReadyRevisionName: rev } }));
  process.stdout.write(JSON.stringify({ items }));
} else if (verb === "get" && kind === "job") {
  const i = Math.min(next("job"), scenario.jobConditions.length - 1);
  process.stdout.write(JSON.stringify({ status: { conditions: scenario.jobConditions[i] } }));
} else if (verb === "logs") {
  process.stdout.write("Error: P3018 A migration failed to apply.\\n");
} else if (verb === "wait" && kind === "ksvc") {
  const code = scenario.waitCodes[Math.min(next("wait"), scenario.waitCodes.length - 1)];
  if (code !== 0) process.stderr.write("error: timed out waiting for the condition on services/create-task\\n");
  process.exit(code);
}`,
    `if (args[0] === "apply" && args[1] === "-k") call.kustomization = fs.readFileSync(path.join(args[2], "kustomization.yaml"), "utf8");`,
  );
}

const complete = [{ type: "Complete", status: "True" }];
const verbs = (calls: Call[]) => calls.map((c) => c.args.slice(0, 2).join(" "));

test("a release records the live revisions, migrates first, then applies the overlay at the release's images", async () => {
  const kubectl = fakeKubectl("release", {
    live: { "create-task": "create-task-00007", "query-tasks": "query-tasks-00003" },
    jobConditions: [[], complete],
    waitCodes: [0],
  });
  const statePath = path.join(scratch, "release-state.json");
  const lines: string[] = [];
  const state = await deploy({
    environment: "staging",
    tag: "0123abc",
    owner: "acme",
    state: statePath,
    kubectl: kubectl.bin,
    pollMs: 5,
    log: (line) => lines.push(line),
  });

  const calls = kubectl.calls();
  expect(verbs(calls)).toEqual([
    "get ksvc",
    "apply -f",
    "delete job",
    "apply -f",
    "get job",
    "get job",
    "apply -k",
    "wait ksvc",
  ]);
  expect(calls[1]!.stdin).toContain("kind: Namespace");
  expect(calls[1]!.stdin).toContain("name: orbit-staging");
  // The Job alone, at this release's migration image, before anything else of the release.
  expect(calls[3]!.stdin).toContain("kind: Job");
  expect(calls[3]!.stdin).not.toContain("kind: Service");
  expect(calls[3]!.stdin).toContain("image: ghcr.io/acme/orbit-migrate:0123abc");
  const kustomization = calls[6]!.kustomization as string;
  expect(kustomization).toContain("newName: ghcr.io/acme/orbit-create-task");
  expect(kustomization).toContain("newTag: 0123abc");
  // (The overlay's comments survive `kustomize edit` and mention "unreleased" images.)
  expect(kustomization).not.toContain("newTag: unreleased");
  // web.Dockerfile exists, so the web image is released with the functions' tag.
  expect(kustomization).toContain("newName: ghcr.io/acme/orbit-web");
  expect(kustomization).not.toContain("$patch: delete");
  expect(calls[7]!.args).toEqual([
    "wait",
    "ksvc",
    "--all",
    "-n",
    "orbit-staging",
    "--for=condition=Ready",
    "--timeout=600s",
  ]);

  expect(state.namespace).toBe("orbit-staging");
  expect(state.previous["create-task"]).toBe("create-task-00007");
  expect(state.previous["audit-log"]).toBeNull();
  expect(state.previous.web).toBeNull();
  expect(JSON.parse(readFileSync(statePath, "utf8"))).toEqual(state);
  expect(lines).toContain("migrations applied");
});

test("a failed migration stops the release before anything of it rolls out", async () => {
  const kubectl = fakeKubectl("migration-fails", {
    live: {},
    jobConditions: [[{ type: "Failed", status: "True", message: "BackoffLimitExceeded" }]],
    waitCodes: [0],
  });
  const attempt = deploy({
    environment: "production",
    tag: "0123abc",
    owner: "acme",
    state: path.join(scratch, "migration-fails.json"),
    kubectl: kubectl.bin,
    pollMs: 5,
    log: () => {},
  });
  await expect(attempt).rejects.toThrow(
    /the migration Job failed \(BackoffLimitExceeded\); nothing was rolled out\.\nError: P3018/,
  );
  expect(verbs(kubectl.calls())).not.toContain("apply -k");
  expect(verbs(kubectl.calls()).at(-1)).toBe("logs job/orbit-migrate");
});

test("a Service that never becomes Ready sends every Service's traffic back to its previous revision", async () => {
  const kubectl = fakeKubectl("rollout-fails", {
    live: { "create-task": "create-task-00007", "audit-log": "audit-log-00002" },
    jobConditions: [complete],
    waitCodes: [1, 0],
  });
  const lines: string[] = [];
  await expect(
    deploy({
      environment: "production",
      tag: "0123abc",
      owner: "acme",
      state: path.join(scratch, "rollout-fails.json"),
      kubectl: kubectl.bin,
      pollMs: 5,
      log: (line) => lines.push(line),
    }),
  ).rejects.toThrow(
    new DeployError("rollout of production failed; traffic is back on the previous revisions"),
  );
  const patches = kubectl.calls().filter((c) => c.args[0] === "patch");
  expect(patches.map((c) => [c.args[2], JSON.parse(c.args.at(-1)!)])).toEqual([
    ["audit-log", { spec: { traffic: [{ revisionName: "audit-log-00002", percent: 100 }] } }],
    ["create-task", { spec: { traffic: [{ revisionName: "create-task-00007", percent: 100 }] } }],
  ]);
  expect(lines).toContain("query-tasks: new in this release, no earlier revision to return to");
  expect(verbs(kubectl.calls()).at(-1)).toBe("wait ksvc");
});

test("placeholder images never reach a cluster, and a tag needs its owner", async () => {
  const kubectl = fakeKubectl("placeholders", { live: {}, jobConditions: [complete], waitCodes: [0] });
  const options = {
    environment: "staging" as const,
    state: path.join(scratch, "p.json"),
    kubectl: kubectl.bin,
    log: () => {},
  };
  await expect(deploy(options)).rejects.toThrow(
    /refusing to deploy staging:\nstaging: ghcr\.io\/OWNER\/orbit-\S+:unreleased: is a placeholder: pass IMAGE_OWNER and IMAGE_TAG/,
  );
  await expect(deploy({ ...options, tag: "0123abc" })).rejects.toThrow(
    /IMAGE_TAG and IMAGE_OWNER go together/,
  );
  expect(kubectl.calls()).toEqual([]);
});

test("an app this release builds no image for is left out of the overlay", async () => {
  const overlay = await prepareOverlay("staging", { tag: "0123abc", owner: "acme" }, functionNames());
  try {
    const rendered = await kustomizeBuild(overlay.dir);
    expect(rendered).not.toContain("ghcr.io/acme/orbit-web");
    expect(rendered).toContain("image: ghcr.io/acme/orbit-create-task:0123abc");
  } finally {
    overlay.cleanup();
  }
});
