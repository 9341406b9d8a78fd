// CLI of the local sidecar, with daprd's own flag names (cli.ts parses them):
//   npx tsx packages/local-dapr/src/main.ts --app-id create-task --app-port 8080 \
//     --dapr-http-port 3500 --resources-path dapr-components/local --storage-url postgresql://… \
//     [--enable-app-health-check --app-health-check-path /readyz]
// The storage URL may also come from LOCAL_DAPR_STORAGE_URL; LOCAL_DAPR_LOG_LEVEL (else LOG_LEVEL)
// sets the log level (debug|info|warn|error|silent). Logs are JSON lines on stdout. SIGTERM/SIGINT stop it gracefully.
import { createLogger } from "#platform/logger.ts";
import { parseSidecarArgs, USAGE, UsageError } from "./cli.ts";
import { logLevel, startSidecar } from "./sidecar.ts";

async function main(): Promise<void> {
  const parsed = parseSidecarArgs(process.argv.slice(2));
  if (parsed.help) {
    console.log(USAGE);
    return;
  }
  const { options } = parsed;
  const log = createLogger("local-dapr", logLevel(process.env), { app_id: options.appId });
  const sidecar = await startSidecar({ ...options, log });
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
