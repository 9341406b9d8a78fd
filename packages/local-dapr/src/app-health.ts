// App health checks as daprd 1.18 runs them (--enable-app-health-check and friends): an HTTP GET of
// the health path every probe interval; the app counts as unhealthy from the start until a probe
// succeeds, and again once `threshold` probes have failed. The sidecar stops delivering pub/sub
// messages and job triggers while the app is unhealthy (pkg/runtime/runtime.go appHealthChanged).
//
// Faithful to pkg/apphealth/health.go, including a quirk: a successful probe resets the failure
// count only when it changes the verdict (doProbe calls setResult only on a change), so failures
// add up across successes until the app is declared unhealthy, and a single success then makes it
// healthy again.
import type { Logger } from "#platform/logger.ts";
import type { AppChannel } from "./app-channel.ts";
import { ResourceError } from "./resources.ts";

export interface AppHealthConfig {
  /** --app-health-check-path (daprd's default: /healthz, pkg/runtime/config.go). */
  path: string;
  /** --app-health-probe-interval, which daprd takes in whole seconds (default 5 s). */
  intervalMs: number;
  /** --app-health-probe-timeout, in milliseconds (default 500). */
  timeoutMs: number;
  /** --app-health-threshold (default 3). */
  threshold: number;
}

/**
 * daprd's rules for the flags (pkg/runtime/config.go): a value ≤ 0 (threshold < 1) means the
 * default, and a probe timeout longer than the interval refuses to start.
 */
export function appHealthConfig(input: Partial<AppHealthConfig> = {}): AppHealthConfig {
  const positive = (value: number | undefined, fallback: number) =>
    value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
  const config: AppHealthConfig = {
    path: input.path || "/healthz",
    intervalMs: positive(input.intervalMs, 5_000),
    timeoutMs: positive(input.timeoutMs, 500),
    threshold: input.threshold !== undefined && input.threshold >= 1 ? Math.floor(input.threshold) : 3,
  };
  if (config.timeoutMs > config.intervalMs) {
    throw new ResourceError("value for 'health-probe-timeout' must be smaller than 'health-probe-interval'");
  }
  return config;
}

export class AppHealth {
  /** Starts at the threshold: unhealthy until the first successful probe (apphealth.New). */
  private failures: number;
  private timer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;

  constructor(
    private readonly channel: Pick<AppChannel, "probeHttp">,
    readonly config: AppHealthConfig,
    private readonly onChange: (healthy: boolean) => void,
    private readonly log: Logger,
  ) {
    this.failures = config.threshold;
  }

  get healthy(): boolean {
    return this.failures < this.config.threshold;
  }

  /** Probes at once (daprd enqueues a first probe), then every interval. */
  start(): void {
    if (this.timer || this.stopped) return;
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.config.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One probe; a tick that comes while the previous probe still runs is skipped. */
  private async probe(): Promise<void> {
    if (this.probing || this.stopped) return;
    this.probing = true;
    try {
      const ok = await this.channel.probeHttp(this.config.path, this.config.timeoutMs);
      if (!this.stopped && ok !== this.healthy) this.setResult(ok);
    } finally {
      this.probing = false;
    }
  }

  private setResult(ok: boolean): void {
    if (ok) {
      const previous = this.failures;
      this.failures = 0;
      if (previous >= this.config.threshold) {
        this.log.info("app entered healthy status", { path: this.config.path });
        this.onChange(true);
      }
      return;
    }
    this.failures++;
    if (this.failures === this.config.threshold) {
      this.log.warn("app entered unhealthy status", {
        path: this.config.path,
        reason: `app health check failed ${this.failures} times`,
      });
      this.onChange(false);
    }
  }
}
