import { expect, test } from "vitest";
import { z } from "zod";
import { baseEnvSchema, EnvError, parseEnv } from "./env.ts";

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
