import { expect, test } from "vitest";
import { z } from "zod";
import { baseEnvSchema, EnvError, parseEnv, requireDeliveryAuth } from "./env.ts";

test("applies defaults and coerces numbers", () => {
  const env = parseEnv(baseEnvSchema, { DATABASE_URL: "postgresql://u@localhost/db", PORT: "9090" });
  expect(env).toMatchObject({
    PORT: 9090,
    DAPR_HTTP_PORT: 3500,
    PUBSUB_NAME: "pubsub",
    BODY_LIMIT_BYTES: 65536,
    LOG_LEVEL: "info",
  });
});

test("the error names every bad variable and what is wrong with it", () => {
  let error: unknown;
  try {
    parseEnv(baseEnvSchema, {
      DATABASE_URL: "mysql://x",
      PORT: "eighty",
      LOG_LEVEL: "loud",
      DB_POOL_SIZE: "0",
    });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(EnvError);
  const message = (error as EnvError).message;
  expect(message).toMatch(/^Invalid environment:/);
  expect(message).toMatch(/- DATABASE_URL: must be a postgresql:\/\/ URL/);
  expect(message).toMatch(/- PORT: /);
  expect(message).toMatch(/- LOG_LEVEL: /);
  expect(message).toMatch(/- DB_POOL_SIZE: /);
  expect(message.split("\n")).toHaveLength(5);
});

test("a missing required variable is named as required", () => {
  expect(() => parseEnv(baseEnvSchema, {})).toThrow(/DATABASE_URL: is required/);
});

test("a function's own variables are checked with the base ones", () => {
  const schema = baseEnvSchema.extend({ VAPID_SUBJECT: z.string().startsWith("mailto:") });
  expect(() => parseEnv(schema, { DATABASE_URL: "postgres://h/db", VAPID_SUBJECT: "https://x" })).toThrow(
    /VAPID_SUBJECT/,
  );
});

test("delivery auth fails closed: no app token in production, or OIDC half configured, is refused", () => {
  const base = { DATABASE_URL: "postgresql://u@localhost/db" };
  const token = "t".repeat(32);
  const check = (env: Record<string, string>) => () => requireDeliveryAuth(parseEnv(baseEnvSchema, env));
  expect(check({ ...base, NODE_ENV: "production" })).toThrow(/APP_API_TOKEN: is required in production/);
  expect(check({ ...base, NODE_ENV: "production", APP_API_TOKEN: token })).not.toThrow();
  // Elsewhere it may be missing: the delivery routes then refuse every request.
  expect(check({ ...base, NODE_ENV: "development" })).not.toThrow();
  expect(() => parseEnv(baseEnvSchema, { ...base, APP_API_TOKEN: "short" })).toThrow(
    /APP_API_TOKEN: must be at least 32 characters/,
  );
  expect(check({ ...base, APP_API_TOKEN: token, DELIVERY_OIDC_AUDIENCE: "orbit.dev/deliveries/x" })).toThrow(
    /DELIVERY_OIDC_SUBJECTS: is required with DELIVERY_OIDC_AUDIENCE/,
  );
  expect(check({ ...base, DELIVERY_OIDC_SUBJECTS: "system:serviceaccount:orbit:*" })).toThrow(
    /DELIVERY_OIDC_AUDIENCE: is required with DELIVERY_OIDC_SUBJECTS/,
  );
  expect(() =>
    parseEnv(baseEnvSchema, { ...base, DELIVERY_OIDC_SUBJECTS: "system:serviceaccount:orbit:*,admin" }),
  ).toThrow(/DELIVERY_OIDC_SUBJECTS/);
});
