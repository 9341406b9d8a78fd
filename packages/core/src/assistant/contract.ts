// The assistant's HTTP contract (docs/assistant.md): the chat request, the Server-Sent Events a
// turn streams, and the conversation documents the function keeps in Dapr's state store. Pure zod,
// so the function, the web app's proxy and the tests read one definition.
import { z } from "zod";
import { taskDtoSchema, type TaskDto } from "#core/tasks.ts";
import { storableString } from "#core/text.ts";
import { createSseParser } from "#core/sse.ts";

export const MESSAGE_MAX = 4000;
/** A conversation keeps its latest messages; older ones are dropped from the stored document. */
export const MESSAGES_KEPT = 200;
/** The per-user index lists at most this many conversations (the most recently used). */
export const CONVERSATIONS_KEPT = 100;
export const TITLE_MAX = 80;

export const chatRequestSchema = z.strictObject({
  conversationId: z.uuid({ error: "must be a conversation id (UUID)" }).optional(),
  message: storableString()
    .transform((text) => text.trim())
    .pipe(
      z.string().min(1, "must not be empty").max(MESSAGE_MAX, `must be at most ${MESSAGE_MAX} characters`),
    ),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

export const conversationIdParamsSchema = z.object({
  id: z.uuid({ error: "must be a conversation id (UUID)" }),
});

/** The SSE events of one turn, in the order the contract gives. */
export interface ChatEvents {
  conversation: { id: string; title: string };
  text: { delta: string };
  tool: { callId: string; name: string; arguments: Record<string, unknown> };
  "tool-result": { callId: string; name: string; ok: boolean; summary: string; taskIds: string[] };
  tasks: { tasks: TaskDto[] };
  confirm: { summary: string };
  error: { type: string; title: string; status: number; detail: string };
  done: { messageId: string };
}
export type ChatEventName = keyof ChatEvents;

export const chatEventSchemas = {
  conversation: z.object({ id: z.uuid(), title: z.string() }),
  text: z.object({ delta: z.string() }),
  tool: z.object({ callId: z.string(), name: z.string(), arguments: z.record(z.string(), z.unknown()) }),
  "tool-result": z.object({
    callId: z.string(),
    name: z.string(),
    ok: z.boolean(),
    summary: z.string(),
    taskIds: z.array(z.string()),
  }),
  tasks: z.object({ tasks: z.array(taskDtoSchema) }),
  confirm: z.object({ summary: z.string() }),
  error: z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string() }),
  done: z.object({ messageId: z.uuid() }),
} satisfies { [K in ChatEventName]: z.ZodType };

/** One Server-Sent Event: its name and one line of JSON (JSON never holds a raw newline). */
export function formatSse<K extends ChatEventName>(event: K, data: ChatEvents[K]): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Parses a complete SSE text into its events (for clients and tests). */
export function parseSse(text: string): { event: string; data: unknown }[] {
  const events: { event: string; data: unknown }[] = [];
  const parser = createSseParser(({ event, data }) =>
    events.push({ event, data: JSON.parse(data) as unknown }),
  );
  // A last frame without its blank line is read too (the standard's reader would drop it).
  parser.push(`${text}\n\n`);
  parser.end();
  return events;
}

export const messageSchema = z.object({
  id: z.uuid(),
  role: z.enum(["user", "assistant"]),
  text: z.string(),
  taskIds: z.array(z.string()),
  createdAt: z.string(),
  /** An assistant turn that failed (provider error, MCP unreachable): what it said is kept. */
  failed: z.boolean().optional(),
});
export type ConversationMessage = z.infer<typeof messageSchema>;

/** A task a pending question or confirmation names (the id acts; the title is only shown). */
export const taskRefSchema = z.object({ id: z.string(), title: z.string() });

/**
 * What a turn left waiting for the user's next message: a destructive tool call to confirm
 * (exactly what "yes" will run), or a choice between tasks that matched a reference.
 */
export const pendingSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("confirm"),
    summary: z.string(),
    tool: z.enum(["delete_tasks", "complete_tasks", "skip_occurrence"]),
    arguments: z.record(z.string(), z.unknown()),
    tasks: z.array(taskRefSchema),
  }),
  z.object({
    kind: z.literal("choose"),
    /** The request that named the task, to finish once the user picks one. */
    intent: z.record(z.string(), z.unknown()),
    candidates: z.array(taskRefSchema),
  }),
]);
export type Pending = z.infer<typeof pendingSchema>;

/** The stored conversation (one state key per conversation). */
export const conversationSchema = z.object({
  v: z.literal(1),
  id: z.uuid(),
  userId: z.string(),
  title: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  messages: z.array(messageSchema),
  /** Messages ever written, including ones dropped beyond MESSAGES_KEPT. */
  messageCount: z.number().int(),
  pending: pendingSchema.nullable(),
  /** Set while a turn runs: a second turn meanwhile is refused (409 conversation busy). */
  turn: z.object({ id: z.uuid(), startedAt: z.string() }).nullable(),
});
export type Conversation = z.infer<typeof conversationSchema>;

export const conversationSummarySchema = z.object({
  id: z.uuid(),
  title: z.string(),
  updatedAt: z.string(),
  messageCount: z.number().int(),
});
export type ConversationSummary = z.infer<typeof conversationSummarySchema>;

/** The per-user index document: the caller's conversations, newest first. */
export const conversationIndexSchema = z.object({
  v: z.literal(1),
  items: z.array(conversationSummarySchema.extend({ expiresAt: z.string() })),
});
export type ConversationIndex = z.infer<typeof conversationIndexSchema>;

export const conversationListSchema = z.object({ items: z.array(conversationSummarySchema) });
export const conversationDetailSchema = z.object({
  id: z.uuid(),
  title: z.string(),
  updatedAt: z.string(),
  messages: z.array(messageSchema.omit({ failed: true }).extend({ failed: z.boolean().optional() })),
});

/** A conversation's title from its first message: one line, at most TITLE_MAX characters. */
export function conversationTitle(message: string): string {
  const line = message.replace(/\s+/g, " ").trim();
  if (line.length <= TITLE_MAX) return line;
  const cut = line.slice(0, TITLE_MAX - 1);
  const space = cut.lastIndexOf(" ");
  return `${(space > TITLE_MAX / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
