// The rules schemas cannot express: what makes these manifests right for Knative + Dapr, not just
// well-formed. Each rule names the trap it guards against (../shared/reference/dapr-and-knative.md
// §0, §6) so a failure explains itself. scripts/manifests.ts runs them on every rendered overlay.
import { TOPICS, deadLetterTopic } from "#core/events.ts";

export type Obj = Record<string, unknown>;

export interface Manifest {
  /** Where it came from: an overlay name or a file path relative to the repository. */
  source: string;
  object: Obj;
}

export interface Problem {
  source: string;
  /** `Kind/name`, or "" for a problem of the whole render. */
  object: string;
  message: string;
}

export interface RenderContext {
  /** How consumers receive events in this render: Dapr sidecars (option a), Knative Eventing (b). */
  delivery: "dapr" | "eventing" | null;
  /** Overlays are deployable; the base is validated but is not deployed on its own. */
  deployable: boolean;
  /** Every function folder (functions/<name>/index.ts). */
  functions: readonly string[];
  /** What each app subscribes to through Dapr (from dapr-components/subscriptions, which tests
   * prove equal to the functions' programmatic subscriptions). */
  subscriptions: ReadonlyMap<string, readonly AppSubscription[]>;
}

export interface AppSubscription {
  topic: string;
  route: string;
  deadLetterTopic: string | null;
}

export function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function asObj(value: unknown): Obj {
  return isObj(value) ? value : {};
}

export function get(value: unknown, ...keys: (string | number)[]): unknown {
  let current = value;
  for (const key of keys) {
    if (typeof key === "number") current = Array.isArray(current) ? current[key] : undefined;
    else current = isObj(current) ? current[key] : undefined;
  }
  return current;
}

function str(value: unknown, ...keys: (string | number)[]): string | undefined {
  const found = get(value, ...keys);
  return typeof found === "string" ? found : undefined;
}

function list(value: unknown, ...keys: (string | number)[]): unknown[] {
  const found = get(value, ...keys);
  return Array.isArray(found) ? found : [];
}

export function describe(object: Obj): string {
  return `${str(object, "kind") ?? "?"}/${str(object, "metadata", "name") ?? "?"}`;
}

const isKsvc = (o: Obj) => o.apiVersion === "serving.knative.dev/v1" && o.kind === "Service";
const isDapr = (kind: string) => (o: Obj) => String(o.apiVersion).startsWith("dapr.io/") && o.kind === kind;

/** Ports Knative's queue-proxy owns (knative/serving pkg/networking/constants.go). */
export const KNATIVE_RESERVED_PORTS = [8012, 8013, 8022, 8112, 9090, 9091];
/** Ports the Dapr sidecar uses by default (HTTP, health, gRPC API, internal gRPC, metrics, debug). */
export const DAPR_PORTS = [3500, 3501, 50001, 50002, 9090, 40000];
/** Environment variables Knative sets and refuses from users (knative/serving k8s_validation.go). */
const KNATIVE_RESERVED_ENV = ["PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"];

/** Every dapr.io/* pod annotation the injector reads (dapr/dapr pkg/injector/patcher/sidecar.go). */
export const DAPR_ANNOTATIONS = new Set(
  [
    "enabled",
    "app-port",
    "config",
    "app-protocol",
    "app-ssl",
    "app-id",
    "enable-profiling",
    "log-level",
    "api-token-secret",
    "app-token-secret",
    "log-as-json",
    "app-max-concurrency",
    "enable-metrics",
    "metrics-port",
    "enable-debug",
    "debug-port",
    "env",
    "sidecar-cpu-request",
    "sidecar-cpu-limit",
    "sidecar-memory-request",
    "sidecar-memory-limit",
    "sidecar-listen-addresses",
    "sidecar-liveness-probe-delay-seconds",
    "sidecar-liveness-probe-timeout-seconds",
    "sidecar-liveness-probe-period-seconds",
    "sidecar-liveness-probe-threshold",
    "sidecar-readiness-probe-delay-seconds",
    "sidecar-readiness-probe-timeout-seconds",
    "sidecar-readiness-probe-period-seconds",
    "sidecar-readiness-probe-threshold",
    "sidecar-image",
    "sidecar-seccomp-profile-type",
    "http-max-request-size",
    "max-body-size",
    "http-read-buffer-size",
    "read-buffer-size",
    "graceful-shutdown-seconds",
    "block-shutdown-duration",
    "enable-api-logging",
    "unix-domain-socket-path",
    "volume-mounts",
    "volume-mounts-rw",
    "disable-builtin-k8s-secret-store",
    "enable-app-health-check",
    "app-health-check-path",
    "app-health-probe-interval",
    "app-health-probe-timeout",
    "app-health-threshold",
    "placement-host-address",
    "scheduler-host-address",
    "pluggable-components",
    "pluggable-components-sockets-folder",
    "component-container",
    "inject-pluggable-components",
    "app-channel-address",
    "sidecar-svc-annotations",
  ].map((key) => `dapr.io/${key}`),
);

/** Per-revision autoscaling annotations (knative/docs serving/autoscaling/*). */
export const KNATIVE_AUTOSCALING_ANNOTATIONS = new Set(
  [
    "class",
    "metric",
    "target",
    "target-utilization-percentage",
    "min-scale",
    "max-scale",
    "initial-scale",
    "activation-scale",
    "scale-down-delay",
    "scale-to-zero-pod-retention-period",
    "window",
    "panic-window-percentage",
    "panic-threshold-percentage",
    "target-burst-capacity",
    "metric-aggregation-algorithm",
  ].map((key) => `autoscaling.knative.dev/${key}`),
);

const SECRET_ENV = /(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|DATABASE_URL|_DSN)$/i;
const SECRET_METADATA =
  /(password|secret|secretkey|token|privatekey|clientkey|apikey|accesskey|connectionstring|cert|credentials?)$/i;
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** No secret value may be written in git: not as a Secret, an env value or a component value. */
export function checkNoSecrets(manifest: Manifest): string[] {
  const { object } = manifest;
  const problems: string[] = [];
  if (object.apiVersion === "v1" && object.kind === "Secret")
    problems.push(
      "a Secret in git: secrets are created in the cluster out of band (docs/deployment.md lists them)",
    );
  const walk = (value: unknown, at: string) => {
    if (typeof value === "string") {
      if (URL_WITH_PASSWORD.test(value)) problems.push(`${at}: a URL with a password in it`);
      if (PRIVATE_KEY.test(value)) problems.push(`${at}: a private key`);
    } else if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${at}/${i}`));
    else if (isObj(value)) for (const [key, item] of Object.entries(value)) walk(item, `${at}/${key}`);
  };
  walk(object, "");
  for (const [path, env] of containerEnvs(object)) {
    for (const [i, variable] of env.entries()) {
      const name = str(variable, "name") ?? "";
      const value = str(variable, "value");
      if (SECRET_ENV.test(name) && value)
        problems.push(
          `${path}/env/${i} (${name}): a literal value; take it from a Secret (valueFrom.secretKeyRef)`,
        );
    }
  }
  if (isDapr("Component")(object)) {
    for (const [i, item] of list(object, "spec", "metadata").entries()) {
      const name = str(item, "name") ?? "";
      const value = get(item, "value");
      if (SECRET_METADATA.test(name) && value !== undefined && value !== "")
        problems.push(
          `/spec/metadata/${i} (${name}): a literal value; use secretKeyRef to a Kubernetes secret`,
        );
    }
  }
  if (object.apiVersion === "v1" && object.kind === "ConfigMap") {
    for (const key of Object.keys((get(object, "data") as Obj | undefined) ?? {}))
      if (SECRET_ENV.test(key)) problems.push(`/data/${key}: looks like a secret; ConfigMaps are not secret`);
  }
  return problems;
}

/** [json path of the container, its env list] for every container of a KSVC, Job or Deployment. */
function containerEnvs(object: Obj): [string, unknown[]][] {
  return podContainers(object).map(([path, c]) => [path, list(c, "env")]);
}

function podContainers(object: Obj): [string, Obj][] {
  const specPath = isKsvc(object)
    ? ["spec", "template", "spec"]
    : object.kind === "Job" || object.kind === "Deployment"
      ? ["spec", "template", "spec"]
      : null;
  if (!specPath) return [];
  const pod = get(object, ...specPath);
  return list(pod, "containers")
    .map((c, i) => [`/${specPath.join("/")}/containers/${i}`, c] as [string, unknown])
    .filter((entry): entry is [string, Obj] => isObj(entry[1]));
}

function scale(annotations: Obj, key: "min-scale" | "max-scale"): number | null {
  const raw = annotations[`autoscaling.knative.dev/${key}`];
  if (raw === undefined) return null;
  const value = Number(raw);
  return Number.isInteger(value) && value >= 0 ? value : NaN;
}

/** Hardening every container must have, whatever runs it. */
function checkHardening(path: string, container: Obj, pod: unknown): string[] {
  const problems: string[] = [];
  const sc = (key: string) => get(container, "securityContext", key) ?? get(pod, "securityContext", key);
  if (sc("runAsNonRoot") !== true) problems.push(`${path}: securityContext.runAsNonRoot must be true`);
  if (get(container, "securityContext", "readOnlyRootFilesystem") !== true)
    problems.push(`${path}: securityContext.readOnlyRootFilesystem must be true`);
  if (get(container, "securityContext", "allowPrivilegeEscalation") !== false)
    problems.push(`${path}: securityContext.allowPrivilegeEscalation must be false`);
  if (!list(container, "securityContext", "capabilities", "drop").includes("ALL"))
    problems.push(`${path}: securityContext.capabilities.drop must include ALL`);
  if (get(sc("seccompProfile"), "type") !== "RuntimeDefault")
    problems.push(`${path}: securityContext.seccompProfile.type must be RuntimeDefault`);
  for (const kind of ["requests", "limits"])
    for (const resource of ["cpu", "memory"])
      if (get(container, "resources", kind, resource) === undefined)
        problems.push(`${path}: resources.${kind}.${resource} is not set`);
  return problems;
}

/** The image of app `name` must be `<registry>/orbit-<name>` with an explicit tag or digest. */
function checkImage(path: string, image: string | undefined, name: string): string[] {
  if (!image) return [`${path}: no image`];
  const match = /^(.+)\/([^/:@]+)(?::([^:@/]+)|@sha256:[a-f0-9]{64})$/.exec(image);
  if (!match) return [`${path}: image "${image}" has no tag or digest`];
  const problems: string[] = [];
  if (match[2] !== `orbit-${name}`) problems.push(`${path}: image "${image}" is not orbit-${name}`);
  if (match[3] === "latest") problems.push(`${path}: image "${image}" uses the mutable tag latest`);
  return problems;
}

/**
 * The Dapr app API token (docs/deployment.md "Who may deliver"): the injector gives daprd
 * APP_API_TOKEN from key `token` of the Secret `dapr.io/app-token-secret` names (dapr/dapr
 * pkg/injector/patcher/sidecar_container.go), daprd sends it on every call to the app, and the app
 * refuses delivery routes without it: so the app must read the same key of the same Secret.
 */
function checkAppToken(cpath: string, container: Obj, annotations: Obj): string[] {
  const secret = annotations["dapr.io/app-token-secret"];
  if (typeof secret !== "string" || secret === "")
    return [
      `dapr.io/app-token-secret is not set: the sidecar would call the app without the app API token, and anyone could post to its delivery routes`,
    ];
  const variables = list(container, "env").filter((v) => str(v, "name") === "APP_API_TOKEN");
  if (variables.length !== 1)
    return [`${cpath}/env: APP_API_TOKEN must be set once, from the Secret "${secret}" (key "token")`];
  const ref = get(variables[0], "valueFrom", "secretKeyRef");
  if (str(ref, "name") !== secret || str(ref, "key") !== "token" || get(ref, "optional") === true)
    return [
      `${cpath}/env APP_API_TOKEN must come from secretKeyRef {name: "${secret}", key: "token"} (not optional), the token its sidecar sends`,
    ];
  return [];
}

function checkKsvc(ksvc: Obj, context: RenderContext): string[] {
  const problems: string[] = [];
  const name = str(ksvc, "metadata", "name") ?? "";
  const annotations = (get(ksvc, "spec", "template", "metadata", "annotations") as Obj | undefined) ?? {};
  const pod = get(ksvc, "spec", "template", "spec");
  const containers = list(pod, "containers");
  if (containers.length !== 1)
    return [`a Knative Service must have exactly one container, found ${containers.length}`];
  const container = containers[0] as Obj;
  const cpath = "/spec/template/spec/containers/0";

  // Ports: one, not reserved; Dapr's app-port must be it (§6.1).
  const ports = list(container, "ports");
  const containerPort = Number(get(ports, 0, "containerPort"));
  if (ports.length !== 1)
    problems.push(`${cpath}/ports: a Knative Service declares exactly one port, found ${ports.length}`);
  else if (KNATIVE_RESERVED_PORTS.includes(containerPort))
    problems.push(`${cpath}/ports/0: containerPort ${containerPort} is reserved by Knative's queue-proxy`);

  // Dapr annotations: on the template (not the Service), app-id = name, app-port = the port.
  for (const key of Object.keys((get(ksvc, "metadata", "annotations") as Obj | undefined) ?? {}))
    if (key.startsWith("dapr.io/"))
      problems.push(
        `/metadata/annotations/${key}: Dapr reads annotations from spec.template.metadata.annotations only`,
      );
  for (const key of Object.keys(annotations)) {
    if (key.startsWith("dapr.io/") && !DAPR_ANNOTATIONS.has(key))
      problems.push(`annotation "${key}" is not a Dapr annotation (misspelt?)`);
    if (key.startsWith("autoscaling.knative.dev/") && !KNATIVE_AUTOSCALING_ANNOTATIONS.has(key))
      problems.push(`annotation "${key}" is not a Knative autoscaling annotation (misspelt?)`);
  }
  if (annotations["dapr.io/enabled"] !== "true") problems.push(`dapr.io/enabled must be "true"`);
  if (annotations["dapr.io/app-id"] !== name)
    problems.push(
      `dapr.io/app-id is "${String(annotations["dapr.io/app-id"])}", but must equal the Service name "${name}"`,
    );
  if (annotations["dapr.io/app-port"] !== String(containerPort))
    problems.push(
      `dapr.io/app-port is "${String(annotations["dapr.io/app-port"])}", but the container port is ${containerPort}: Dapr would call the app on a port nothing listens on`,
    );
  const metricsPort = annotations["dapr.io/metrics-port"];
  if (metricsPort === undefined)
    problems.push(
      `dapr.io/metrics-port is not set: Dapr's default 9090 is Knative queue-proxy's metrics port`,
    );
  else if (Number(metricsPort) === 9090)
    problems.push(
      `dapr.io/metrics-port is 9090, Knative queue-proxy's autoscaling metrics port: move it (e.g. "19090")`,
    );
  else if ([...KNATIVE_RESERVED_PORTS, ...DAPR_PORTS, containerPort].includes(Number(metricsPort)))
    problems.push(
      `dapr.io/metrics-port ${String(metricsPort)} collides with a port already in use in the pod`,
    );
  if (!annotations["dapr.io/config"]) problems.push(`dapr.io/config is not set (tracing and secret scopes)`);
  problems.push(...checkAppToken(cpath, container, annotations));

  // Autoscaling: explicit bounds; min ≤ max.
  const min = scale(annotations, "min-scale");
  const max = scale(annotations, "max-scale");
  if (Number.isNaN(min) || Number.isNaN(max))
    problems.push(`min-scale and max-scale must be non-negative integers`);
  if (context.deployable && min === null)
    problems.push(
      `autoscaling.knative.dev/min-scale is not set: every deployed Service states whether it scales to zero`,
    );
  if (max === null) problems.push(`autoscaling.knative.dev/max-scale is not set`);
  if (min !== null && max !== null && max > 0 && min > max)
    problems.push(`min-scale ${min} exceeds max-scale ${max}`);

  // Container: probes on the serving port, hardening, resources, env, image.
  for (const probe of ["readinessProbe", "livenessProbe"]) {
    if (!isObj(container[probe])) problems.push(`${cpath}: ${probe} is not set`);
    const probePort = get(container, probe, "httpGet", "port");
    if (probePort !== undefined && Number(probePort) !== containerPort)
      problems.push(
        `${cpath}/${probe}: probes port ${String(probePort)}, but Knative only allows the serving port ${containerPort}`,
      );
  }
  problems.push(...checkHardening(cpath, container, pod));
  for (const [i, variable] of list(container, "env").entries()) {
    const envName = str(variable, "name") ?? "";
    if (KNATIVE_RESERVED_ENV.includes(envName))
      problems.push(`${cpath}/env/${i}: ${envName} is set by Knative and may not be set here`);
  }
  problems.push(...checkImage(`${cpath}/image`, str(container, "image"), name));

  const labels = (get(ksvc, "metadata", "labels") as Obj | undefined) ?? {};
  if (labels["app.kubernetes.io/name"] !== name)
    problems.push(`label app.kubernetes.io/name must be "${name}"`);
  if (!["http", "consumer", "jobs", "web"].includes(String(labels["orbit.dev/role"])))
    problems.push(`label orbit.dev/role must be http, consumer, jobs or web`);
  return problems;
}

function minScale(ksvc: Obj): number {
  return (
    scale((get(ksvc, "spec", "template", "metadata", "annotations") as Obj | undefined) ?? {}, "min-scale") ??
    0
  );
}

/** Checks across the objects of one rendered overlay. */
export function checkRender(manifests: readonly Manifest[], context: RenderContext): Problem[] {
  const problems: Problem[] = [];
  const source = manifests[0]?.source ?? "";
  const add = (object: Obj | null, message: string) =>
    problems.push({ source, object: object ? describe(object) : "", message });
  const objects = manifests.map((m) => m.object);
  const ksvcs = objects.filter(isKsvc);
  const byName = new Map(ksvcs.map((k) => [str(k, "metadata", "name") ?? "", k]));
  const appIds = new Set(byName.keys());
  /** App-ids a scope may name: the Services here, every function, and the web app (a release
   * may leave out an app it builds no image for; its scopes stay valid). */
  const knownApps = new Set([...appIds, ...context.functions, "web"]);
  const role = (k: Obj) => str(k, "metadata", "labels", "orbit.dev/role");

  for (const manifest of manifests)
    for (const message of checkNoSecrets(manifest)) add(manifest.object, message);
  for (const ksvc of ksvcs) for (const message of checkKsvc(ksvc, context)) add(ksvc, message);

  // Dapr resources the Services rely on.
  const components = objects.filter(isDapr("Component"));
  const configurations = new Set(
    objects.filter(isDapr("Configuration")).map((c) => str(c, "metadata", "name")),
  );
  for (const ksvc of ksvcs) {
    const config = str(ksvc, "spec", "template", "metadata", "annotations", "dapr.io/config");
    if (config && !configurations.has(config))
      add(ksvc, `dapr.io/config "${config}" names no Configuration in this render`);
  }
  for (const component of components) {
    for (const app of list(component, "scopes"))
      if (!knownApps.has(String(app)))
        add(component, `scopes names "${String(app)}", which is no app of Orbit`);
    const usesSecrets = list(component, "spec", "metadata").some(
      (item) => get(item, "secretKeyRef") !== undefined,
    );
    if (usesSecrets && !str(component, "auth", "secretStore"))
      add(component, `uses secretKeyRef but names no auth.secretStore`);
  }
  const pubsub = components.find((c) => str(c, "metadata", "name") === "pubsub");
  if (context.deployable && !pubsub) add(null, `no pub/sub component named "pubsub"`);
  const pubsubMetadata = new Map(
    list(pubsub, "spec", "metadata").map((item) => [str(item, "name"), get(item, "value")]),
  );
  for (const key of ["consumerGroup", "consumerID"])
    if (pubsubMetadata.has(key))
      add(
        pubsub!,
        `sets ${key}: every app would share one consumer group and each event would reach only one of them`,
      );
  for (const resiliency of objects.filter(isDapr("Resiliency"))) {
    const scopes = new Set(list(resiliency, "scopes").map(String));
    for (const app of appIds)
      if (scopes.size > 0 && !scopes.has(app)) add(resiliency, `scopes omit the app "${app}"`);
    const policies = (kind: string) =>
      new Set(Object.keys((get(resiliency, "spec", "policies", kind) as Obj | undefined) ?? {}));
    const defined = {
      timeout: policies("timeouts"),
      retry: policies("retries"),
      circuitBreaker: policies("circuitBreakers"),
    };
    // targets.apps.<app>.<kind> and targets.components.<component>.<inbound|outbound>.<kind>.
    const uses: [string, unknown][] = [];
    for (const [app, target] of Object.entries(asObj(get(resiliency, "spec", "targets", "apps"))))
      uses.push([`targets.apps.${app}`, target]);
    for (const [component, directions] of Object.entries(
      asObj(get(resiliency, "spec", "targets", "components")),
    ))
      for (const [direction, target] of Object.entries(asObj(directions)))
        uses.push([`targets.components.${component}.${direction}`, target]);
    for (const [where, target] of uses)
      for (const [kind, names] of Object.entries(defined)) {
        const policy = str(target, kind);
        if (policy && !names.has(policy))
          add(resiliency, `${where}.${kind} names the undefined policy "${policy}"`);
      }
  }

  // HTTPEndpoints that stand in for an app-id must reach that app's Knative address here.
  for (const endpoint of objects.filter(isDapr("HTTPEndpoint"))) {
    const name = str(endpoint, "metadata", "name") ?? "";
    const url = /^https?:\/\/([^.]+)\.([^.]+)\.svc\.cluster\.local(:\d+)?\/?$/.exec(
      str(endpoint, "spec", "baseUrl") ?? "",
    );
    if (!url || url[1] !== name)
      add(
        endpoint,
        `baseUrl must be the Knative address of "${name}" (http://${name}.<namespace>.svc.cluster.local)`,
      );
    else if (str(endpoint, "metadata", "namespace") && url[2] !== str(endpoint, "metadata", "namespace"))
      add(
        endpoint,
        `baseUrl points into namespace ${url[2]}, but this deployment is in ${str(endpoint, "metadata", "namespace")}`,
      );
    if (context.deployable && !appIds.has(name))
      add(endpoint, `stands in for "${name}", which is not a Service here`);
    for (const app of list(endpoint, "scopes"))
      if (!knownApps.has(String(app)))
        add(endpoint, `scopes names "${String(app)}", which is no app of Orbit`);
    if (list(endpoint, "scopes").length === 0)
      add(
        endpoint,
        `has no scopes: every sidecar would send its calls to "${name}" over HTTP instead of Dapr`,
      );
  }

  // Declarative Subscriptions must not duplicate the functions' programmatic ones (docs/decisions/008).
  for (const sub of objects.filter(isDapr("Subscription"))) {
    const topic = str(sub, "spec", "topic");
    for (const app of list(sub, "scopes").map(String)) {
      if (!knownApps.has(app)) add(sub, `scopes names "${app}", which is no app of Orbit`);
      if ((context.subscriptions.get(app) ?? []).some((s) => s.topic === topic))
        add(
          sub,
          `"${app}" already subscribes to ${topic} programmatically; Dapr must not see both (docs/decisions/008)`,
        );
    }
  }

  // Kafka topics: every topic and its dead-letter topic, 7 days, 3 replicas.
  const topics = new Map(
    objects
      .filter((o) => o.kind === "KafkaTopic")
      .map((t) => [str(t, "spec", "topicName") ?? str(t, "metadata", "name") ?? "", t]),
  );
  if (context.deployable || topics.size > 0) {
    for (const topic of Object.values(TOPICS))
      for (const name of [topic, deadLetterTopic(topic)])
        if (!topics.has(name)) add(null, `no KafkaTopic for "${name}"`);
  }
  for (const topic of topics.values()) {
    if (get(topic, "spec", "replicas") !== 3) add(topic, `replicas must be 3`);
    if (String(get(topic, "spec", "config", "retention.ms")) !== String(7 * 24 * 3600 * 1000))
      add(topic, `retention.ms must be 604800000 (7 days)`);
    if (!str(topic, "metadata", "labels", "strimzi.io/cluster"))
      add(topic, `needs the label strimzi.io/cluster`);
  }

  // Migration Job.
  const jobs = objects.filter((o) => o.kind === "Job");
  if (context.deployable && !jobs.some((j) => str(j, "metadata", "name") === "orbit-migrate"))
    add(null, `no migration Job "orbit-migrate"`);
  for (const job of jobs) {
    const pod = get(job, "spec", "template", "spec");
    for (const [path, container] of podContainers(job)) {
      for (const message of checkHardening(path, container, pod)) add(job, message);
      for (const message of checkImage(`${path}/image`, str(container, "image"), "migrate"))
        add(job, message);
    }
  }

  if (!context.deployable) return problems;

  // Every function is deployed, and every function Service is a function.
  const functionServices = ksvcs.filter(
    (k) => str(k, "metadata", "labels", "app.kubernetes.io/component") === "function",
  );
  const deployed = new Set(functionServices.map((k) => str(k, "metadata", "name")));
  for (const fn of context.functions)
    if (!deployed.has(fn)) add(null, `functions/${fn} has no Knative Service`);
  for (const name of deployed)
    if (name && !context.functions.includes(name)) add(byName.get(name)!, `no functions/${name}`);

  // Scale-to-zero versus Dapr (§0 items 1-2, §6.2).
  for (const ksvc of ksvcs) {
    const name = str(ksvc, "metadata", "name") ?? "";
    const subs = context.subscriptions.get(name) ?? [];
    if (role(ksvc) === "jobs" && minScale(ksvc) < 1)
      add(ksvc, `owns Dapr Jobs, which fire only into a running sidecar: min-scale must be at least 1`);
    if (role(ksvc) === "consumer" && subs.length === 0) add(ksvc, `is a consumer but subscribes to nothing`);
    if (subs.length > 0 && !["consumer", "jobs", "web"].includes(String(role(ksvc))))
      add(ksvc, `subscribes to ${subs.map((s) => s.topic).join(", ")} but its role is ${String(role(ksvc))}`);
    // The web app may sit at zero: its updates matter only to connected browsers, whose open
    // streams keep a pod up, and it catches up on the topic when one starts (knative/base/web.yaml).
    // A KafkaSource's consumer is checked as one whatever its scale: notifications stays at one pod
    // behind its source, for the Dapr Jobs it owns.
    const sourceDelivered =
      context.delivery === "eventing" &&
      objects.some((o) => o.kind === "KafkaSource" && str(o, "spec", "sink", "ref", "name") === name);
    if (subs.length > 0 && role(ksvc) !== "web" && (minScale(ksvc) < 1 || sourceDelivered)) {
      if (context.delivery === "dapr")
        add(
          ksvc,
          `subscribes through Dapr but may scale to zero: nothing wakes it for its events (min-scale must be ≥ 1)`,
        );
      else
        for (const sub of subs)
          for (const message of checkEventingDelivery(name, sub, objects, pubsubMetadata)) add(ksvc, message);
    }
    const max = scale(
      (get(ksvc, "spec", "template", "metadata", "annotations") as Obj | undefined) ?? {},
      "max-scale",
    );
    // (The web app scales on open browser streams, not on events: idle consumers are its normal.)
    for (const sub of role(ksvc) === "web" ? [] : subs) {
      const partitions = get(topics.get(sub.topic), "spec", "partitions");
      if (typeof partitions === "number" && (max === null || max === 0 || max > partitions))
        add(
          ksvc,
          `max-scale ${String(max)} exceeds ${sub.topic}'s ${partitions} partitions: the extra consumers would sit idle`,
        );
    }
  }
  if (!ksvcs.some((k) => str(k, "metadata", "labels", "orbit.dev/outbox") === "true" && minScale(k) >= 1))
    add(
      null,
      `no function with an outbox relay is always on: events left by a function that scaled to zero would wait for its next request`,
    );

  // Knative Eventing sources.
  for (const source of objects.filter((o) => o.kind === "KafkaSource")) {
    const app = str(source, "spec", "sink", "ref", "name") ?? "";
    if (str(source, "spec", "sink", "ref", "kind") !== "Service" || !appIds.has(app))
      add(source, `its sink is not a Knative Service of this render`);
    if (str(source, "spec", "consumerGroup") !== app)
      add(
        source,
        `consumerGroup must be the app-id "${app}" (the group Dapr used), so switching delivery keeps the offsets`,
      );
    const namespace = str(source, "metadata", "namespace");
    for (const server of list(source, "spec", "bootstrapServers").map(String)) {
      const fqdn = /^[^.:]+\.([^.:]+)\.svc(\.cluster\.local)?:\d+$/.exec(server);
      if (!fqdn)
        add(
          source,
          `bootstrap server "${server}" must be a fully qualified service name: the dispatcher runs in knative-eventing`,
        );
      else if (namespace && fqdn[1] !== namespace)
        add(
          source,
          `bootstrap server "${server}" is in namespace ${fqdn[1]}, but this source is in ${namespace}`,
        );
    }
    for (const topic of list(source, "spec", "topics").map(String))
      if (!topics.has(topic)) add(source, `reads "${topic}", which has no KafkaTopic`);
    const dls = get(source, "spec", "delivery", "deadLetterSink", "ref");
    if (!dls) add(source, `has no delivery.deadLetterSink: a poison event would be retried and then lost`);
    else if (
      !objects.some((o) => o.kind === str(dls, "kind") && str(o, "metadata", "name") === str(dls, "name"))
    )
      add(source, `its deadLetterSink ${str(dls, "kind")}/${str(dls, "name")} is not in this render`);
    if (!scopesDenyAll(pubsubMetadata, app))
      add(
        source,
        `delivers to "${app}", whose sidecar may still subscribe: deny it in the pubsub subscriptionScopes`,
      );
    for (const message of checkSourceIdentity(source, byName.get(app), namespace)) add(source, message);
  }
  return problems;
}

/** The value of a literal env var of a Service's container, if set. */
function envValue(ksvc: Obj | undefined, name: string): string | undefined {
  const variable = list(ksvc, "spec", "template", "spec", "containers", 0, "env").find(
    (v) => str(v, "name") === name,
  );
  return str(variable, "value");
}

/**
 * A KafkaSource is not the function's sidecar and has no app token: it proves who it is with
 * Knative's OIDC sender identity, a token for its `sink.audience`, which its function must accept
 * (DELIVERY_OIDC_AUDIENCE) from a service account of this namespace (DELIVERY_OIDC_SUBJECTS).
 */
function checkSourceIdentity(source: Obj, ksvc: Obj | undefined, namespace: string | undefined): string[] {
  if (!ksvc) return [];
  const app = str(ksvc, "metadata", "name") ?? "";
  const audience = str(source, "spec", "sink", "audience");
  if (!audience)
    return [
      `has no sink.audience: it would send no OIDC token, and "${app}" refuses unauthenticated deliveries`,
    ];
  const problems: string[] = [];
  const accepted = envValue(ksvc, "DELIVERY_OIDC_AUDIENCE");
  if (accepted !== audience)
    problems.push(
      `sends tokens for audience "${audience}", but "${app}" accepts ${accepted ? `"${accepted}"` : "no OIDC token"} (DELIVERY_OIDC_AUDIENCE)`,
    );
  const subjects = (envValue(ksvc, "DELIVERY_OIDC_SUBJECTS") ?? "").split(",").filter(Boolean);
  if (subjects.length === 0)
    problems.push(`"${app}" names no DELIVERY_OIDC_SUBJECTS: no source's token would be accepted`);
  for (const subject of subjects)
    if (namespace && !subject.startsWith(`system:serviceaccount:${namespace}:`))
      problems.push(
        `"${app}" accepts DELIVERY_OIDC_SUBJECTS "${subject}", outside this source's namespace ${namespace}`,
      );
  return problems;
}

/** `app=` in subscriptionScopes: the app may subscribe to no topic. */
function scopesDenyAll(pubsubMetadata: Map<string | undefined, unknown>, app: string): boolean {
  const scopes = String(pubsubMetadata.get("subscriptionScopes") ?? "");
  return scopes.split(";").some((entry) => entry.trim() === `${app}=`);
}

function checkEventingDelivery(
  app: string,
  sub: AppSubscription,
  objects: Obj[],
  pubsubMetadata: Map<string | undefined, unknown>,
): string[] {
  const source = objects.find(
    (o) =>
      o.kind === "KafkaSource" &&
      str(o, "spec", "sink", "ref", "name") === app &&
      list(o, "spec", "topics").includes(sub.topic),
  );
  if (!source)
    return [`scales to zero but no KafkaSource delivers ${sub.topic} to it: nothing would wake it`];
  const problems: string[] = [];
  if (str(source, "spec", "sink", "uri") !== sub.route)
    problems.push(
      `${describe(source)} delivers to "${String(get(source, "spec", "sink", "uri"))}", not the subscription's route ${sub.route}`,
    );
  if (sub.deadLetterTopic) {
    const sinkName = str(source, "spec", "delivery", "deadLetterSink", "ref", "name");
    const sink = objects.find((o) => o.kind === "KafkaSink" && str(o, "metadata", "name") === sinkName);
    if (str(sink, "spec", "topic") !== sub.deadLetterTopic)
      problems.push(`${describe(source)} dead-letters somewhere other than ${sub.deadLetterTopic}`);
  }
  if (!scopesDenyAll(pubsubMetadata, app))
    problems.push(
      `its sidecar would also subscribe to ${sub.topic}: deny it in the pubsub subscriptionScopes`,
    );
  return problems;
}
