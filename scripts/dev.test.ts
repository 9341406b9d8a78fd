// `make dev` reads dapr.yaml as the Dapr CLI reads it, and what it gives each local sidecar is what
// the sidecar understands: the app health fields become daprd's flags (dapr/cli
// pkg/standalone/run.go), parsed back by the sidecar's own command line (packages/local-dapr/src/cli.ts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { parseSidecarArgs } from "#local-dapr/cli.ts";
import { readRunFile, sidecarArgs, type RunFile } from "./dev.ts";

const dir = mkdtempSync(path.join(tmpdir(), "orbit-runfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const where = { resourcesPath: "/resources", storageUrl: "postgresql://db/orbit" };

/** The options the local sidecar starts with for each app of `runFile`. */
function sidecarOptions(runFile: RunFile) {
  return runFile.apps.map((app) => {
    const parsed = parseSidecarArgs(sidecarArgs(runFile, app, where), {});
    if (parsed.help) throw new Error("unexpected --help");
    return parsed.options;
  });
}

function runFile(yaml: string): RunFile {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return readRunFile(file);
}

const app = (id: string, extra = "") => `
  - appID: ${id}
    appDirPath: ./functions/${id}/
    appPort: 3101
    daprHTTPPort: 3501
    command: ["npx", "tsx", "index.ts"]${extra}`;

test("dapr.yaml turns app health checks on for every app, probing /readyz as production does", () => {
  const options = sidecarOptions(readRunFile());
  expect(options.length).toBeGreaterThanOrEqual(12);
  for (const o of options) {
    expect(o).toMatchObject({
      appHealthCheck: true,
      appHealthCheckPath: "/readyz",
      appHealthProbeIntervalMs: 5_000,
      appHealthProbeTimeoutMs: 2_500,
      appHealthThreshold: 3,
      resourcesPath: ["/resources"],
      storageUrl: "postgresql://db/orbit",
    });
  }
});

test("a path without enableAppHealthCheck passes the path but not the flag: no health checks", () => {
  const [options] = sidecarOptions(
    runFile(`version: 1
common:
  appHealthCheckPath: /healthz
apps:${app("a")}
`),
  );
  expect(options).toMatchObject({ appHealthCheck: false, appHealthCheckPath: "/healthz" });
});

test("enableAppHealthCheck without a path leaves the path to the sidecar (daprd's default, /healthz)", () => {
  const [options] = sidecarOptions(
    runFile(`version: 1
common:
  enableAppHealthCheck: true
apps:${app("a")}
`),
  );
  expect(options).toMatchObject({ appHealthCheck: true, appHealthCheckPath: undefined });
  expect(options!.appHealthProbeIntervalMs).toBeUndefined();
});

test("an app's own fields win over common, and an unset (or zero) one takes common's, as the CLI merges them", () => {
  const [own, inherited] = sidecarOptions(
    runFile(`version: 1
common:
  enableAppHealthCheck: true
  appHealthCheckPath: /readyz
  appHealthThreshold: 3
apps:${app("a", "\n    appHealthCheckPath: /ping\n    appHealthThreshold: 0\n    appHealthProbeInterval: 2")}${app("b")}
`),
  );
  expect(own).toMatchObject({
    appHealthCheck: true,
    appHealthCheckPath: "/ping",
    appHealthThreshold: 3,
    appHealthProbeIntervalMs: 2_000,
  });
  expect(inherited).toMatchObject({
    appHealthCheck: true,
    appHealthCheckPath: "/readyz",
    appHealthThreshold: 3,
  });
  expect(inherited!.appHealthProbeIntervalMs).toBeUndefined();
});
