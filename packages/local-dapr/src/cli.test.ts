// Unit: the local sidecar's command line takes daprd's flags, names and units.
import { expect, test } from "vitest";
import { parseSidecarArgs, UsageError } from "./cli.ts";

const base = ["--app-id", "a", "--storage-url", "postgresql://x"];
const options = (argv: string[]) => {
  const parsed = parseSidecarArgs([...base, ...argv], {});
  if (parsed.help) throw new Error("unexpected --help");
  return parsed.options;
};

test("daprd's app health flags: interval in seconds, timeout in milliseconds, threshold", () => {
  expect(
    options([
      "--enable-app-health-check",
      "--app-health-check-path",
      "/readyz",
      "--app-health-probe-interval",
      "5",
      "--app-health-probe-timeout",
      "2500",
      "--app-health-threshold",
      "3",
    ]),
  ).toMatchObject({
    appHealthCheck: true,
    appHealthCheckPath: "/readyz",
    appHealthProbeIntervalMs: 5_000,
    appHealthProbeTimeoutMs: 2_500,
    appHealthThreshold: 3,
  });
  expect(options([])).toMatchObject({ appHealthCheck: false, appHealthCheckPath: undefined });
});

test("a boolean flag may be written --flag=true|false, as Go's flag package allows", () => {
  expect(options(["--enable-app-health-check=true"]).appHealthCheck).toBe(true);
  expect(options(["--enable-app-health-check=false"]).appHealthCheck).toBe(false);
  expect(options(["--app-health-check-path=/readyz"]).appHealthCheckPath).toBe("/readyz");
});

test("ports, resources paths and the storage URL from the environment", () => {
  const parsed = parseSidecarArgs(
    ["--app-id", "a", "--app-port", "8080", "--resources-path", "x", "--components-path", "y"],
    { LOCAL_DAPR_STORAGE_URL: "postgresql://env" },
  );
  expect(parsed).toMatchObject({
    help: false,
    options: { appPort: 8080, httpPort: 3500, resourcesPath: ["x", "y"], storageUrl: "postgresql://env" },
  });
});

test("unknown flags, bad numbers and missing required flags are usage errors", () => {
  expect(() => options(["--app-health-probe-interval", "1.5"])).toThrow(UsageError);
  expect(() => options(["--app-port", "70000"])).toThrow(/--app-port/);
  expect(() => options(["--enable-app-health"])).toThrow(UsageError);
  expect(() => parseSidecarArgs(["--storage-url", "postgresql://x"], {})).toThrow(/--app-id/);
  expect(() => parseSidecarArgs(["--app-id", "a"], {})).toThrow(/--storage-url/);
});
