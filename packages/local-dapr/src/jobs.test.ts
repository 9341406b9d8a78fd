// Conformance: the Jobs API and trigger delivery (reference §2; dapr tests/integration/suite/daprd/jobs).
import { afterEach, expect, test } from "vitest";
import {
  call,
  cleanupAll,
  sidecar,
  startApp,
  uid,
  waitFor,
  type TestApp,
  localOnly,
} from "./test-support.ts";

afterEach(cleanupAll);

async function jobApp(appId = uid("jobs")) {
  const app = await startApp();
  const started = await sidecar({ appId, appPort: app.port });
  await started.appReady;
  return { app, sidecar: started, port: started.httpPort };
}

const schedule = (port: number, name: string, job: unknown, version = "v1.0-alpha1") =>
  call(port, "POST", `/${version}/jobs/${encodeURIComponent(name)}`, job);

const triggers = (app: TestApp, name: string) => app.received(`/job/${name}`);

/** `data` as daprd's GET answers it: a protobuf Any holding a google.protobuf.Value, in protojson. */
const anyValue = (value: unknown) => ({ "@type": "type.googleapis.com/google.protobuf.Value", value });
/** What the Scheduler stores, and GET shows, when a job names no failure policy. */
const DEFAULT_POLICY = { constant: { interval: "1s", maxRetries: 3 } };

test("POST schedules a job (204) and GET returns it as given, in camelCase, data as a protojson Any", async () => {
  const { port } = await jobApp();
  const job = {
    schedule: "@every 1h",
    dueTime: "1h",
    repeats: 3,
    ttl: "3h",
    data: { tenant: "a", n: [1, 2] },
    failurePolicy: { constant: { interval: "10s", maxRetries: 5 } },
  };
  const created = await schedule(port, "report", job, "v1.0");
  expect(created.status).toBe(204);
  expect(created.text).toBe("");
  const fetched = await call(port, "GET", "/v1.0/jobs/report");
  expect(fetched.status).toBe(200);
  expect(fetched.json).toEqual({ name: "report", ...job, data: anyValue(job.data) });
});

test("the stable /v1.0/jobs path and the deprecated /v1.0-alpha1/jobs path are one API with the same answers", async () => {
  const { port } = await jobApp();
  expect((await schedule(port, "via-alpha", { dueTime: "1h", data: "a" }, "v1.0-alpha1")).status).toBe(204);
  expect((await schedule(port, "via-stable", { dueTime: "1h", data: 7 }, "v1.0")).status).toBe(204);
  for (const [name, data] of [
    ["via-alpha", "a"],
    ["via-stable", 7],
  ] as const) {
    const stable = await call(port, "GET", `/v1.0/jobs/${name}`);
    const alpha = await call(port, "GET", `/v1.0-alpha1/jobs/${name}`);
    expect(stable.json).toEqual({
      name,
      dueTime: "1h",
      data: anyValue(data),
      failurePolicy: DEFAULT_POLICY,
    });
    expect(alpha.status).toBe(200);
    expect(alpha.text).toBe(stable.text);
  }
  // A name taken through one path is taken on the other (409), and DELETE on either removes it.
  expect((await schedule(port, "via-alpha", { dueTime: "1h" }, "v1.0")).status).toBe(409);
  expect((await call(port, "DELETE", "/v1.0/jobs/via-alpha")).status).toBe(204);
  expect((await call(port, "DELETE", "/v1.0-alpha1/jobs/via-stable")).status).toBe(204);
  for (const path of ["/v1.0/jobs/via-alpha", "/v1.0-alpha1/jobs/via-stable"])
    expect((await call(port, "GET", path)).json).toMatchObject({ errorCode: "DAPR_SCHEDULER_GET_JOB" });
});

localOnly("snake_case fields are accepted: due_time, failure_policy, max_retries", async () => {
  const { port } = await jobApp();
  const created = await schedule(port, "snake", {
    due_time: "1h",
    failure_policy: { constant: { interval: "2s", max_retries: 1 } },
  });
  expect(created.status).toBe(204);
  // A job without data has no data field (as daprd 1.18.3; 1.18.2 cannot render it: README).
  expect((await call(port, "GET", "/v1.0/jobs/snake")).json).toEqual({
    name: "snake",
    dueTime: "1h",
    failurePolicy: { constant: { interval: "2s", maxRetries: 1 } },
  });
});

test("GET shows the failure policy the Scheduler holds and any JSON value as data (as daprd 1.18.2 answers)", async () => {
  const { port } = await jobApp();
  await schedule(port, "drop", { dueTime: "1h", data: 1, failurePolicy: { drop: {} } });
  await schedule(port, "forever", {
    dueTime: "1h",
    data: [1],
    failurePolicy: { constant: { interval: "2s" } },
  });
  await schedule(port, "plain", { dueTime: "1h", data: null });
  const get = async (name: string) => (await call(port, "GET", `/v1.0/jobs/${name}`)).json;
  expect(await get("drop")).toEqual({
    name: "drop",
    dueTime: "1h",
    data: anyValue(1),
    failurePolicy: { drop: {} },
  });
  expect(await get("forever")).toEqual({
    name: "forever",
    dueTime: "1h",
    data: anyValue([1]),
    failurePolicy: { constant: { interval: "2s" } },
  });
  expect(await get("plain")).toEqual({
    name: "plain",
    dueTime: "1h",
    data: anyValue(null),
    failurePolicy: DEFAULT_POLICY,
  });
});

test("scheduling an existing name is 409 unless overwrite is true, which replaces the job", async () => {
  const { port } = await jobApp();
  expect((await schedule(port, "nightly", { schedule: "@daily" })).status).toBe(204);
  const again = await schedule(port, "nightly", {
    schedule: "@daily",
    repeats: 3,
    due_time: "10s",
    ttl: "11s",
  });
  expect(again.status).toBe(409);
  expect((await schedule(port, "nightly", { schedule: "@hourly", overwrite: false })).status).toBe(409);
  expect((await schedule(port, "nightly", { schedule: "@hourly", overwrite: true, data: 1 })).status).toBe(
    204,
  );
  expect((await call(port, "GET", "/v1.0/jobs/nightly")).json).toEqual({
    name: "nightly",
    schedule: "@hourly",
    data: anyValue(1),
    failurePolicy: DEFAULT_POLICY,
  });
});

test("DELETE answers 204, also for a job that does not exist", async () => {
  const { port } = await jobApp();
  expect((await call(port, "DELETE", "/v1.0-alpha1/jobs/notfound")).status).toBe(204);
  await schedule(port, "gone", { dueTime: "1h" });
  expect((await call(port, "DELETE", "/v1.0/jobs/gone")).status).toBe(204);
  expect((await call(port, "GET", "/v1.0/jobs/gone")).status).toBe(500);
});

test("GET of a missing job is 500 DAPR_SCHEDULER_GET_JOB, not 404", async () => {
  const { port } = await jobApp();
  const response = await call(port, "GET", "/v1.0-alpha1/jobs/notfound");
  expect(response.status).toBe(500);
  expect(response.headers.get("content-type")).toBe("application/json");
  expect(response.json).toMatchObject({ errorCode: "DAPR_SCHEDULER_GET_JOB" });
  expect((response.json as { message: string }).message).toContain("failed to get job");
});

test("a job with neither schedule nor dueTime is 400 DAPR_SCHEDULER_SCHEDULE_EMPTY", async () => {
  const { port } = await jobApp();
  const response = await schedule(port, "test", {});
  expect(response.status).toBe(400);
  expect(response.json).toMatchObject({
    errorCode: "DAPR_SCHEDULER_SCHEDULE_EMPTY",
    message: "Schedule is empty",
  });
});

localOnly("the name belongs in the URL only, and must be a valid job name", async () => {
  const { port } = await jobApp();
  const inBody = await schedule(port, "test", { name: "test1", schedule: "@daily" });
  expect(inBody.status).toBe(400);
  expect(inBody.json).toMatchObject({
    errorCode: "DAPR_SCHEDULER_JOB_NAME",
    message: "Set the job name in the url only",
  });
  const empty = await call(port, "POST", "/v1.0-alpha1/jobs/%20", { schedule: "@daily" });
  expect(empty.status).toBe(400);
  expect(empty.json).toMatchObject({ errorCode: "DAPR_SCHEDULER_JOB_NAME_EMPTY" });
  for (const bad of ["bad#name", "a..b", "back\\slash", "ünïcode"]) {
    const response = await schedule(port, bad, { schedule: "@daily" });
    expect(response.status, bad).toBe(400);
    expect(response.json, bad).toMatchObject({ errorCode: "DAPR_SCHEDULER_JOB_NAME" });
  }
  // `_ : -` and spaces are ignored and case does not matter.
  expect((await schedule(port, "Task_Reminder:42-a b", { schedule: "@daily" })).status).toBe(204);
});

localOnly("bad field values are 400 naming the field", async () => {
  const { port } = await jobApp();
  const cases: [unknown, string][] = [
    [{ schedule: "* * * * *" }, "6"],
    [{ schedule: "61 * * * * *" }, "schedule"],
    [{ schedule: "@every soon" }, "@every"],
    [{ schedule: "CRON_TZ=Europe/Paris @every 1s" }, "CRON_TZ"],
    [{ schedule: "CRON_TZ=Mars/Base 0 0 9 * * *" }, "time zone"],
    [{ dueTime: "tomorrow" }, "dueTime"],
    [{ schedule: "@daily", ttl: "never" }, "ttl"],
    [{ schedule: "@daily", dueTime: "2h", ttl: "2030-01-01T00:00:00Z", repeats: 0 }, "repeats"],
    [{ dueTime: "1s", repeats: 2 }, "schedule to repeat"],
    [{ dueTime: "10s", ttl: "1m" }, "schedule to have a ttl"],
    [
      { schedule: "@daily", dueTime: "2030-01-02T00:00:00Z", ttl: "2030-01-01T00:00:00Z" },
      "ttl must be greater",
    ],
    [{ dueTime: "1s", failurePolicy: { constant: { interval: "500ms" } } }, "interval"],
    [{ dueTime: "1s", failurePolicy: { sometimes: {} } }, "failurePolicy"],
    [{ dueTime: "1s", overwrite: "yes" }, "overwrite"],
  ];
  for (const [body, mention] of cases) {
    const response = await schedule(port, "bad", body);
    expect(response.status, JSON.stringify(body)).toBe(400);
    expect((response.json as { message: string }).message, JSON.stringify(body)).toContain(mention);
  }
});

test("a job due 1 s ahead fires within 150 ms after its due time, never before", async () => {
  const { app, port } = await jobApp();
  const due = Date.now() + 1_000;
  await schedule(port, "precise", { dueTime: new Date(due).toISOString(), data: { x: 1 } });
  const [trigger] = await waitFor(
    "the trigger",
    () => (triggers(app, "precise").length ? triggers(app, "precise") : null),
    3_000,
  );
  expect(trigger!.at).toBeGreaterThanOrEqual(due);
  expect(trigger!.at - due).toBeLessThanOrEqual(150);
  // A one-shot job is gone once it fired.
  await waitFor(
    "the finished job to be removed",
    async () => (await call(port, "GET", "/v1.0/jobs/precise")).status === 500,
  );
});

localOnly("a Go-duration dueTime counts from when the job was scheduled", async () => {
  const { app, port } = await jobApp();
  const before = Date.now();
  await schedule(port, "relative", { dueTime: "300ms" });
  const [trigger] = await waitFor("the trigger", () =>
    triggers(app, "relative").length ? triggers(app, "relative") : null,
  );
  expect(trigger!.at - before).toBeGreaterThanOrEqual(300);
});

localOnly(
  "a trigger is POST /job/{name} with Content-Type application/json, the data value as the body, and a traceparent",
  async () => {
    const { app, port } = await jobApp();
    await schedule(port, "with-data", { dueTime: "0s", data: { tenant: "a" } });
    await schedule(port, "string-data", { dueTime: "0s", data: "someData" });
    await schedule(port, "no-data", { dueTime: "0s" });
    await waitFor("three triggers", () => app.received("/job/").length === 3);
    const [withData] = triggers(app, "with-data");
    expect(withData!.method).toBe("POST");
    expect(withData!.headers["content-type"]).toBe("application/json");
    expect(withData!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
    expect(withData!.body.toString()).toBe('{"tenant":"a"}');
    expect(triggers(app, "string-data")[0]!.body.toString()).toBe('"someData"');
    expect(triggers(app, "no-data")[0]!.body.length).toBe(0);
  },
);

localOnly("a trigger goes only to the app-id that scheduled the job; job names are per app-id", async () => {
  const owner = await jobApp();
  const other = await jobApp();
  await schedule(owner.port, "mine", { dueTime: "200ms" });
  expect((await call(other.port, "GET", "/v1.0/jobs/mine")).status).toBe(500);
  expect((await schedule(other.port, "mine", { dueTime: "1h" })).status).toBe(204);
  await waitFor("the owner's trigger", () => triggers(owner.app, "mine").length === 1);
  await waitFor(
    "the owner's job to finish",
    async () => (await call(owner.port, "GET", "/v1.0/jobs/mine")).status === 500,
  );
  expect(triggers(other.app, "mine")).toHaveLength(0);
  expect((await call(other.port, "GET", "/v1.0/jobs/mine")).status).toBe(200);
});

localOnly("with two instances of the app-id, exactly one receives each trigger", async () => {
  const appId = uid("twin");
  const a = await jobApp(appId);
  const b = await jobApp(appId);
  for (let i = 0; i < 6; i++) await schedule(a.port, `once-${i}`, { dueTime: "100ms" });
  await waitFor("every job to finish", async () => {
    for (let i = 0; i < 6; i++)
      if ((await call(a.port, "GET", `/v1.0/jobs/once-${i}`)).status !== 500) return false;
    return true;
  });
  expect(a.app.received("/job/").length + b.app.received("/job/").length).toBe(6);
});

localOnly(
  "@every with repeats fires that many times, spaced by the interval, then the job is gone",
  async () => {
    const { app, port } = await jobApp();
    const scheduledAt = Date.now();
    await schedule(port, "thrice", { schedule: "@every 150ms", repeats: 3 });
    await waitFor(
      "the job to finish",
      async () => (await call(port, "GET", "/v1.0/jobs/thrice")).status === 500,
      3_000,
    );
    const fired = triggers(app, "thrice");
    expect(fired).toHaveLength(3);
    // Slots are anchored to the schedule, not to the previous arrival (a late trigger does not push
    // the next one back), so the rule is: the n-th trigger never arrives before its slot.
    fired.forEach((t, i) => expect(t.at).toBeGreaterThanOrEqual(scheduledAt + 150 * (i + 1)));
  },
);

localOnly("a 6-field cron schedule fires on whole seconds", async () => {
  const { app, port } = await jobApp();
  await schedule(port, "ticker", { schedule: "* * * * * *", repeats: 2 });
  await waitFor("two triggers", () => triggers(app, "ticker").length === 2, 3_500);
  for (const trigger of triggers(app, "ticker")) expect(trigger.at % 1000).toBeLessThan(150);
});

localOnly("a CRON_TZ schedule is accepted and fires", async () => {
  const { app, port } = await jobApp();
  expect(
    (await schedule(port, "zoned", { schedule: "CRON_TZ=Asia/Kolkata * * * * * *", repeats: 1 })).status,
  ).toBe(204);
  await waitFor("the trigger", () => triggers(app, "zoned").length === 1, 2_500);
});

localOnly("the default failure policy retries a failed trigger 1 s later", async () => {
  const { app, port } = await jobApp();
  let calls = 0;
  app.respond = () => ({ status: calls++ === 0 ? 500 : 200 });
  await schedule(port, "flaky", { dueTime: "0s" });
  await waitFor("the retry", () => triggers(app, "flaky").length === 2, 3_000);
  const [first, second] = triggers(app, "flaky");
  expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_000);
  await waitFor(
    "the job to finish",
    async () => (await call(port, "GET", "/v1.0/jobs/flaky")).status === 500,
  );
});

localOnly("a constant failure policy retries maxRetries times, then gives the trigger up", async () => {
  const { app, port } = await jobApp();
  app.respond = () => ({ status: 503 });
  await schedule(port, "doomed", {
    dueTime: "0s",
    failurePolicy: { constant: { interval: "0.05s", maxRetries: 2 } },
  });
  await waitFor(
    "the job to be given up",
    async () => (await call(port, "GET", "/v1.0/jobs/doomed")).status === 500,
  );
  expect(triggers(app, "doomed")).toHaveLength(3);
});

localOnly("a drop failure policy does not retry a failed trigger", async () => {
  const { app, port } = await jobApp();
  app.respond = () => ({ status: 500 });
  await schedule(port, "dropped", { dueTime: "0s", failurePolicy: { drop: {} } });
  await waitFor(
    "the job to be dropped",
    async () => (await call(port, "GET", "/v1.0/jobs/dropped")).status === 500,
  );
  expect(triggers(app, "dropped")).toHaveLength(1);
});

localOnly("a 404 from the app counts as success: no retry", async () => {
  const { app, port } = await jobApp();
  app.respond = () => ({ status: 404 });
  await schedule(port, "unknown-handler", { dueTime: "0s" });
  await waitFor(
    "the job to finish",
    async () => (await call(port, "GET", "/v1.0/jobs/unknown-handler")).status === 500,
  );
  expect(triggers(app, "unknown-handler")).toHaveLength(1);
});
