// The chat panel's SSE reader: frames split anywhere by the network still come out whole.
import { describe, expect, it } from "vitest";
import { createSseParser, type SseEvent } from "./sse.ts";

function read(chunks: string[], end = true): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  if (end) parser.end();
  return events;
}

const STREAM =
  'event: conversation\ndata: {"id":"c1","title":"Call mom"}\n\n' +
  'event: text\ndata: {"delta":"Added "}\n\n' +
  'event: text\ndata: {"delta":"“Call mom”."}\n\n' +
  'event: done\ndata: {"messageId":"m1"}\n\n';

describe("the SSE reader", () => {
  it("reads each frame's event name and data", () => {
    expect(read([STREAM]).map((e) => [e.event, JSON.parse(e.data)])).toEqual([
      ["conversation", { id: "c1", title: "Call mom" }],
      ["text", { delta: "Added " }],
      ["text", { delta: "“Call mom”." }],
      ["done", { messageId: "m1" }],
    ]);
  });

  it("gives the same frames however the stream is cut, down to one character a chunk", () => {
    const whole = read([STREAM]);
    for (const size of [1, 2, 3, 7, 13]) {
      const chunks: string[] = [];
      for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.slice(i, i + size));
      expect(read(chunks)).toEqual(whole);
    }
  });

  it("takes CRLF and lone CR as line ends, also when a CRLF is split between chunks", () => {
    const events = read(["event: text\r", "\ndata: a\r\r", "event: done\rdata: b\r\n\r\n"]);
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ["text", "a"],
      ["done", "b"],
    ]);
  });

  it("joins several data lines with a newline and calls a frame without event: a message", () => {
    expect(read(["data: one\ndata:two\ndata\n\n"])).toEqual([
      { event: "message", data: "one\ntwo\n", id: "" },
    ]);
  });

  it("skips comments (heartbeats) and frames without data, and ignores unknown fields", () => {
    expect(read([": heartbeat\n\nretry: 1000\n\nevent: ping\n\nfoo: bar\nevent: x\ndata: 1\n\n"])).toEqual([
      { event: "x", data: "1", id: "" },
    ]);
  });

  it("carries the last id over to later frames", () => {
    const events = read(["id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"]);
    expect(events.map((e) => e.id)).toEqual(["7", "7", ""]);
  });

  it("keeps only the first space after the colon", () => {
    expect(read(["data:  two spaces\n\n"])[0]!.data).toBe(" two spaces");
  });

  it("discards a frame the stream cut off before its blank line", () => {
    expect(read(['event: text\ndata: {"delta":"half', "\n"])).toEqual([]);
  });

  it("does not dispatch a frame before its blank line arrives", () => {
    const events: SseEvent[] = [];
    const parser = createSseParser((event) => events.push(event));
    parser.push("event: text\ndata: x\n");
    expect(events).toEqual([]);
    parser.push("\n");
    expect(events).toEqual([{ event: "text", data: "x", id: "" }]);
  });
});
