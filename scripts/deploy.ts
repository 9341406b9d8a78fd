// `make deploy ENV=staging|production`: releases the overlay knative/overlays/<env> into the current
// kube context, in the order that keeps it safe (docs/deployment.md):
//   1. sets every image to this release (IMAGE_OWNER, IMAGE_TAG) in a throwaway copy of the
//      overlay, renders it and validates it as `make manifests` does; refuses placeholders;
//   2. records each Knative Service's ready revision (the rollback target);
//   3. runs the migration Job alone and waits for it to complete (nothing rolls out otherwise);
//   4. `kubectl apply -k` the overlay, and waits for every Knative Service to become Ready;
//      if one does not, sends all traffic back to the recorded revisions and fails.
// `deploy.ts rollback <env> --state <file>` does step 4's rollback on demand (a failed smoke test).
// With `--tool helm` (`make deploy TOOL=helm`) the same release goes through the chart instead
// (charts/orbit, values-<env>.yaml):
//   1. renders the chart at this release's images and validates it exactly as step 1 does;
//   2. applies the namespace (Helm keeps its release record there) and records the release's
//      revision (the rollback target);
//   3. `helm upgrade --install --rollback-on-failure --wait=watcher`: the migration Job runs first
//      as a pre-upgrade hook, then the release is applied and Helm waits for every Knative
//      Service to be Ready, rolling the whole release back itself if the migration or a Service
//      fails. `deploy.ts rollback` then runs `helm rollback` to the recorded revision.
// KUBECTL and HELM name the binaries (tests point them at fakes: no cluster is reachable there).
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import {
  CHART_DIR,
  helmBinary,
  helmTemplate,
  RELEASE,
  valueArgs,
  valuesNamespace,
  type ValueOptions,
} from "./helm.ts";
import { get, type Obj } from "./manifest-checks.ts";
import {
  formatProblem,
  functionNames,
  kustomizeBinary,
  kustomizeBuild,
  loadSubscriptions,
  parseManifests,
  REPO_ROOT,
  RENDERS,
  SchemaRegistry,
  validateRender,
} from "./manifests.ts";

export const ENVIRONMENTS = ["staging", "production"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
/** What renders and applies a release: the overlays with kubectl, or the chart with helm. */
export const TOOLS = ["kustomize", "helm"] as const;
export type Tool = (typeof TOOLS)[number];

const MIGRATION_JOB = "orbit-migrate";
const PLACEHOLDER_OWNER = "ghcr.io/OWNER/";

export interface DeployOptions {
  environment: Environment;
  /** The release's image tag (the commit SHA); required with `owner`, or neither. */
  tag?: string;
  /** The GHCR owner the images were pushed under. */
  owner?: string;
  /** Where the rollback target is written. */
  state: string;
  /** Seconds to wait for the migration, and again for the Services. */
  timeoutSeconds?: number;
  kubectl?: string;
  /** Poll interval while the migration runs. */
  pollMs?: number;
  log?: (line: string) => void;
}

export interface DeployState {
  environment: Environment;
  namespace: string;
  /** Each Knative Service's ready revision before the deploy (null: it did not exist yet). */
  previous: Record<string, string | null>;
}

/** The rollback target of a Helm deploy. */
export interface HelmDeployState {
  tool: "helm";
  environment: Environment;
  namespace: string;
  release: string;
  /** The release's revision before the deploy (null: this deploy installed it). */
  revision: number | null;
}

export class DeployError extends Error {}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input?: string, cwd?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/** kubectl or helm: each call logged, a failure of `must` a DeployError with its stderr. */
class Cli {
  constructor(
    private readonly name: "kubectl" | "helm",
    private readonly binary: string,
    private readonly log: (line: string) => void,
  ) {}

  async run(args: string[], input?: string): Promise<Result> {
    this.log(`$ ${this.name} ${args.join(" ")}`);
    try {
      return await run(this.binary, args, input);
    } catch (error) {
      throw new DeployError(`cannot run ${this.binary}: ${(error as Error).message}`);
    }
  }

  async must(args: string[], input?: string): Promise<string> {
    const result = await this.run(args, input);
    if (result.code !== 0)
      throw new DeployError(
        `${this.name} ${args.join(" ")} failed (exit ${result.code}):\n${result.stderr.trim()}`,
      );
    return result.stdout;
  }
}

const kubectlCli = (binary: string | undefined, log: (line: string) => void) =>
  new Cli("kubectl", binary ?? process.env.KUBECTL ?? "kubectl", log);

/** Apps whose image this release builds: every function, and the web app once it has a Dockerfile. */
export function releasedApps(): string[] {
  return [...functionNames(), ...(existsSync(path.join(REPO_ROOT, "web.Dockerfile")) ? ["web"] : [])];
}

/**
 * Copies the overlays to a scratch directory and points every image at this release, as
 * `kustomize edit set image` does; apps this release builds no image for are left out.
 */
export async function prepareOverlay(
  environment: Environment,
  release: { tag?: string; owner?: string },
  apps: readonly string[] = releasedApps(),
): Promise<{ dir: string; cleanup(): void }> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), `orbit-deploy-${environment}-`));
  for (const dir of ["knative", "dapr-components"])
    cpSync(path.join(REPO_ROOT, dir), path.join(scratch, dir), { recursive: true });
  const dir = path.join(scratch, "knative/overlays", environment);
  const file = path.join(dir, "kustomization.yaml");
  if (release.tag && release.owner) {
    // Every placeholder image the overlay renders, listed under `images:` or not.
    const placeholders = new Set(
      [...(await kustomizeBuild(dir)).matchAll(/image: (ghcr\.io\/OWNER\/[^:\s]+)/g)].map((m) => m[1]!),
    );
    const settings = [...placeholders].map(
      (name) => `${name}=ghcr.io/${release.owner}/${name.slice(PLACEHOLDER_OWNER.length)}:${release.tag}`,
    );
    const edit = await run(kustomizeBinary(), ["edit", "set", "image", ...settings], undefined, dir);
    if (edit.code !== 0) throw new DeployError(`kustomize edit set image failed:\n${edit.stderr}`);
  }
  const unreleased = ["web"].filter((app) => !apps.includes(app));
  if (unreleased.length > 0) {
    const edited = parse(readFileSync(file, "utf8")) as Obj;
    const patches = (edited.patches as unknown[] | undefined) ?? [];
    for (const app of unreleased)
      patches.push({
        patch: stringify({
          $patch: "delete",
          apiVersion: "serving.knative.dev/v1",
          kind: "Service",
          metadata: { name: app },
        }),
      });
    edited.patches = patches;
    writeFileSync(file, stringify(edited));
  }
  return { dir, cleanup: () => rmSync(scratch, { recursive: true, force: true }) };
}

/** Renders the prepared overlay and refuses it if it is invalid or still names placeholder images. */
export async function renderRelease(environment: Environment, dir: string): Promise<Obj[]> {
  return checkRelease(environment, await kustomizeBuild(dir));
}

/**
 * The objects of a rendered release (an overlay's or the chart's), refused as `make manifests`
 * would refuse them, and if any image is still a placeholder.
 */
export function checkRelease(environment: Environment, rendered: string): Obj[] {
  const spec = RENDERS.find((r) => r.name === environment)!;
  const parsed = parseManifests(rendered, environment);
  const problems = [
    ...parsed.problems,
    ...validateRender(parsed.manifests, new SchemaRegistry(), {
      ...spec,
      functions: functionNames(),
      subscriptions: loadSubscriptions(),
    }),
  ];
  const objects = parsed.manifests.map((m) => m.object);
  const images = objects.flatMap((o) =>
    ((get(o, "spec", "template", "spec", "containers") as Obj[] | undefined) ?? []).map((c) =>
      String(c.image),
    ),
  );
  for (const image of images)
    if (image.includes("/OWNER/") || image.endsWith(":unreleased"))
      problems.push({
        source: environment,
        object: image,
        message: "is a placeholder: pass IMAGE_OWNER and IMAGE_TAG (the GHCR owner and the commit SHA)",
      });
  if (problems.length > 0)
    throw new DeployError(`refusing to deploy ${environment}:\n${problems.map(formatProblem).join("\n")}`);
  return objects;
}

function namespaceOf(objects: Obj[]): string {
  const namespace = objects.find((o) => o.kind === "Namespace");
  const name = get(namespace, "metadata", "name") ?? get(objects[0], "metadata", "namespace");
  if (typeof name !== "string") throw new DeployError("the overlay sets no namespace");
  return name;
}

async function waitForMigration(
  kubectl: Cli,
  namespace: string,
  timeoutSeconds: number,
  pollMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    const job = JSON.parse(
      await kubectl.must(["get", "job", MIGRATION_JOB, "-n", namespace, "-o", "json"]),
    ) as Obj;
    const conditions =
      (get(job, "status", "conditions") as { type: string; status: string; message?: string }[]) ?? [];
    if (conditions.some((c) => c.type === "Complete" && c.status === "True")) return;
    const failed = conditions.find((c) => c.type === "Failed" && c.status === "True");
    if (failed) {
      const logs = await kubectl.run(["logs", `job/${MIGRATION_JOB}`, "-n", namespace, "--tail=50"]);
      throw new DeployError(
        `the migration Job failed (${failed.message ?? "no message"}); nothing was rolled out.\n${logs.stdout}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new DeployError(
    `the migration Job did not complete within ${timeoutSeconds} s; nothing was rolled out`,
  );
}

/** Sends each Service's traffic back to the revision recorded before the deploy. */
export async function rollback(
  state: DeployState,
  options: { kubectl?: string; timeoutSeconds?: number; log?: (line: string) => void } = {},
): Promise<void> {
  const log = options.log ?? console.log;
  const kubectl = kubectlCli(options.kubectl, log);
  for (const [name, revision] of Object.entries(state.previous)) {
    if (!revision) {
      log(`${name}: new in this release, no earlier revision to return to`);
      continue;
    }
    const patch = JSON.stringify({ spec: { traffic: [{ revisionName: revision, percent: 100 }] } });
    await kubectl.must(["patch", "ksvc", name, "-n", state.namespace, "--type", "merge", "-p", patch]);
    log(`${name}: traffic back on ${revision}`);
  }
  await kubectl.must([
    "wait",
    "ksvc",
    "--all",
    "-n",
    state.namespace,
    "--for=condition=Ready",
    `--timeout=${options.timeoutSeconds ?? 300}s`,
  ]);
}

/** A deploy's log and timeout, once its tag and owner are known to come together or not at all. */
function begin(options: DeployOptions, what: string): { log: (line: string) => void; timeout: number } {
  if (Boolean(options.tag) !== Boolean(options.owner))
    throw new DeployError(
      `IMAGE_TAG and IMAGE_OWNER go together: give both, or neither to deploy ${what} as it is`,
    );
  return { log: options.log ?? console.log, timeout: options.timeoutSeconds ?? 600 };
}

export async function deploy(options: DeployOptions): Promise<DeployState> {
  const { log, timeout } = begin(options, "the overlay");
  const kubectl = kubectlCli(options.kubectl, log);
  const overlay = await prepareOverlay(options.environment, options);
  try {
    const objects = await renderRelease(options.environment, overlay.dir);
    const namespace = namespaceOf(objects);

    const listed = JSON.parse(await kubectl.must(["get", "ksvc", "-n", namespace, "-o", "json"])) as {
      items?: Obj[];
    };
    const previous: Record<string, string | null> = {};
    for (const ksvc of objects.filter(
      (o) => o.kind === "Service" && o.apiVersion === "serving.knative.dev/v1",
    )) {
      const name = String(get(ksvc, "metadata", "name"));
      const live = (listed.items ?? []).find((item) => get(item, "metadata", "name") === name);
      previous[name] = (get(live, "status", "latestReadyRevisionName") as string | undefined) ?? null;
    }
    const state: DeployState = { environment: options.environment, namespace, previous };
    mkdirSync(path.dirname(options.state), { recursive: true });
    writeFileSync(options.state, JSON.stringify(state, null, 2));

    const namespaces = objects.filter((o) => o.kind === "Namespace");
    if (namespaces.length > 0)
      await kubectl.must(["apply", "-f", "-"], namespaces.map((o) => stringify(o)).join("---\n"));
    const job = objects.find((o) => o.kind === "Job" && get(o, "metadata", "name") === MIGRATION_JOB);
    if (!job) throw new DeployError(`the overlay has no Job ${MIGRATION_JOB}`);
    // A Job's pod template is immutable: the previous release's Job goes before this one's.
    await kubectl.must([
      "delete",
      "job",
      MIGRATION_JOB,
      "-n",
      namespace,
      "--ignore-not-found",
      "--wait=true",
    ]);
    await kubectl.must(["apply", "-f", "-"], stringify(job));
    await waitForMigration(kubectl, namespace, timeout, options.pollMs ?? 2000);
    log("migrations applied");

    await kubectl.must(["apply", "-k", overlay.dir]);
    const ready = await kubectl.run([
      "wait",
      "ksvc",
      "--all",
      "-n",
      namespace,
      "--for=condition=Ready",
      `--timeout=${timeout}s`,
    ]);
    if (ready.code !== 0) {
      log(`not every Service became Ready:\n${ready.stderr.trim()}\nrolling back`);
      await rollback(state, { kubectl: options.kubectl, log });
      throw new DeployError(
        `rollout of ${options.environment} failed; traffic is back on the previous revisions`,
      );
    }
    log(`${options.environment}: every Service is Ready`);
    return state;
  } finally {
    overlay.cleanup();
  }
}

// ── The Helm path (`make deploy TOOL=helm`) ──

/** The values of a release on top of the environment's values file. */
export function releaseValues(
  environment: Environment,
  release: { tag?: string; owner?: string },
  apps: readonly string[] = releasedApps(),
): ValueOptions {
  return {
    values: [`values-${environment}.yaml`],
    strings:
      release.tag && release.owner
        ? { "image.registry": `ghcr.io/${release.owner}`, "image.tag": release.tag }
        : {},
    typed: Object.fromEntries(
      ["web"].filter((app) => !apps.includes(app)).map((app) => [`apps.${app}.enabled`, "false"]),
    ),
  };
}

/** Whether the release exists, and at which revision (`helm status`). */
async function helmRevision(helm: Cli, namespace: string): Promise<number | null> {
  const status = await helm.run(["status", RELEASE, "--namespace", namespace, "--output", "json"]);
  if (status.code === 0) return Number((JSON.parse(status.stdout) as { version: number }).version);
  if (/release: not found/.test(status.stderr)) return null;
  throw new DeployError(`helm status ${RELEASE} failed (exit ${status.code}):\n${status.stderr.trim()}`);
}

export async function deployWithHelm(options: DeployOptions & { helm?: string }): Promise<HelmDeployState> {
  const { log, timeout } = begin(options, "the chart's values");
  const values = releaseValues(options.environment, options);
  const namespace = valuesNamespace(values.values[0]!);
  const helmPath = options.helm ?? process.env.HELM ?? helmBinary();
  // What the release applies, plus its Namespace: the same objects the overlay would apply.
  let rendered: string;
  try {
    rendered = await helmTemplate({
      ...values,
      namespace,
      binary: helmPath,
      typed: { ...values.typed, "namespace.create": "true" },
    });
  } catch (error) {
    throw new DeployError(`refusing to deploy ${options.environment}: ${(error as Error).message}`);
  }
  const objects = checkRelease(options.environment, rendered);
  const kubectl = kubectlCli(options.kubectl, log);
  const helm = new Cli("helm", helmPath, log);

  const namespaceObject = objects.find((o) => o.kind === "Namespace");
  if (!namespaceObject) throw new DeployError(`the chart rendered no Namespace for ${namespace}`);
  await kubectl.must(["apply", "-f", "-"], stringify(namespaceObject));
  const revision = await helmRevision(helm, namespace);
  const state: HelmDeployState = {
    tool: "helm",
    environment: options.environment,
    namespace,
    release: RELEASE,
    revision,
  };
  mkdirSync(path.dirname(options.state), { recursive: true });
  writeFileSync(options.state, JSON.stringify(state, null, 2));

  const upgrade = await helm.run([
    "upgrade",
    RELEASE,
    CHART_DIR,
    "--install",
    "--namespace",
    namespace,
    ...valueArgs(values),
    // Helm 4's name for --atomic: a failed hook or a Service not Ready rolls the release back.
    "--rollback-on-failure",
    // kstatus: every Knative Service until its Ready condition is True at its new generation.
    "--wait=watcher",
    `--timeout=${timeout}s`,
    // The first Helm release takes over what `make deploy` (kubectl) applied before.
    ...(revision === null ? ["--take-ownership", "--force-conflicts"] : []),
  ]);
  if (upgrade.code !== 0) {
    const migration = upgrade.stderr.includes(MIGRATION_JOB)
      ? (await kubectl.run(["logs", `job/${MIGRATION_JOB}`, "-n", namespace, "--tail=50"])).stdout
      : "";
    throw new DeployError(
      `helm upgrade of ${options.environment} failed; ` +
        (revision === null
          ? "the release was removed (it was the first)"
          : `helm rolled the release back to revision ${revision}`) +
        `:\n${upgrade.stderr.trim()}${migration ? `\nmigration log:\n${migration}` : ""}`,
    );
  }
  log(`${options.environment}: release ${RELEASE} is deployed and every Service is Ready`);
  return state;
}

/**
 * `helm rollback` to the revision a deploy recorded, or without one to the previous revision.
 * Migrations stay: the Job is no rollback hook, and the schema is forward-compatible.
 */
export async function rollbackHelm(
  target: { environment: Environment; revision?: number | null },
  options: { helm?: string; timeoutSeconds?: number; log?: (line: string) => void } = {},
): Promise<void> {
  const namespace = valuesNamespace(`values-${target.environment}.yaml`);
  if (target.revision === null)
    throw new DeployError(
      `the last deploy installed ${RELEASE} in ${namespace}: there is no earlier revision to roll back to`,
    );
  const helm = new Cli("helm", options.helm ?? process.env.HELM ?? helmBinary(), options.log ?? console.log);
  await helm.must([
    "rollback",
    RELEASE,
    ...(target.revision === undefined ? [] : [String(target.revision)]),
    "--namespace",
    namespace,
    "--wait=watcher",
    `--timeout=${options.timeoutSeconds ?? 300}s`,
  ]);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]): Promise<number> {
  const [command, environment] = args;
  const tool = flag(args, "tool") as Tool | undefined;
  if (
    (command !== "deploy" && command !== "rollback") ||
    !ENVIRONMENTS.includes(environment as Environment) ||
    (tool !== undefined && !TOOLS.includes(tool))
  ) {
    console.error(
      "usage: deploy.ts deploy <staging|production> [--tool kustomize|helm] [--tag <sha> --owner <ghcr owner>] [--state <file>]\n" +
        "       deploy.ts rollback <staging|production> [--tool kustomize|helm] [--state <file>]",
    );
    return 64;
  }
  const env = environment as Environment;
  const state = flag(args, "state") || path.join(REPO_ROOT, "dist/deploy", `${env}.json`);
  const timeout = flag(args, "timeout");
  if (command === "rollback") {
    const recorded = existsSync(state)
      ? (JSON.parse(readFileSync(state, "utf8")) as DeployState | HelmDeployState)
      : null;
    const recordedTool: Tool | undefined = recorded ? ("tool" in recorded ? "helm" : "kustomize") : undefined;
    if (recorded && recorded.environment !== env)
      throw new DeployError(`${state} records a deploy of ${recorded.environment}, not of ${env}`);
    if (tool && recordedTool && tool !== recordedTool)
      throw new DeployError(`${state} records a ${recordedTool} deploy, not a ${tool} one`);
    if ((tool ?? recordedTool) === "helm") {
      // Without a record, the previous revision: what a deploy that failed after it was recorded
      // by Helm (a failed smoke test) would have replaced.
      await rollbackHelm(recorded && "tool" in recorded ? recorded : { environment: env });
      return 0;
    }
    if (!recorded)
      throw new DeployError(`no deploy state at ${state}: nothing records where to roll back to`);
    await rollback(recorded as DeployState);
    return 0;
  }
  const options = {
    environment: env,
    tag: flag(args, "tag"),
    owner: flag(args, "owner"),
    state,
    timeoutSeconds: timeout ? Number(timeout) : undefined,
  };
  if (tool === "helm") await deployWithHelm(options);
  else await deploy(options);
  return 0;
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
