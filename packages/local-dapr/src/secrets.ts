// Secret stores for local use (https://docs.dapr.io/reference/components-reference/supported-secret-stores/):
// secretstores.local.file (a JSON file; nested keys flattened with `nestedSeparator`, or one
// secret per top-level key with `multiValued`) and secretstores.local.env (the sidecar's own
// environment, optionally limited to a `prefix`, never DAPR_* or APP_API_TOKEN).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ApiError } from "./http-util.ts";
import { parseBool, ResourceError, type ComponentResource } from "./resources.ts";

export interface SecretStore {
  /** null when the secret does not exist. */
  get(name: string): Record<string, string> | null;
  bulk(): Record<string, Record<string, string>>;
}

function flatten(
  value: unknown,
  separator: string,
  prefix = "",
  out: Record<string, string> = {},
): Record<string, string> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) {
      flatten(inner, separator, prefix ? `${prefix}${separator}${key}` : key, out);
    }
  } else if (prefix) {
    out[prefix] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}

async function localFileStore(component: ComponentResource, cwd: string): Promise<SecretStore> {
  const file = component.metadata.secretsFile;
  if (!file) throw new ResourceError(`${component.file}: ${component.name}: secretsFile is required`);
  const separator = component.metadata.nestedSeparator || ":";
  const multiValued = parseBool(component.metadata.multiValued ?? "false") ?? false;
  const fullPath = path.resolve(cwd, file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(fullPath, "utf8"));
  } catch (error) {
    throw new ResourceError(
      `${component.file}: secret store "${component.name}" cannot read ${fullPath}: ${(error as Error).message}`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ResourceError(`${fullPath}: the secrets file must hold a JSON object`);
  }
  const secrets = new Map<string, Record<string, string>>();
  if (multiValued) {
    for (const [name, value] of Object.entries(parsed)) {
      secrets.set(
        name,
        value !== null && typeof value === "object"
          ? flatten(value, separator)
          : flatten(value, separator, name),
      );
    }
  } else {
    for (const [name, value] of Object.entries(flatten(parsed, separator)))
      secrets.set(name, { [name]: value });
  }
  return {
    get: (name) => secrets.get(name) ?? null,
    bulk: () => Object.fromEntries(secrets),
  };
}

function localEnvStore(component: ComponentResource, env: NodeJS.ProcessEnv): SecretStore {
  const prefix = component.metadata.prefix ?? "";
  const readable = (name: string) => !name.startsWith("DAPR_") && name !== "APP_API_TOKEN";
  return {
    get(name) {
      const variable = prefix + name;
      const value = env[variable];
      return readable(variable) && value !== undefined ? { [name]: value } : null;
    },
    bulk() {
      const out: Record<string, Record<string, string>> = {};
      for (const [variable, value] of Object.entries(env)) {
        if (value === undefined || !variable.startsWith(prefix) || !readable(variable)) continue;
        const name = variable.slice(prefix.length);
        out[name] = { [name]: value };
      }
      return out;
    },
  };
}

export async function createSecretStore(
  component: ComponentResource,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<SecretStore> {
  if (component.type === "secretstores.local.file") return localFileStore(component, cwd);
  if (component.type === "secretstores.local.env") return localEnvStore(component, env);
  throw new ResourceError(`${component.file}: secret store type ${component.type} is not supported locally`);
}

export class SecretStores {
  constructor(private readonly stores: Map<string, SecretStore>) {}

  private store(name: string): SecretStore {
    if (this.stores.size === 0) {
      throw new ApiError(500, "ERR_SECRET_STORES_NOT_CONFIGURED", "secret store is not configured");
    }
    const store = this.stores.get(name);
    if (!store)
      throw new ApiError(400, "ERR_SECRET_STORE_NOT_FOUND", `failed finding secret store with key ${name}`);
    return store;
  }

  get(storeName: string, name: string): Record<string, string> | null {
    return this.store(storeName).get(name);
  }

  bulk(storeName: string): Record<string, Record<string, string>> {
    return this.store(storeName).bulk();
  }

  /** Resolves a component's `secretKeyRef` metadata (startup: a missing secret is fatal, as in daprd). */
  resolve(component: ComponentResource): ComponentResource {
    const refs = Object.entries(component.secretRefs);
    if (refs.length === 0) return component;
    const storeName = component.secretStore;
    const store = storeName ? this.stores.get(storeName) : undefined;
    if (!store) {
      throw new ResourceError(
        `${component.file}: component "${component.name}" reads secrets but auth.secretStore ` +
          `${storeName ? `"${storeName}" is not a loaded secret store` : "is not set"}`,
      );
    }
    const metadata = { ...component.metadata };
    for (const [field, ref] of refs) {
      const value = store.get(ref.name)?.[ref.key];
      if (value === undefined) {
        throw new ResourceError(
          `${component.file}: component "${component.name}" needs secret "${ref.name}" (key "${ref.key}") ` +
            `for ${field}, which secret store "${storeName}" does not have`,
        );
      }
      metadata[field] = value;
    }
    return { ...component, metadata };
  }
}
