// OUTBOUND_ALLOW_LOOPBACK lets webhooks and pushes reach this machine's loopback: right for `make
// dev` and tests with local receivers, an SSRF hole in a cluster (the pod's loopback is its Dapr
// sidecar). No production manifest may set it, in its sources or in any rendered overlay.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { baseEnvSchema } from "#platform/env.ts";
import { readRunFile } from "../../scripts/dev.ts";
import { kustomizeBuild, RENDERS, REPO_ROOT } from "../../scripts/manifests.ts";

const SETTING = "OUTBOUND_ALLOW_LOOPBACK";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

test("the setting exists, is off unless set, and `make dev` sets it for the notifications function", () => {
  expect(baseEnvSchema.shape).toHaveProperty(SETTING);
  expect(baseEnvSchema.parse({ DATABASE_URL: "postgresql://h/db" })[SETTING]).toBe(false);
  expect(baseEnvSchema.parse({ DATABASE_URL: "postgresql://h/db", [SETTING]: "true" })[SETTING]).toBe(true);
  expect(baseEnvSchema.safeParse({ DATABASE_URL: "postgresql://h/db", [SETTING]: "yes" }).success).toBe(
    false,
  );
  const notifications = readRunFile().apps.find((app) => app.appID === "notifications");
  expect(notifications?.env[SETTING]).toBe("true");
});

test("no production manifest sets it, in its sources or in any rendered overlay; only dapr.yaml (development) does", async () => {
  const sources = [
    ...files(path.join(REPO_ROOT, "knative")),
    ...files(path.join(REPO_ROOT, "dapr-components")),
    path.join(REPO_ROOT, "Dockerfile"),
    path.join(REPO_ROOT, "web.Dockerfile"),
  ];
  expect(sources.length).toBeGreaterThan(20);
  const setting = (text: string) => text.includes(SETTING);
  // The search finds the setting where it is meant to be: the check below is about something.
  expect(setting(readFileSync(path.join(REPO_ROOT, "dapr.yaml"), "utf8"))).toBe(true);
  expect(
    sources
      .filter((file) => setting(readFileSync(file, "utf8")))
      .map((file) => path.relative(REPO_ROOT, file)),
  ).toEqual([]);
  for (const render of RENDERS) {
    const rendered = await kustomizeBuild(render.dir);
    expect(rendered, render.name).toContain("kind: Service");
    expect(setting(rendered), render.name).toBe(false);
  }
}, 60_000);
