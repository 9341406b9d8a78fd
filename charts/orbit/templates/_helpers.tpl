{{/*
Shared pieces of Orbit's templates. Every template renders an object of knative/ as the overlays
render it: tests/manifests/helm-chart.helm.test.ts compares the two, object by object.
*/}}

{{/*
The namespace every object goes to: the release's, which must be `namespace.name` when that is set.
*/}}
{{- define "orbit.namespace" -}}
{{- $want := .Values.namespace.name -}}
{{- if and $want (ne $want .Release.Namespace) -}}
{{- fail (printf "these values are for namespace %q, but the release is in %q (helm -n %s)" $want .Release.Namespace $want) -}}
{{- end -}}
{{- .Release.Namespace -}}
{{- end }}

{{/*
metadata.labels of an object, as YAML (nothing when there are none). Takes a dict:
  root    the chart's context
  labels  the object's own labels (optional)
  bare    true for objects the overlays add themselves (no app.kubernetes.io/part-of: orbit,
          which knative/base's `labels:` gives only to what the base holds)
The environment's label, which the environment overlays put on every object, is added last.
*/}}
{{- define "orbit.labels" -}}
{{- $labels := deepCopy (.labels | default dict) -}}
{{- if not .bare }}{{ $_ := set $labels "app.kubernetes.io/part-of" "orbit" }}{{ end -}}
{{- with .root.Values.environment }}{{ $_ := set $labels "orbit.dev/environment" . }}{{ end -}}
{{- if $labels }}{{ toYaml $labels }}{{ end -}}
{{- end }}

{{/* An app's image: <registry>/orbit-<name>:<tag>. Takes a dict: root, name. */}}
{{- define "orbit.image" -}}
{{- printf "%s/orbit-%s:%s" .root.Values.image.registry .name .root.Values.image.tag -}}
{{- end }}

{{/* A number as the string Kubernetes annotations and env values want: 50 → "50". */}}
{{- define "orbit.string" -}}
{{- if kindIs "string" . }}{{ . | quote }}{{ else }}{{ . | int64 | toString | quote }}{{ end -}}
{{- end }}

{{/* Whether a KafkaSource delivers to the app ("true" or ""). Takes a dict: root, name. */}}
{{- define "orbit.eventingDelivered" -}}
{{- if eq .root.Values.delivery "eventing" -}}
{{- range .root.Values.eventing.consumers }}{{ if eq .app $.name }}true{{ end }}{{ end -}}
{{- end -}}
{{- end }}

{{/* Whether an app's Service is rendered ("true" or ""). Takes the app's values. */}}
{{- define "orbit.enabled" -}}
{{- if or (not (hasKey . "enabled")) .enabled }}true{{ end -}}
{{- end }}

{{/*
The autoscaling annotations of an app: its role's `scaling`, then, for a consumer a KafkaSource
delivers to, scale to zero with `eventing.scaleToZeroRetention` (not for an owner of Dapr Jobs:
they fire only into a running sidecar), then the app's own `scale`.
Takes a dict: root, name, app.
*/}}
{{- define "orbit.scaleAnnotations" -}}
{{- $root := .root -}}
{{- $scale := deepCopy (index $root.Values.scaling .app.role | default dict) -}}
{{- if and (include "orbit.eventingDelivered" (dict "root" $root "name" .name)) (ne .app.role "jobs") -}}
{{- $_ := set $scale "min" 0 -}}
{{- $_ := set $scale "retention" $root.Values.eventing.scaleToZeroRetention -}}
{{- end -}}
{{- range $key, $value := (.app.scale | default dict) }}{{ $_ := set $scale $key $value }}{{ end -}}
autoscaling.knative.dev/class: kpa.autoscaling.knative.dev
autoscaling.knative.dev/metric: concurrency
autoscaling.knative.dev/target: {{ include "orbit.string" $scale.target }}
{{- if hasKey $scale "min" }}
autoscaling.knative.dev/min-scale: {{ include "orbit.string" $scale.min }}
{{- end }}
{{- if hasKey $scale "max" }}
autoscaling.knative.dev/max-scale: {{ include "orbit.string" $scale.max }}
{{- end }}
{{- with $scale.retention }}
autoscaling.knative.dev/scale-to-zero-pod-retention-period: {{ . | quote }}
{{- end }}
{{- if hasKey $scale "targetBurstCapacity" }}
autoscaling.knative.dev/target-burst-capacity: {{ include "orbit.string" $scale.targetBurstCapacity }}
{{- end }}
{{- end }}

{{/* containerConcurrency of an app's revisions, when its role or its own `scale` sets one. */}}
{{- define "orbit.containerConcurrency" -}}
{{- $scale := merge (deepCopy (.app.scale | default dict)) (index .root.Values.scaling .app.role | default dict) -}}
{{- if hasKey $scale "containerConcurrency" }}
containerConcurrency: {{ $scale.containerConcurrency | int64 }}
{{- end }}
{{- end }}

{{/*
The Dapr sidecar every app runs (knative/base/function-runtime.yaml, web.yaml): app-id = the
Service's name, metrics on 19090 (Knative's queue-proxy owns 9090), the app API token, the app
health check, a graceful shutdown. Takes a dict: root, name.
*/}}
{{- define "orbit.daprAnnotations" -}}
dapr.io/enabled: "true"
dapr.io/app-id: {{ .name }}
dapr.io/app-port: "8080"
dapr.io/app-protocol: http
dapr.io/config: tracing
dapr.io/metrics-port: "19090"
dapr.io/log-as-json: "true"
dapr.io/app-token-secret: {{ .root.Values.secrets.appToken }}
dapr.io/sidecar-cpu-request: {{ .root.Values.sidecar.cpuRequest | quote }}
dapr.io/sidecar-memory-request: {{ .root.Values.sidecar.memoryRequest | quote }}
dapr.io/sidecar-cpu-limit: {{ .root.Values.sidecar.cpuLimit | quote }}
dapr.io/sidecar-memory-limit: {{ .root.Values.sidecar.memoryLimit | quote }}
dapr.io/sidecar-seccomp-profile-type: RuntimeDefault
dapr.io/enable-app-health-check: "true"
dapr.io/app-health-check-path: /readyz
dapr.io/block-shutdown-duration: 10s
dapr.io/graceful-shutdown-seconds: "20"
{{- end }}

{{/* An env var from a Secret's key. Takes a list: name, secret, key. */}}
{{- define "orbit.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 }}
      key: {{ index . 2 }}
{{- end }}

{{/* Readiness (run by queue-proxy: no periodSeconds, so a cold start is short) and liveness. */}}
{{- define "orbit.probes" -}}
readinessProbe:
  httpGet:
    path: /readyz
    port: 8080
  timeoutSeconds: 3
livenessProbe:
  httpGet:
    path: /healthz
    port: 8080
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
{{- end }}

{{/* The distroless `nonroot` user (65532), nothing written to disk. */}}
{{- define "orbit.securityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop: [ALL]
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{/*
Where KafkaSources and KafkaSinks dial Kafka: `kafka.sourceBootstrapServers`, or each of
`kafka.brokers` with a short host name qualified by the namespace (their dispatcher runs in
knative-eventing, where a short name would not resolve to this namespace's service).
*/}}
{{- define "orbit.sourceBootstrapServers" -}}
{{- $servers := .Values.kafka.sourceBootstrapServers -}}
{{- if not $servers -}}
{{- $namespace := include "orbit.namespace" . -}}
{{- $servers = list -}}
{{- range .Values.kafka.brokers -}}
{{- $servers = append $servers (regexReplaceAll "^([^.:]+):([0-9]+)$" . (printf "${1}.%s.svc:${2}" $namespace)) -}}
{{- end -}}
{{- end -}}
{{- toYaml $servers -}}
{{- end }}
