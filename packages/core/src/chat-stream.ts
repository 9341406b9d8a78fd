// The chat panel's reading of one assistant turn (docs/assistant.md, POST /v1/chat): each
// Server-Sent Event checked against the contract, then folded into the reply the panel draws —
// its text as it streams, the tools it used, the tasks it touched, a question awaiting yes/no, an
// error. Event names the contract does not know yet are skipped (the contract grows additively).
import { chatEventSchemas, type ChatEvents } from "./assistant/contract.ts";
import type { SseEvent } from "./sse.ts";
import type { TaskDto } from "./tasks.ts";

export type ChatEvent = {
  [K in keyof ChatEvents]: { kind: K } & ChatEvents[K];
}[keyof ChatEvents];

/** One SSE frame as a chat event; null for an event this client does not know or cannot read. */
export function readChatEvent(frame: SseEvent): ChatEvent | null {
  if (!Object.hasOwn(chatEventSchemas, frame.event)) return null;
  const kind = frame.event as keyof ChatEvents;
  let data: unknown;
  try {
    data = JSON.parse(frame.data);
  } catch {
    return null;
  }
  const parsed = chatEventSchemas[kind].safeParse(data);
  return parsed.success ? ({ kind, ...parsed.data } as ChatEvent) : null;
}

export interface ToolActivity {
  callId: string;
  name: string;
  /** Set once the tool answered. */
  result: { ok: boolean; summary: string } | null;
}

export interface AssistantReply {
  /** The stored message's id (the `done` event's), null while streaming. */
  messageId: string | null;
  text: string;
  activity: ToolActivity[];
  /** The tasks this turn touched, in the order the cards show them. */
  taskIds: string[];
  /** Their DTOs as the turn saw them; live sync keeps them current afterwards. */
  tasks: TaskDto[];
  /** The question the assistant waits on (yes/no) before a destructive action. */
  confirm: string | null;
  error: { title: string; detail: string } | null;
  done: boolean;
}

export const EMPTY_REPLY: AssistantReply = {
  messageId: null,
  text: "",
  activity: [],
  taskIds: [],
  tasks: [],
  confirm: null,
  error: null,
  done: false,
};

function withTaskIds(reply: AssistantReply, ids: readonly string[]): string[] {
  const all = [...reply.taskIds];
  for (const id of ids) if (!all.includes(id)) all.push(id);
  return all;
}

/** The reply after one more event (`conversation` concerns the panel, not the reply). */
export function applyChatEvent(reply: AssistantReply, event: ChatEvent): AssistantReply {
  switch (event.kind) {
    case "text":
      return { ...reply, text: reply.text + event.delta };
    case "tool":
      if (reply.activity.some((a) => a.callId === event.callId)) return reply;
      return {
        ...reply,
        activity: [...reply.activity, { callId: event.callId, name: event.name, result: null }],
      };
    case "tool-result": {
      const result = { ok: event.ok, summary: event.summary };
      const known = reply.activity.some((a) => a.callId === event.callId);
      const activity = known
        ? reply.activity.map((a) => (a.callId === event.callId ? { ...a, result } : a))
        : [...reply.activity, { callId: event.callId, name: event.name, result }];
      return { ...reply, activity, taskIds: withTaskIds(reply, event.ok ? event.taskIds : []) };
    }
    case "tasks":
      return {
        ...reply,
        tasks: event.tasks,
        taskIds: withTaskIds(
          reply,
          event.tasks.map((t) => t.id),
        ),
      };
    case "confirm":
      return { ...reply, confirm: event.summary };
    case "error":
      return {
        ...reply,
        error: {
          title: event.title || "The assistant could not answer",
          detail: event.detail || "Something went wrong while it worked on your message. Try again.",
        },
      };
    case "done":
      return { ...reply, messageId: event.messageId, done: true };
    case "conversation":
      return reply;
  }
}

/** The stream ended (or broke) without `done`: the reply says so instead of looking finished. */
export function endOfStream(reply: AssistantReply): AssistantReply {
  if (reply.done) return reply;
  return {
    ...reply,
    done: true,
    error: reply.error ?? {
      title: "The reply was cut off",
      detail:
        "The connection to the assistant ended before it finished. Check the task list, then ask again if something is missing.",
    },
  };
}

/** A tool call as the panel mentions it: its summary once answered, else what it is doing. */
export function activityLabel(activity: ToolActivity): string {
  if (activity.result) return activity.result.summary;
  const words = activity.name.replace(/[_-]+/g, " ").trim();
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}…`;
}
