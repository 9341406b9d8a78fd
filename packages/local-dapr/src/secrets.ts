// Secret stores for local use (https://docs.dapr.io/reference/components-reference/supported-secret-stores/),
// as daprd 1.18.2 serves them (components-contrib secretstores/local, dapr pkg/api/universal/secrets.go):
// secretstores.local.file (a JSON file; nested keys flattened with `nestedSeparator`, or one
// secret per top-level key with `multiValued`) and secretstores.local.env (the sidecar's own
// environment, optionally limited to a `prefix`, never DAPR_* or APP_API_TOKEN).
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "#platform/logger.ts";
import { goSprintS } from "./go-format.ts";
import { ApiError, sendEmpty, sendJson, type Router } from "./http-util.ts";
import { parseBool, ResourceError, type ComponentResource } from "./resources.ts";

export interface SecretStore {
  /** The secret's keys and values; throws the store's error when it has no such secret. */
  get(name: string): Record<string, string>;
  bulk(): Record<string, Record<string, string>>;
}

/** The store's own error for a secret it does not have (answered as 500 ERR_SECRET_GET). */
class SecretNotFound extends Error {}

/**
 * secretstores.local.file visitJSONObject/visitArray/visitPrimitive: nested objects and arrays
 * (by index) become keys joined with the separator, and every leaf is fmt.Sprintf("%s", v) of
 * what encoding/json decoded: a string as is, a number `%!s(float64=5432)`, a boolean
 * `%!s(bool=true)`, null `%!s(<nil>)`. Empty objects and arrays leave nothing.
 */
function flatten(
  value: unknown,
  separator: string,
  prefix: string[] = [],
  out: Record<string, string> = {},
): Record<string, string> {
  if (Array.isArray(value))
    value.forEach((inner, i) => flatten(inner, separator, [...prefix, String(i)], out));
  else if (value !== null && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) flatten(inner, separator, [...prefix, key], out);
  } else out[prefix.join(separator)] = goSprintS(value);
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
    // A top-level string is a secret of one key, an object a secret of its flattened fields;
    // daprd drops every other top-level value (numbers, booleans, null, arrays).
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value === "string") secrets.set(name, { [name]: value });
      else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        secrets.set(name, flatten(value, separator));
      }
    }
  } else {
    for (const [name, value] of Object.entries(flatten(parsed, separator))) {
      secrets.set(name, { [name]: value });
    }
  }
  return {
    get(name) {
      const secret = secrets.get(name);
      if (!secret) throw new SecretNotFound(`secret ${name} not found`);
      return secret;
    },
    bulk: () => Object.fromEntries(secrets),
  };
}

/**
 * secretstores.local.env: every name is answered, with "" when the variable is not set or may
 * not be read (APP_API_TOKEN and DAPR_*, in any case); bulk lists the readable variables that
 * start with the prefix and are longer than it.
 */
function localEnvStore(component: ComponentResource, env: NodeJS.ProcessEnv): SecretStore {
  const prefix = component.metadata.prefix ?? "";
  const readable = (variable: string) => {
    const upper = variable.toUpperCase();
    return upper !== "APP_API_TOKEN" && !upper.startsWith("DAPR_");
  };
  return {
    get(name) {
      const variable = prefix + name;
      return { [name]: readable(variable) ? (env[variable] ?? "") : "" };
    },
    bulk() {
      const out: Record<string, Record<string, string>> = {};
      for (const [variable, value] of Object.entries(env)) {
        if (value === undefined || !readable(variable)) continue;
        if (prefix && (variable.length <= prefix.length || !variable.startsWith(prefix))) continue;
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
  constructor(
    private readonly stores: Map<string, SecretStore>,
    private readonly log?: Logger,
  ) {}

  /** pkg/api/universal secretsValidateRequest: an unknown store is 401 (messages.ErrSecretStoreNotFound). */
  private store(name: string): SecretStore {
    if (this.stores.size === 0) {
      throw new ApiError(500, "ERR_SECRET_STORES_NOT_CONFIGURED", "secret store is not configured");
    }
    const store = this.stores.get(name);
    if (!store)
      throw new ApiError(401, "ERR_SECRET_STORE_NOT_FOUND", `failed finding secret store with key ${name}`);
    return store;
  }

  /** GET /v1.0/secrets/{store}/{name}: a secret the store does not have is 500 ERR_SECRET_GET. */
  get(storeName: string, name: string): Record<string, string> {
    const store = this.store(storeName);
    try {
      return store.get(name);
    } catch (error) {
      throw new ApiError(
        500,
        "ERR_SECRET_GET",
        `failed getting secret with key ${name} from secret store ${storeName}: ${(error as Error).message}`,
      );
    }
  }

  bulk(storeName: string): Record<string, Record<string, string>> {
    return this.store(storeName).bulk();
  }

  /**
   * A component's `secretKeyRef` metadata, as daprd resolves it (pkg/runtime/processor/secret
   * ProcessResource): from the store `auth.secretStore` names. While that store is not loaded the
   * component waits for it, so one that never loads leaves the component unloaded (null here;
   * daprd starts all the same). A secret the store does not have, or an empty value, leaves the
   * field empty: daprd logs the store's error and goes on.
   */
  resolve(component: ComponentResource): ComponentResource | null {
    const refs = Object.entries(component.secretRefs);
    if (refs.length === 0) return component;
    const storeName = component.secretStore ?? "";
    const store = this.stores.get(storeName);
    if (!store) {
      this.log?.warn(
        `Component ${component.name} references a secret store that isn't loaded: ${storeName}`,
        { component: component.name, secretStore: storeName },
      );
      return null;
    }
    const metadata = { ...component.metadata };
    for (const [field, ref] of refs) {
      metadata[field] = "";
      let secret: Record<string, string>;
      try {
        secret = store.get(ref.name);
      } catch (error) {
        this.log?.error(`Error getting secret: ${(error as Error).message}`, {
          component: component.name,
          field,
        });
        continue;
      }
      const value = secret[ref.key];
      if (value) metadata[field] = value;
    }
    return { ...component, metadata };
  }
}

/** The secrets API: one secret, or every secret of a store. */
export function registerSecretsRoutes(router: Router, stores: SecretStores): void {
  router.on("GET", "/v1.0/secrets/:store/bulk", ({ res, params }) => {
    sendJson(res, 200, stores.bulk(params.store!));
  });
  router.on("GET", "/v1.0/secrets/:store/*name", ({ res, params }) => {
    const secret = stores.get(params.store!, params.name!);
    if (!secret) sendEmpty(res);
    else sendJson(res, 200, secret);
  });
}
