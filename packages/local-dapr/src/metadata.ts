// The sidecar's own endpoints: health (GET /v1.0/healthz, /v1.0/healthz/outbound) and metadata
// (GET /v1.0/metadata), answering as daprd 1.18 does (pkg/api/http/healthz.go, metadata.go).
import type { AppChannel } from "./app-channel.ts";
import type { AppHealth, AppHealthConfig } from "./app-health.ts";
import { formatGoDuration } from "./durations.ts";
import { ApiError, sendEmpty, sendError, sendJson, type Router } from "./http-util.ts";
import type { ComponentResource, SubscriptionResource } from "./resources.ts";

/** The Dapr runtime version whose HTTP contract this sidecar follows (the version production pins). */
export const RUNTIME_VERSION = "1.18.2-local";

/** What changes while the sidecar runs; the sidecar updates it, these endpoints read it. */
export interface SidecarStatus {
  /** The app channel is up (the app answered, its subscriptions are read); true without an app port. */
  appChannelReady: boolean;
  stopping: boolean;
  /**
   * What the metadata API lists: daprd lists the declarative subscriptions from the start, and the
   * programmatic ones once it has read them from the app (pkg/runtime/processor/subscriptions.go).
   */
  subscriptions: SubscriptionResource[];
}

export function registerHealthRoutes(router: Router, status: SidecarStatus): void {
  router.on("GET", "/v1.0/healthz", ({ res }) => {
    if (status.appChannelReady && !status.stopping) sendEmpty(res);
    else sendError(res, new ApiError(500, "ERR_HEALTH_NOT_READY", "dapr is not ready"));
  });
  router.on("GET", "/v1.0/healthz/outbound", ({ res }) => {
    if (!status.stopping) sendEmpty(res);
    else sendError(res, new ApiError(500, "ERR_OUTBOUND_HEALTH_NOT_READY", "dapr outbound is not ready"));
  });
}

export function registerMetadataRoutes(
  router: Router,
  sidecar: {
    appId: string;
    instanceId: number;
    components: ComponentResource[];
    channel: AppChannel | null;
    healthConfig: AppHealthConfig | null;
    appHealth: AppHealth | null;
    status: SidecarStatus;
  },
): void {
  const { appId, instanceId, components, channel, healthConfig, appHealth, status } = sidecar;
  router.on("GET", "/v1.0/metadata", ({ res }) => {
    // daprd leaves out every empty list (`omitempty`, pkg/api/http/metadata.go): no enabled
    // features, actors or HTTP endpoints here, and components and subscriptions only when there are.
    const nonEmpty = <T>(name: string, list: T[]) => (list.length > 0 ? { [name]: list } : {});
    sendJson(res, 200, {
      id: appId,
      runtimeVersion: RUNTIME_VERSION,
      ...nonEmpty(
        "components",
        components.map((c) => ({ name: c.name, type: c.type, version: c.version })),
      ),
      ...nonEmpty(
        "subscriptions",
        status.subscriptions.map((s) => ({
          pubsubname: s.pubsubname,
          topic: s.topic,
          ...(Object.keys(s.metadata).length > 0 ? { metadata: s.metadata } : {}),
          ...nonEmpty(
            "rules",
            s.rules.map((r) => (r.match ? { match: r.match.source, path: r.path } : { path: r.path })),
          ),
          deadLetterTopic: s.deadLetterTopic,
          type: s.type,
        })),
      ),
      extended: {
        appChannelReady: String(status.appChannelReady),
        storage: "postgresql",
        instanceId: String(instanceId),
        // Local only: the app health probe's verdict (daprd shows it in its logs and metrics).
        ...(appHealth ? { appHealth: appHealth.healthy ? "healthy" : "unhealthy" } : {}),
      },
      appConnectionProperties: channel
        ? {
            port: channel.port,
            protocol: "http",
            channelAddress: channel.host,
            // As daprd reports them (pkg/api/universal/metadata.go): Go duration strings, and no
            // `health` at all without app health checks (omitempty in pkg/api/http/metadata.go).
            ...(healthConfig
              ? {
                  health: {
                    healthCheckPath: healthConfig.path,
                    healthProbeInterval: formatGoDuration(healthConfig.intervalMs),
                    healthProbeTimeout: formatGoDuration(healthConfig.timeoutMs),
                    healthThreshold: healthConfig.threshold,
                  },
                }
              : {}),
          }
        : {},
    });
  });
}
