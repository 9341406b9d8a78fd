// The assistant: POST /v1/chat answers one message as a stream of Server-Sent Events, and
// GET/DELETE /v1/conversations[/:id] list, read and forget conversations (docs/assistant.md has
// the contract). Conversations live in the Dapr state store (#tasks/assistant/conversations.ts);
// the tools are MCP's, called over MCP through this app's sidecar as the caller
// (#tasks/assistant/toolbox.ts); the brain is the configured model or, with none, the
// deterministic one.
import { randomUUID } from "node:crypto";
import type { Response } from "express";
import { z } from "zod";
import {
  chatRequestSchema,
  conversationDetailSchema,
  conversationIdParamsSchema,
  conversationListSchema,
  formatSse,
  type ChatEventName,
  type ChatEvents,
  type ConversationMessage,
  type Pending,
} from "#core/assistant/contract.ts";
import { parseConfirmation } from "#core/assistant/intent.ts";
import { baseEnvSchema } from "#platform/env.ts";
import { rawRoute, route, type Context } from "#platform/host.ts";
import type { Principal } from "#platform/auth.ts";
import type { DaprClient } from "#platform/dapr-client.ts";
import type { Logger } from "#platform/logger.ts";
import { fieldErrors, problems, ProblemType } from "#platform/problems.ts";
import { ConversationStore, type Loaded } from "#tasks/assistant/conversations.ts";
import { deterministicTurn } from "#tasks/assistant/deterministic.ts";
import { ModelError, modelTurn } from "#tasks/assistant/model.ts";
import { modelConfigReader } from "#tasks/assistant/model-config.ts";
import { connectToolbox, ToolboxUnavailableError } from "#tasks/assistant/toolbox.ts";
import { TurnTools, type BrainReply } from "#tasks/assistant/turn.ts";

export const assistantEnvSchema = baseEnvSchema.extend({
  /** The Dapr state store conversations are kept in (state.postgresql v2). */
  STATE_STORE_NAME: z.string().min(1).default("statestore"),
  /** The Dapr secret store holding the optional model secret `assistant-model` (the assistant's alone). */
  SECRET_STORE_NAME: z.string().min(1).default("assistant-secrets"),
  /** A conversation nobody writes to for this long is removed by the store (default 30 days). */
  CONVERSATION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(2_147_483_647)
    .default(30 * 24 * 3600),
  /** No chunk from the model's provider within this long fails the turn. */
  MODEL_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** Each MCP request (through the sidecar) fails after this long. */
  TOOL_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
});
export type AssistantEnv = z.infer<typeof assistantEnvSchema>;
type Ctx = Context<AssistantEnv>;

/** A turn mark older than the longest a turn can take (model + tools) is a crashed turn's. */
function staleTurnMs(env: AssistantEnv): number {
  return 8 * (env.MODEL_TIMEOUT_MS + env.TOOL_TIMEOUT_MS) + 60_000;
}

function storeOf(ctx: Ctx): ConversationStore {
  return new ConversationStore(ctx.dapr, {
    store: ctx.env.STATE_STORE_NAME,
    ttlSeconds: ctx.env.CONVERSATION_TTL_SECONDS,
    staleTurnMs: staleTurnMs(ctx.env),
    now: () => ctx.now(),
  });
}

const modelReaders = new WeakMap<DaprClient, ReturnType<typeof modelConfigReader>>();
function readModelConfig(ctx: Ctx) {
  let reader = modelReaders.get(ctx.dapr);
  if (!reader) {
    reader = modelConfigReader(ctx.dapr, ctx.env.SECRET_STORE_NAME);
    modelReaders.set(ctx.dapr, reader);
  }
  return reader();
}

function parseChatBody(body: unknown) {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw problems.validation([{ pointer: "/body", field: "body", detail: "must be a JSON object" }]);
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) throw problems.validation(fieldErrors("body", parsed.error.issues));
  return parsed.data;
}

function sseWriter(res: Response) {
  return <K extends ChatEventName>(event: K, data: ChatEvents[K]) => {
    if (!res.writableEnded && !res.destroyed) res.write(formatSse(event, data));
  };
}

/** Runs the brain for one turn; never throws (a failure becomes an `error` event). */
async function runBrain(
  ctx: Ctx,
  principal: Principal,
  authorization: string,
  started: Loaded,
  message: string,
  previous: Pending | null,
  emit: ReturnType<typeof sseWriter>,
  traceparent: string | undefined,
): Promise<{ turn: TurnTools; reply: BrainReply; failed: boolean }> {
  const turn = new TurnTools(
    () => connectToolbox(ctx.dapr, authorization, { timeoutMs: ctx.env.TOOL_TIMEOUT_MS, traceparent }),
    emit,
  );
  const fail = (type: string, title: string, status: number, detail: string) => {
    emit("error", { type, title, status, detail });
    return { turn, reply: { pending: null }, failed: true };
  };
  try {
    const config = await readModelConfig(ctx);
    const now = ctx.now();
    const brainCtx = { timeZone: principal.timeZone, now };
    let reply: BrainReply;
    // A confirmation is answered the same way whichever brain asked: "yes" runs exactly the kept call.
    if (!config || (previous?.kind === "confirm" && parseConfirmation(message) !== null)) {
      reply = await deterministicTurn({ message, pending: previous, ctx: brainCtx }, turn);
    } else {
      reply = await modelTurn(
        {
          config,
          tools: await (await turn.tools()).listTools(),
          messages: started.conversation.messages,
          timeZone: principal.timeZone,
          now,
          timeoutMs: ctx.env.MODEL_TIMEOUT_MS,
        },
        turn,
      );
    }
    return { turn, reply, failed: false };
  } catch (error) {
    if (error instanceof ModelError)
      return fail(
        ProblemType.unavailable,
        "The language model failed",
        error.timedOut ? 504 : 502,
        error.message,
      );
    if (error instanceof ToolboxUnavailableError) {
      ctx.log.error("mcp unreachable", { err: error });
      return fail(
        ProblemType.unavailable,
        "The task tools are unreachable",
        503,
        "The assistant could not reach the task tools (MCP); nothing more was changed. Try again shortly.",
      );
    }
    ctx.log.error("assistant turn failed", { err: error });
    return fail(
      ProblemType.internal,
      "Internal error",
      500,
      "The assistant failed on our side; it has been logged.",
    );
  } finally {
    await turn.close();
  }
}

export const chatRoute = rawRoute<AssistantEnv>({
  method: "POST",
  path: "/v1/chat",
  auth: "read",
  summary: "Send a message; the reply streams as Server-Sent Events (docs/assistant.md)",
  body: chatRequestSchema,
  async handle({ req, res, principal }, ctx) {
    if (!principal) throw problems.unauthorized();
    const body = parseChatBody(req.body);
    const store = storeOf(ctx);
    // Before the stream: 404 for an unknown (or another user's) conversation, 409 while busy.
    const started = await store.beginTurn(principal.userId, body.conversationId, body.message);
    const previous = started.conversation.pending;
    res.status(200);
    res.setHeader("content-type", "text/event-stream; charset=utf-8");
    res.setHeader("cache-control", "no-cache, no-transform");
    res.setHeader("x-accel-buffering", "no");
    res.flushHeaders();
    const emit = sseWriter(res);
    emit("conversation", { id: started.conversation.id, title: started.conversation.title });
    const { turn, reply, failed } = await runBrain(
      ctx,
      principal,
      req.headers.authorization!,
      started,
      body.message,
      previous,
      emit,
      req.headers.traceparent as string | undefined,
    );
    const tasks = turn.touchedTasks();
    if (tasks.length > 0) emit("tasks", { tasks });
    const message: ConversationMessage = {
      id: randomUUID(),
      role: "assistant",
      text: turn.text,
      taskIds: turn.taskIds(),
      createdAt: ctx.now().toISOString(),
      ...(failed ? { failed: true } : {}),
    };
    try {
      await store.endTurn(principal.userId, started, message, failed ? null : reply.pending);
    } catch (error) {
      logStoreFailure(ctx.log, error);
      emit("error", {
        type: ProblemType.unavailable,
        title: "The conversation could not be saved",
        status: 503,
        detail:
          "The reply above was not saved to this conversation's history; what it did to your tasks stands.",
      });
    }
    emit("done", { messageId: message.id });
    res.end();
  },
});

function logStoreFailure(log: Logger, error: unknown) {
  log.error("saving the conversation failed", { err: error });
}

export const listRoute = route<unknown, unknown, unknown, AssistantEnv>({
  method: "GET",
  path: "/v1/conversations",
  auth: "read",
  summary: "The caller's conversations, newest first",
  response: conversationListSchema,
  async handle({ principal }, ctx) {
    return { body: { items: await storeOf(ctx).list(principal!.userId) } };
  },
});

export const getRoute = route<unknown, unknown, z.infer<typeof conversationIdParamsSchema>, AssistantEnv>({
  method: "GET",
  path: "/v1/conversations/:id",
  auth: "read",
  params: conversationIdParamsSchema,
  summary: "One conversation with its messages",
  response: conversationDetailSchema,
  async handle({ principal, params }, ctx) {
    const loaded = await storeOf(ctx).load(principal!.userId, params.id);
    if (!loaded) throw problems.notFound("No such conversation.");
    const { id, title, updatedAt, messages } = loaded.conversation;
    return { body: { id, title, updatedAt, messages } };
  },
});

export const deleteRoute = route<unknown, unknown, z.infer<typeof conversationIdParamsSchema>, AssistantEnv>({
  method: "DELETE",
  path: "/v1/conversations/:id",
  auth: "read",
  params: conversationIdParamsSchema,
  summary: "Forget a conversation",
  async handle({ principal, params }, ctx) {
    if (!(await storeOf(ctx).delete(principal!.userId, params.id)))
      throw problems.notFound("No such conversation.");
    return { status: 204 };
  },
});

export const routes = [chatRoute, listRoute, getRoute, deleteRoute];
