// zod schemas for the kinds we deploy that have no published JSON schema in ../shared/schemas
// (its README lists them): Kubernetes core objects, written from the Kubernetes API reference
// (https://kubernetes.io/docs/reference/kubernetes-api/); Knative's KafkaSource and KafkaSink,
// written from the Knative docs (eventing/sources/kafka-source, eventing/sinks/kafka-sink) and
// eventing-kafka-broker's Go types (control-plane/pkg/apis/sources/v1beta1, eventing/v1alpha1);
// Dapr's HTTPEndpoint, from its Go type (the catalog has Dapr's other kinds).
// Strict objects throughout: a misspelt field is an error, as it is for the API server's
// strict field validation (kubectl --validate=strict, the default since Kubernetes 1.27).
// Only the fields these manifests could plausibly use are modelled; an unmodelled field is
// reported as unknown, and is added here (from the reference) when it is really needed.
import { z } from "zod";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export const dnsLabel = z
  .string()
  .max(63)
  .regex(DNS_LABEL, "must be a DNS-1123 label (lower-case letters, digits, '-')");
export const dnsSubdomain = z
  .string()
  .max(253)
  .regex(DNS_SUBDOMAIN, "must be a DNS-1123 subdomain (lower-case letters, digits, '-', '.')");

/** A label or annotation key: an optional DNS-subdomain prefix and a name of at most 63 characters. */
const qualifiedKey = z.string().refine((key) => {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : null;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== null && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}, "must be a qualified name ([prefix/]name)");
const labelValue = z
  .string()
  .max(63)
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, "must be a valid label value");

export const objectMeta = z.strictObject({
  name: dnsSubdomain,
  namespace: dnsLabel.optional(),
  labels: z.record(qualifiedKey, labelValue).optional(),
  annotations: z.record(qualifiedKey, z.string()).optional(),
});

/** metadata of a pod template: no name of its own. */
const templateMeta = z.strictObject({
  labels: z.record(qualifiedKey, labelValue).optional(),
  annotations: z.record(qualifiedKey, z.string()).optional(),
});

const int32 = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(2 ** 31 - 1);
const nonNegative = int32.min(0);
const port = z.number().int().min(1).max(65535);
const quantity = z
  .union([z.string(), z.number()])
  .refine(
    (q) => /^[+]?(\d+(\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/.test(String(q)),
    "must be a Kubernetes quantity (e.g. 100m, 256Mi)",
  );

const keySelector = z.strictObject({
  name: dnsSubdomain,
  key: z.string().min(1),
  optional: z.boolean().optional(),
});

const envVar = z
  .strictObject({
    name: z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, "must be a C identifier-like name"),
    value: z.string().optional(),
    valueFrom: z
      .strictObject({
        secretKeyRef: keySelector.optional(),
        configMapKeyRef: keySelector.optional(),
        fieldRef: z.strictObject({ fieldPath: z.string(), apiVersion: z.string().optional() }).optional(),
        resourceFieldRef: z
          .strictObject({
            resource: z.string(),
            containerName: z.string().optional(),
            divisor: quantity.optional(),
          })
          .optional(),
      })
      .refine((v) => Object.keys(v).length === 1, "must name exactly one source")
      .optional(),
  })
  .refine(
    (e) => !(e.value !== undefined && e.valueFrom !== undefined),
    "may not set both value and valueFrom",
  );

const envFromSource = z.strictObject({
  prefix: z.string().optional(),
  configMapRef: z.strictObject({ name: dnsSubdomain, optional: z.boolean().optional() }).optional(),
  secretRef: z.strictObject({ name: dnsSubdomain, optional: z.boolean().optional() }).optional(),
});

const resourceList = z.partialRecord(z.enum(["cpu", "memory", "ephemeral-storage"]), quantity);
const resources = z.strictObject({ requests: resourceList.optional(), limits: resourceList.optional() });

const probe = z
  .strictObject({
    httpGet: z
      .strictObject({
        path: z.string().startsWith("/").optional(),
        port: z.union([port, z.string()]),
        host: z.string().optional(),
        scheme: z.enum(["HTTP", "HTTPS"]).optional(),
        httpHeaders: z.array(z.strictObject({ name: z.string(), value: z.string() })).optional(),
      })
      .optional(),
    tcpSocket: z.strictObject({ port: z.union([port, z.string()]), host: z.string().optional() }).optional(),
    exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
    grpc: z.strictObject({ port, service: z.string().optional() }).optional(),
    initialDelaySeconds: nonNegative.optional(),
    periodSeconds: int32.min(1).optional(),
    timeoutSeconds: int32.min(1).optional(),
    successThreshold: int32.min(1).optional(),
    failureThreshold: int32.min(1).optional(),
    terminationGracePeriodSeconds: nonNegative.optional(),
  })
  .refine(
    (p) => [p.httpGet, p.tcpSocket, p.exec, p.grpc].filter((h) => h !== undefined).length === 1,
    "must have exactly one handler (httpGet, tcpSocket, exec or grpc)",
  );

const seccompProfile = z.strictObject({
  type: z.enum(["RuntimeDefault", "Localhost", "Unconfined"]),
  localhostProfile: z.string().optional(),
});

const containerSecurityContext = z.strictObject({
  allowPrivilegeEscalation: z.boolean().optional(),
  capabilities: z
    .strictObject({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() })
    .optional(),
  privileged: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  runAsGroup: nonNegative.optional(),
  runAsNonRoot: z.boolean().optional(),
  runAsUser: nonNegative.optional(),
  seccompProfile: seccompProfile.optional(),
});

export const container = z.strictObject({
  name: dnsLabel,
  image: z.string().min(1),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  ports: z
    .array(
      z.strictObject({
        name: dnsLabel.max(15).optional(),
        containerPort: port,
        protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
      }),
    )
    .optional(),
  env: z.array(envVar).optional(),
  envFrom: z.array(envFromSource).optional(),
  resources: resources.optional(),
  readinessProbe: probe.optional(),
  livenessProbe: probe.optional(),
  startupProbe: probe.optional(),
  securityContext: containerSecurityContext.optional(),
  volumeMounts: z
    .array(
      z.strictObject({
        name: dnsLabel,
        mountPath: z.string().startsWith("/"),
        readOnly: z.boolean().optional(),
        subPath: z.string().optional(),
      }),
    )
    .optional(),
  terminationMessagePolicy: z.enum(["File", "FallbackToLogsOnError"]).optional(),
});

const volume = z
  .strictObject({
    name: dnsLabel,
    emptyDir: z
      .strictObject({ medium: z.enum(["", "Memory"]).optional(), sizeLimit: quantity.optional() })
      .optional(),
    configMap: z
      .strictObject({
        name: dnsSubdomain,
        optional: z.boolean().optional(),
        defaultMode: int32.optional(),
        items: z.array(z.strictObject({ key: z.string(), path: z.string() })).optional(),
      })
      .optional(),
    secret: z
      .strictObject({
        secretName: dnsSubdomain,
        optional: z.boolean().optional(),
        defaultMode: int32.optional(),
        items: z.array(z.strictObject({ key: z.string(), path: z.string() })).optional(),
      })
      .optional(),
  })
  .refine((v) => Object.keys(v).length === 2, "must have exactly one volume source");

const podSpec = z.strictObject({
  containers: z.array(container).min(1),
  initContainers: z.array(container).optional(),
  restartPolicy: z.enum(["Always", "OnFailure", "Never"]).optional(),
  serviceAccountName: dnsSubdomain.optional(),
  automountServiceAccountToken: z.boolean().optional(),
  enableServiceLinks: z.boolean().optional(),
  terminationGracePeriodSeconds: nonNegative.optional(),
  activeDeadlineSeconds: int32.min(1).optional(),
  priorityClassName: z.string().optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  imagePullSecrets: z.array(z.strictObject({ name: dnsSubdomain })).optional(),
  securityContext: z
    .strictObject({
      runAsNonRoot: z.boolean().optional(),
      runAsUser: nonNegative.optional(),
      runAsGroup: nonNegative.optional(),
      fsGroup: nonNegative.optional(),
      supplementalGroups: z.array(nonNegative).optional(),
      seccompProfile: seccompProfile.optional(),
    })
    .optional(),
  volumes: z.array(volume).optional(),
});

const typeMeta = <V extends string, K extends string>(apiVersion: V, kind: K) => ({
  apiVersion: z.literal(apiVersion),
  kind: z.literal(kind),
  metadata: objectMeta,
});

const namespace = z.strictObject({
  ...typeMeta("v1", "Namespace"),
  spec: z.strictObject({ finalizers: z.array(z.string()).optional() }).optional(),
});

const configMap = z.strictObject({
  ...typeMeta("v1", "ConfigMap"),
  data: z
    .record(z.string().regex(/^[-._a-zA-Z0-9]+$/, "must be a valid ConfigMap key"), z.string())
    .optional(),
  binaryData: z.record(z.string(), z.base64()).optional(),
  immutable: z.boolean().optional(),
});

/** Modelled so a Secret is recognised (and then refused by the no-secrets-in-git check). */
const secret = z.strictObject({
  ...typeMeta("v1", "Secret"),
  type: z.string().optional(),
  data: z.record(z.string(), z.base64()).optional(),
  stringData: z.record(z.string(), z.string()).optional(),
  immutable: z.boolean().optional(),
});

const serviceAccount = z.strictObject({
  ...typeMeta("v1", "ServiceAccount"),
  automountServiceAccountToken: z.boolean().optional(),
  imagePullSecrets: z.array(z.strictObject({ name: dnsSubdomain })).optional(),
});

const service = z.strictObject({
  ...typeMeta("v1", "Service"),
  spec: z.strictObject({
    type: z.enum(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]).optional(),
    selector: z.record(z.string(), z.string()).optional(),
    ports: z
      .array(
        z.strictObject({
          name: dnsLabel.optional(),
          port,
          targetPort: z.union([port, z.string()]).optional(),
          protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
          appProtocol: z.string().optional(),
        }),
      )
      .optional(),
    externalName: z.string().optional(),
  }),
});

const deployment = z.strictObject({
  ...typeMeta("apps/v1", "Deployment"),
  spec: z.strictObject({
    replicas: nonNegative.optional(),
    selector: z.strictObject({ matchLabels: z.record(z.string(), z.string()) }),
    template: z.strictObject({ metadata: templateMeta.optional(), spec: podSpec }),
    revisionHistoryLimit: nonNegative.optional(),
    progressDeadlineSeconds: int32.min(1).optional(),
  }),
});

const job = z.strictObject({
  ...typeMeta("batch/v1", "Job"),
  spec: z.strictObject({
    template: z.strictObject({
      metadata: templateMeta.optional(),
      spec: podSpec.refine(
        (spec) => spec.restartPolicy === "Never" || spec.restartPolicy === "OnFailure",
        "a Job's pods need restartPolicy Never or OnFailure",
      ),
    }),
    backoffLimit: nonNegative.optional(),
    activeDeadlineSeconds: int32.min(1).optional(),
    ttlSecondsAfterFinished: nonNegative.optional(),
    completions: nonNegative.optional(),
    parallelism: nonNegative.optional(),
    suspend: z.boolean().optional(),
  }),
});

// ── Knative Eventing (eventing-kafka-broker) ──

const kReference = z.strictObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  name: dnsSubdomain,
  namespace: dnsLabel.optional(),
});

/** duck/v1 Destination: a reference, a URI, or a URI relative to the reference's address. */
const destination = z
  .strictObject({
    ref: kReference.optional(),
    uri: z.string().min(1).optional(),
    CACerts: z.string().optional(),
    audience: z.string().optional(),
  })
  .refine((d) => d.ref !== undefined || d.uri !== undefined, "needs ref, uri or both");

const ISO8601_DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

/** eventing duck/v1 DeliverySpec (knative/docs eventing/event-delivery.md). */
const delivery = z.strictObject({
  deadLetterSink: destination.optional(),
  retry: int32.min(0).optional(),
  backoffPolicy: z.enum(["linear", "exponential"]).optional(),
  backoffDelay: z.string().regex(ISO8601_DURATION, "must be an ISO 8601 duration, e.g. PT0.5S").optional(),
  timeout: z.string().regex(ISO8601_DURATION, "must be an ISO 8601 duration").optional(),
  retryAfterMax: z.string().regex(ISO8601_DURATION, "must be an ISO 8601 duration").optional(),
});

const secretValue = z.strictObject({ secretKeyRef: keySelector });

const kafkaSource = z.strictObject({
  ...typeMeta("sources.knative.dev/v1beta1", "KafkaSource"),
  spec: z.strictObject({
    bootstrapServers: z.array(z.string().min(1)).min(1),
    topics: z.array(z.string().min(1)).min(1),
    consumerGroup: z.string().min(1).optional(),
    initialOffset: z.enum(["earliest", "latest"]).optional(),
    consumers: int32.min(1).optional(),
    ordering: z.enum(["ordered", "unordered"]).optional(),
    net: z
      .strictObject({
        sasl: z
          .strictObject({
            enable: z.boolean().optional(),
            user: secretValue.optional(),
            password: secretValue.optional(),
            type: secretValue.optional(),
          })
          .optional(),
        tls: z
          .strictObject({
            enable: z.boolean().optional(),
            cert: secretValue.optional(),
            key: secretValue.optional(),
            caCert: secretValue.optional(),
          })
          .optional(),
      })
      .optional(),
    delivery: delivery.optional(),
    sink: destination,
    ceOverrides: z.strictObject({ extensions: z.record(z.string(), z.string()).optional() }).optional(),
  }),
});

const kafkaSink = z.strictObject({
  ...typeMeta("eventing.knative.dev/v1alpha1", "KafkaSink"),
  spec: z.strictObject({
    topic: z.string().min(1),
    bootstrapServers: z.array(z.string().min(1)).min(1),
    numPartitions: int32.min(1).optional(),
    replicationFactor: int32.min(1).optional(),
    contentMode: z.enum(["binary", "structured"]).optional(),
    auth: z
      .strictObject({ secret: z.strictObject({ ref: z.strictObject({ name: dnsSubdomain }) }) })
      .optional(),
  }),
});

// ── Dapr HTTPEndpoint (dapr/dapr pkg/apis/httpEndpoint/v1alpha1/types.go; not in the catalog) ──

const daprSecretKeyRef = z.strictObject({ name: z.string().min(1), key: z.string().optional() });
const daprTlsField = z.strictObject({
  value: z.string().optional(),
  secretKeyRef: daprSecretKeyRef.optional(),
});

const httpEndpoint = z.strictObject({
  ...typeMeta("dapr.io/v1alpha1", "HTTPEndpoint"),
  spec: z.strictObject({
    baseUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
    headers: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          value: z.string().optional(),
          secretKeyRef: daprSecretKeyRef.optional(),
          envRef: z.string().optional(),
        }),
      )
      .optional(),
    tlsRootCA: daprTlsField.optional(),
    tlsClientCert: daprTlsField.optional(),
    tlsClientKey: daprTlsField.optional(),
    tlsRenegotiation: z.enum(["Never", "OnceAsClient", "FreelyAsClient"]).optional(),
  }),
  auth: z.strictObject({ secretStore: z.string().min(1) }).optional(),
  scopes: z.array(dnsLabel).optional(),
});

/** Kinds validated here, by `apiVersion/kind`. */
export const ZOD_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  "v1/Namespace": namespace,
  "v1/ConfigMap": configMap,
  "v1/Secret": secret,
  "v1/ServiceAccount": serviceAccount,
  "v1/Service": service,
  "apps/v1/Deployment": deployment,
  "batch/v1/Job": job,
  "sources.knative.dev/v1beta1/KafkaSource": kafkaSource,
  "eventing.knative.dev/v1alpha1/KafkaSink": kafkaSink,
  "dapr.io/v1alpha1/HTTPEndpoint": httpEndpoint,
};

/** "a.b[0].c: message" for each issue, with the offending key named for unknown fields. */
export function formatZodIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = issue.path.length ? `/${issue.path.join("/")}` : "/";
    if (issue.code === "unrecognized_keys")
      return `${where}: unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    return `${where}: ${issue.message}`;
  });
}
