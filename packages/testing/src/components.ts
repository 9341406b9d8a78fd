// The Dapr component YAML the tests give a sidecar: one home, whichever helper starts the sidecar.

/**
 * A pubsub.redis component named `name` (served by the PostgreSQL broker; pubsub.kafka under the
 * same name on daprd), whose component-level redelivery of a failed message comes fast: the local
 * broker's after `redeliverInterval` at most, Kafka's consume retry (components-contrib
 * common/component/kafka, `backOff*`: constant 5 s by default, for ever) every `backOffDuration`.
 */
export function pubsubYaml(name = "pubsub", redeliverInterval = "200ms"): string {
  return `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: pubsub.redis
  version: v1
  metadata:
    - name: redisHost
      value: localhost:6379
    - name: redeliverInterval
      value: "${redeliverInterval}"
    - name: backOffDuration
      value: "${redeliverInterval}"
`;
}

/**
 * The `statestore` component (state.postgresql v2) on `connectionString`: the local sidecar keeps
 * its state in its own table and ignores it; daprd opens it (its tables get `tablePrefix`).
 */
export function stateStoreYaml(connectionString: string, scopes: string[] = []): string {
  return `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.postgresql
  version: v2
  metadata:
    - name: connectionString
      value: "${connectionString}"
    - name: tablePrefix
      value: dapr_
${scopes.length > 0 ? `scopes:\n${scopes.map((s) => `  - ${s}`).join("\n")}\n` : ""}`;
}

/** A `secretstore` (secretstores.local.file, multiValued) reading `file`. */
export function secretStoreYaml(file: string, name = "secretstore"): string {
  return `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: secretstores.local.file
  version: v1
  metadata:
    - name: secretsFile
      value: ${file}
    - name: nestedSeparator
      value: ":"
    - name: multiValued
      value: "true"
`;
}
