// How the chat panel reads one assistant turn: the contract's events, checked and folded into the
// reply it draws (docs/assistant.md).
import { describe, expect, it } from "vitest";
import {
  activityLabel,
  applyChatEvent,
  EMPTY_REPLY,
  endOfStream,
  readChatEvent,
  type AssistantReply,
  type ChatEvent,
} from "./chat-stream.ts";
import type { SseEvent } from "./sse.ts";
import type { TaskDto } from "./tasks.ts";

const task: TaskDto = {
  id: "3f1c2a5e-8d4b-4f7a-9c61-2b8e5d0a7f13",
  user_id: "9a7e4c21-5b3d-4e8f-a1c2-7d6b5e4f3a21",
  title: "Call mom",
  description: "",
  status: "pending",
  priority: "none",
  due_at: "2026-12-06T17:00:00.000Z",
  time_zone: "Europe/Berlin",
  list_id: "7c4e2d1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f",
  parent_id: null,
  subtasks: { done: 0, total: 0 },
  tags: [],
  reminders: [{ id: "5d2e8f1a-3c4b-4a6d-9e7f-1b2c3d4e5f60", offset_minutes: 60, remind_at: null }],
  recurrence: null,
  series_id: null,
  occurrence_index: null,
  completed_at: null,
  created_at: "2026-12-05T08:00:00.000Z",
  updated_at: "2026-12-05T08:00:00.000Z",
  version: 1,
};

const CONVERSATION = "6b1d0f0e-2a8c-4c51-9a9e-4f5b3c2d1e0f";
const MESSAGE = "0c9e8d7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f";

const frame = (event: string, data: unknown): SseEvent => ({ event, data: JSON.stringify(data), id: "" });

function fold(frames: SseEvent[]): AssistantReply {
  let reply = EMPTY_REPLY;
  for (const f of frames) {
    const event = readChatEvent(f);
    if (event) reply = applyChatEvent(reply, event);
  }
  return reply;
}

describe("reading the assistant's events", () => {
  it("reads each event of the contract", () => {
    expect(readChatEvent(frame("conversation", { id: CONVERSATION, title: "Call mom" }))).toEqual({
      kind: "conversation",
      id: CONVERSATION,
      title: "Call mom",
    });
    expect(
      readChatEvent(
        frame("tool-result", { callId: "1", name: "create_task", ok: true, summary: "Added", taskIds: [] }),
      ),
    ).toEqual({
      kind: "tool-result",
      callId: "1",
      name: "create_task",
      ok: true,
      summary: "Added",
      taskIds: [],
    });
    expect(readChatEvent(frame("tasks", { tasks: [task] }))).toEqual({ kind: "tasks", tasks: [task] });
  });

  it("skips an event it does not know, data that is not JSON, and data of the wrong shape", () => {
    expect(readChatEvent(frame("usage", { tokens: 3 }))).toBeNull();
    expect(readChatEvent({ event: "text", data: "{not json", id: "" })).toBeNull();
    expect(readChatEvent(frame("text", { delta: 5 }))).toBeNull();
    expect(readChatEvent(frame("tasks", { tasks: [{ id: "x" }] }))).toBeNull();
    expect(readChatEvent(frame("conversation", { id: "not-a-uuid", title: "" }))).toBeNull();
    // An object's own keys only: "constructor" is no event.
    expect(readChatEvent(frame("constructor", {}))).toBeNull();
  });
});

describe("one turn, as the panel draws it", () => {
  it("adds a task: text in pieces, the tool call and its result, the task for its card, done", () => {
    const reply = fold([
      frame("conversation", { id: CONVERSATION, title: "Call mom" }),
      frame("text", { delta: "Added “Call mom” " }),
      frame("tool", { callId: "t1", name: "create_task", arguments: { title: "Call mom" } }),
      frame("tool-result", {
        callId: "t1",
        name: "create_task",
        ok: true,
        summary: "Added task “Call mom”",
        taskIds: [task.id],
      }),
      frame("text", { delta: "for tomorrow 6 pm, reminding you at 5 pm." }),
      frame("tasks", { tasks: [task] }),
      frame("done", { messageId: MESSAGE }),
    ]);
    expect(reply).toEqual({
      messageId: MESSAGE,
      text: "Added “Call mom” for tomorrow 6 pm, reminding you at 5 pm.",
      activity: [
        { callId: "t1", name: "create_task", result: { ok: true, summary: "Added task “Call mom”" } },
      ],
      taskIds: [task.id],
      tasks: [task],
      confirm: null,
      error: null,
      done: true,
    });
  });

  it("shows a tool as working until its result arrives, then its summary", () => {
    const working = fold([frame("tool", { callId: "t1", name: "complete_task", arguments: {} })]);
    expect(working.activity.map(activityLabel)).toEqual(["Complete task…"]);
    const answered = applyChatEvent(working, {
      kind: "tool-result",
      callId: "t1",
      name: "complete_task",
      ok: true,
      summary: "Completed “Call mom”",
      taskIds: ["a"],
    });
    expect(answered.activity.map(activityLabel)).toEqual(["Completed “Call mom”"]);
  });

  it("lists each touched task once, and none of a failed tool call", () => {
    const reply = fold([
      frame("tool-result", { callId: "1", name: "update_task", ok: true, summary: "", taskIds: ["a", "b"] }),
      frame("tool-result", {
        callId: "2",
        name: "update_task",
        ok: false,
        summary: "Not found",
        taskIds: ["c"],
      }),
      frame("tasks", {
        tasks: [
          { ...task, id: "b" },
          { ...task, id: "d" },
        ],
      }),
    ]);
    expect(reply.taskIds).toEqual(["a", "b", "d"]);
  });

  it("keeps the question of a destructive action for the Yes/No buttons", () => {
    const reply = fold([
      frame("text", { delta: "Delete “Call mom”?" }),
      frame("confirm", { summary: "Delete “Call mom”" }),
      frame("done", { messageId: MESSAGE }),
    ]);
    expect(reply.confirm).toBe("Delete “Call mom”");
  });

  it("shows the problem of a failed turn in words", () => {
    const reply = fold([
      frame("error", { type: "x", title: "The model did not answer", status: 504, detail: "Try again." }),
      frame("done", { messageId: MESSAGE }),
    ]);
    expect(reply.error).toEqual({ title: "The model did not answer", detail: "Try again." });
    expect(fold([frame("error", { type: "x", title: "", status: 502, detail: "" })]).error?.title).toBe(
      "The assistant could not answer",
    );
  });

  it("says a reply was cut off when the stream ended without done, and not otherwise", () => {
    const cut = endOfStream(fold([frame("text", { delta: "Adding" })]));
    expect(cut.done).toBe(true);
    expect(cut.error?.title).toBe("The reply was cut off");
    const whole = fold([frame("done", { messageId: MESSAGE })]);
    expect(endOfStream(whole)).toBe(whole);
  });

  it("ignores a repeated tool event", () => {
    const event: ChatEvent = { kind: "tool", callId: "t", name: "list_tasks", arguments: {} };
    expect(applyChatEvent(applyChatEvent(EMPTY_REPLY, event), event).activity).toHaveLength(1);
  });
});
