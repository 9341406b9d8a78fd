// The local sidecar's command line, with daprd's flag names and units (dapr cmd/daprd/options):
// parsed here, apart from main.ts, so that what `make dev` (scripts/dev.ts) passes can be checked
// against what the sidecar understands.
import { parseArgs } from "node:util";
import type { SidecarOptions } from "./sidecar.ts";

export const USAGE = `usage: main.ts --app-id <id> [--app-port <port>] [--app-channel-address <host>]
  [--dapr-http-port <port, default 3500, 0 = any>] [--resources-path <dir>]... [--storage-url <postgresql://…>]
  [--enable-app-health-check] [--app-health-check-path <path, default /healthz>]
  [--app-health-probe-interval <seconds, default 5>] [--app-health-probe-timeout <ms, default 500>]
  [--app-health-threshold <failures, default 3>]`;

export class UsageError extends Error {}

const BOOLEAN_FLAGS = ["enable-app-health-check"];

function port(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${flag} must be a port number, got "${value}"`);
  return n;
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be an integer, got "${value}"`);
  return n;
}

export type ParsedArgs =
  { help: true } | { help: false; options: Omit<SidecarOptions, "log"> & { storageUrl: string } };

/**
 * Parses daprd-style flags. A boolean flag may also be written `--flag=true|false`, as Go's flag
 * package allows (packages/testing passes `--enable-app-health-check=true` to real daprd).
 */
export function parseSidecarArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  const normalized: string[] = [];
  for (const arg of argv) {
    const match = /^--([a-z-]+)=(true|false)$/.exec(arg);
    if (match && BOOLEAN_FLAGS.includes(match[1]!)) {
      if (match[2] === "true") normalized.push(`--${match[1]}`);
    } else normalized.push(arg);
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: normalized,
      options: {
        "app-id": { type: "string" },
        "app-port": { type: "string" },
        "app-channel-address": { type: "string" },
        "dapr-http-port": { type: "string" },
        "resources-path": { type: "string", multiple: true },
        "components-path": { type: "string", multiple: true },
        "storage-url": { type: "string" },
        "enable-app-health-check": { type: "boolean" },
        "app-health-check-path": { type: "string" },
        "app-health-probe-interval": { type: "string" },
        "app-health-probe-timeout": { type: "string" },
        "app-health-threshold": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return { help: true };
  const appId = values["app-id"];
  const storageUrl = values["storage-url"] ?? env.LOCAL_DAPR_STORAGE_URL;
  if (!appId) throw new UsageError("--app-id is required");
  if (!storageUrl) throw new UsageError("--storage-url (or LOCAL_DAPR_STORAGE_URL) is required");
  const intervalSeconds = integer(values["app-health-probe-interval"], "--app-health-probe-interval");
  return {
    help: false,
    options: {
      appId,
      appPort: port(values["app-port"], "--app-port"),
      appHost: values["app-channel-address"],
      httpPort: port(values["dapr-http-port"], "--dapr-http-port", 3500)!,
      storageUrl,
      appHealthCheck: values["enable-app-health-check"] ?? false,
      appHealthCheckPath: values["app-health-check-path"],
      appHealthProbeIntervalMs: intervalSeconds === undefined ? undefined : intervalSeconds * 1_000,
      appHealthProbeTimeoutMs: integer(values["app-health-probe-timeout"], "--app-health-probe-timeout"),
      appHealthThreshold: integer(values["app-health-threshold"], "--app-health-threshold"),
      resourcesPath: [...(values["resources-path"] ?? []), ...(values["components-path"] ?? [])],
    },
  };
}
