// CLI of the local sidecar, with daprd's own flag names:
//   npx tsx packages/local-dapr/src/main.ts --app-id create-task --app-port 8080 \
//     --dapr-http-port 3500 --resources-path dapr-components/local --storage-url postgresql://…
// The storage URL may also come from LOCAL_DAPR_STORAGE_URL; LOCAL_DAPR_LOG_LEVEL (else LOG_LEVEL)
// sets the log level (debug|info|warn|error|silent). Logs are JSON lines on stdout. SIGTERM/SIGINT stop it gracefully.
import { parseArgs } from "node:util";
import { createLogger } from "#platform/logger.ts";
import { logLevel, startSidecar } from "./sidecar.ts";

const USAGE = `usage: main.ts --app-id <id> [--app-port <port>] [--app-channel-address <host>]
  [--dapr-http-port <port, default 3500, 0 = any>] [--resources-path <dir>]... [--storage-url <postgresql://…>]
  [--enable-app-health-check]`;

class UsageError extends Error {}

function port(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${flag} must be a port number, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        "app-id": { type: "string" },
        "app-port": { type: "string" },
        "app-channel-address": { type: "string" },
        "dapr-http-port": { type: "string" },
        "resources-path": { type: "string", multiple: true },
        "components-path": { type: "string", multiple: true },
        "storage-url": { type: "string" },
        "enable-app-health-check": { type: "boolean" },
        help: { type: "boolean" },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const appId = values["app-id"];
  const storageUrl = values["storage-url"] ?? process.env.LOCAL_DAPR_STORAGE_URL;
  if (!appId) throw new UsageError("--app-id is required");
  if (!storageUrl) throw new UsageError("--storage-url (or LOCAL_DAPR_STORAGE_URL) is required");
  const level = logLevel(process.env);
  const log = createLogger("local-dapr", level, { app_id: appId });

  const sidecar = await startSidecar({
    appId,
    appPort: port(values["app-port"], "--app-port"),
    appHost: values["app-channel-address"],
    httpPort: port(values["dapr-http-port"], "--dapr-http-port", 3500)!,
    storageUrl,
    appHealthCheck: values["enable-app-health-check"] ?? false,
    resourcesPath: [...(values["resources-path"] ?? []), ...(values["components-path"] ?? [])],
    log,
  });
  sidecar.appReady.catch(async (error: unknown) => {
    log.error("stopping: the app's subscriptions cannot be served", { err: error });
    await sidecar.stop();
    process.exit(1);
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      log.info("stopping", { signal });
      void sidecar.stop().then(() => process.exit(0));
    });
  }
}

main().catch((error: unknown) => {
  console.error(
    JSON.stringify({
      time: new Date().toISOString(),
      level: "error",
      service: "local-dapr",
      msg: "local dapr sidecar failed to start",
      err: { message: (error as Error).message },
    }),
  );
  if (error instanceof UsageError) console.error(USAGE);
  process.exit(error instanceof UsageError ? 2 : 1);
});
