import { expect, test } from "vitest";
import { parseCloudEvent } from "./cloudevents.ts";

const attributes = {
  specversion: "1.0",
  id: "3f7a8c1e-0b1d-4c52-9a57-1f2d2c3b4a5e",
  source: "create-task",
  type: "orbit.task.created",
};

test("parses a structured CloudEvent (as Dapr delivers) with its extensions", () => {
  const parsed = parseCloudEvent(
    { "content-type": "application/cloudevents+json", pubsubname: "pubsub" },
    {
      ...attributes,
      subject: "task-1",
      topic: "task-events",
      pubsubname: "pubsub",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      datacontenttype: "application/json",
      data: { task_id: "task-1" },
    },
  );
  expect(parsed).toMatchObject({
    ok: true,
    event: {
      ...attributes,
      subject: "task-1",
      topic: "task-events",
      pubsubname: "pubsub",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      data: { task_id: "task-1" },
    },
  });
});

test("parses a binary-mode CloudEvent (as Knative delivers) from ce-* headers and the body", () => {
  const parsed = parseCloudEvent(
    {
      "ce-specversion": "1.0",
      "ce-id": attributes.id,
      "ce-source": "create-task",
      "ce-type": "orbit.task.created",
      "ce-subject": "task-2",
      "ce-partitionkey": "task-2",
      "content-type": "application/json",
    },
    { task_id: "task-2" },
  );
  expect(parsed.ok).toBe(true);
  if (!parsed.ok) return;
  expect(parsed.event).toMatchObject({
    ...attributes,
    subject: "task-2",
    datacontenttype: "application/json",
  });
  expect(parsed.event.data).toEqual({ task_id: "task-2" });
  expect(parsed.event.attributes.partitionkey).toBe("task-2");
});

test("decodes data_base64: JSON when it holds JSON, else the text", () => {
  const json = parseCloudEvent({}, { ...attributes, data_base64: Buffer.from('{"n":1}').toString("base64") });
  expect(json.ok && json.event.data).toEqual({ n: 1 });
  const text = parseCloudEvent(
    {},
    { ...attributes, data_base64: Buffer.from("plain words").toString("base64") },
  );
  expect(text.ok && text.event.data).toBe("plain words");
});

test("data wins over data_base64, and a missing data is null", () => {
  const both = parseCloudEvent({}, { ...attributes, data: { a: 1 }, data_base64: "eyJiIjoyfQ==" });
  expect(both.ok && both.event.data).toEqual({ a: 1 });
  const none = parseCloudEvent({}, attributes);
  expect(none.ok && none.event.data).toBeNull();
});

test("refuses a body that is not a CloudEvent, naming what is missing", () => {
  const missing = parseCloudEvent({}, { id: "x", data: {} });
  expect(missing.ok).toBe(false);
  if (!missing.ok) {
    expect(missing.reason).toContain("source");
    expect(missing.reason).toContain("type");
    expect(missing.reason).toContain("specversion");
  }
  expect(parseCloudEvent({}, [attributes]).ok).toBe(false);
  expect(parseCloudEvent({}, "text").ok).toBe(false);
  expect(parseCloudEvent({}, undefined).ok).toBe(false);
  expect(parseCloudEvent({}, { ...attributes, id: "" }).ok).toBe(false);
});

test("refuses binary mode with an incomplete set of ce-* headers", () => {
  const parsed = parseCloudEvent({ "ce-id": "1", "ce-type": "t" }, { any: "thing" });
  expect(parsed.ok).toBe(false);
  if (!parsed.ok) expect(parsed.reason).toContain("source");
});

test("an id PostgreSQL cannot store (a NUL, a lone surrogate) is no CloudEvent: its consumer could never record it", () => {
  for (const id of ["a\u0000b", "\ud800", "x\udc00"]) {
    const parsed = parseCloudEvent({}, { id, source: "s", type: "t", specversion: "1.0", data: {} });
    expect(parsed, JSON.stringify(id)).toEqual({
      ok: false,
      reason: "not a CloudEvent: missing or invalid id",
    });
    const binary = parseCloudEvent(
      { "ce-id": id, "ce-source": "s", "ce-type": "t", "ce-specversion": "1.0" },
      {},
    );
    expect(binary.ok, JSON.stringify(id)).toBe(false);
  }
});
