// Where the model comes from: the Dapr secret store's secret `assistant-model` (keys base_url,
// model, api_key; a Kubernetes Secret in production, nothing in `make dev`'s local file unless you
// add it). No secret, no model: the deterministic brain answers and nothing leaves the machine.
import { DaprError, type DaprClient } from "#platform/dapr-client.ts";
import type { ModelConfig } from "./model.ts";

export const MODEL_SECRET = "assistant-model";
const CACHE_MS = 30_000;

/**
 * Dapr's answers that mean "there is no such secret here" rather than "the store failed": 204
 * (some stores), 500 ERR_SECRET_GET "… not found" (local.file, kubernetes), and a store that is
 * not configured for this app at all (400/401 ERR_SECRET_STORE_NOT_FOUND, 500
 * ERR_SECRET_STORES_NOT_CONFIGURED).
 */
function meansAbsent(error: unknown): boolean {
  if (!(error instanceof DaprError)) return false;
  if (
    error.body.includes("ERR_SECRET_STORE_NOT_FOUND") ||
    error.body.includes("ERR_SECRET_STORES_NOT_CONFIGURED")
  )
    return true;
  return error.body.includes("ERR_SECRET_GET") && /not found/i.test(error.body);
}

export function modelConfigReader(
  dapr: Pick<DaprClient, "getSecret">,
  store: string,
  now = () => Date.now(),
) {
  let cached: { at: number; config: ModelConfig | null } | null = null;
  return async function read(): Promise<ModelConfig | null> {
    if (cached && now() - cached.at < CACHE_MS) return cached.config;
    let config: ModelConfig | null = null;
    try {
      const secret = await dapr.getSecret(store, MODEL_SECRET);
      const baseUrl = secret?.base_url?.trim();
      const model = secret?.model?.trim();
      if (baseUrl && model) config = { baseUrl, model, apiKey: secret?.api_key?.trim() ?? "" };
    } catch (error) {
      if (!meansAbsent(error)) throw error;
    }
    cached = { at: now(), config };
    return config;
  };
}
