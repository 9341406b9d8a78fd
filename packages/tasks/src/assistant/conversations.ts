// Conversations in Dapr's state store (state.postgresql v2), not in our tables: one key per
// conversation (`conversation.<user id>.<conversation id>`, so another user's id is simply not
// found) and one index document per user (`conversations.<user id>`) listing them newest first.
// Every write is guarded by the ETag the item was read with; each carries `ttlInSeconds`, so a
// conversation nobody touches for the TTL (default 30 days) is removed by the store, and each turn
// refreshes it. A turn marks the conversation busy with an ETag'd write before it starts: a second
// turn meanwhile finds the mark (or loses the ETag race) and is refused with 409.
import { randomUUID } from "node:crypto";
import {
  CONVERSATIONS_KEPT,
  conversationIndexSchema,
  conversationSchema,
  conversationTitle,
  MESSAGES_KEPT,
  type Conversation,
  type ConversationIndex,
  type ConversationMessage,
  type ConversationSummary,
} from "#core/assistant/contract.ts";
import { StateConflictError, type DaprClient } from "#platform/dapr-client.ts";
import { problems } from "#platform/problems.ts";

type StateClient = Pick<DaprClient, "getState" | "saveState" | "deleteState">;

export interface ConversationStoreOptions {
  store: string;
  ttlSeconds: number;
  /** A turn mark older than this is a crashed turn's: the next turn takes over. */
  staleTurnMs: number;
  now(): Date;
}

export const conversationKey = (userId: string, id: string) => `conversation.${userId}.${id}`;
export const indexKey = (userId: string) => `conversations.${userId}`;

/** A conversation as read, with the ETag the next write must name. */
export interface Loaded {
  conversation: Conversation;
  etag: string;
}

const busy = () =>
  problems.conflict(
    "conversation busy: another message of this conversation is still being answered; send yours once it is done.",
  );

export class ConversationStore {
  constructor(
    private readonly dapr: StateClient,
    private readonly options: ConversationStoreOptions,
  ) {}

  private metadata() {
    return { ttlInSeconds: String(this.options.ttlSeconds) };
  }

  async load(userId: string, id: string): Promise<Loaded | null> {
    const item = await this.dapr.getState<unknown>(this.options.store, conversationKey(userId, id));
    if (!item) return null;
    const parsed = conversationSchema.safeParse(item.value);
    // A document of another user (never written so, but the key is the guard) or of a shape we no
    // longer read is not this user's conversation.
    if (!parsed.success || parsed.data.userId !== userId) return null;
    return { conversation: parsed.data, etag: item.etag };
  }

  /**
   * Starts a turn: a new conversation (first-write: the key must not exist) or the given one marked
   * busy with the user's message appended, written with the ETag it was read with. Throws 404 for
   * an unknown id, 409 "conversation busy" while another turn runs.
   */
  async beginTurn(
    userId: string,
    id: string | undefined,
    message: string,
  ): Promise<Loaded & { userMessage: ConversationMessage; turnId: string }> {
    const now = this.options.now();
    const at = now.toISOString();
    const turnId = randomUUID();
    const userMessage: ConversationMessage = {
      id: randomUUID(),
      role: "user",
      text: message,
      taskIds: [],
      createdAt: at,
    };
    let conversation: Conversation;
    let etag: string | undefined;
    if (id === undefined) {
      conversation = {
        v: 1,
        id: randomUUID(),
        userId,
        title: conversationTitle(message),
        createdAt: at,
        updatedAt: at,
        messages: [],
        messageCount: 0,
        pending: null,
        turn: null,
      };
    } else {
      const loaded = await this.load(userId, id);
      if (!loaded) throw problems.notFound("No such conversation.");
      const running = loaded.conversation.turn;
      if (running && now.getTime() - Date.parse(running.startedAt) < this.options.staleTurnMs) throw busy();
      conversation = loaded.conversation;
      etag = loaded.etag;
    }
    const next = appendMessages({ ...conversation, turn: { id: turnId, startedAt: at }, updatedAt: at }, [
      userMessage,
    ]);
    const key = conversationKey(userId, next.id);
    try {
      await this.dapr.saveState(this.options.store, {
        key,
        value: next,
        metadata: this.metadata(),
        ...(etag ? { etag } : { concurrency: "first-write" as const }),
      });
    } catch (error) {
      if (error instanceof StateConflictError) throw busy();
      throw error;
    }
    const saved = await this.dapr.getState<unknown>(this.options.store, key);
    if (!saved) throw problems.notFound("No such conversation.");
    const reread = conversationSchema.parse(saved.value);
    if (reread.turn?.id !== turnId) throw busy();
    await this.touchIndex(userId, reread);
    return { conversation: reread, etag: saved.etag, userMessage, turnId };
  }

  /**
   * Ends a turn: appends the assistant's message, stores what is left pending, clears the busy mark.
   * Written with the ETag beginTurn left; a mismatch means a stale-turn takeover happened meanwhile,
   * and this turn's reply is not stored (the conflict is thrown).
   */
  async endTurn(
    userId: string,
    started: Loaded,
    reply: ConversationMessage,
    pending: Conversation["pending"],
  ): Promise<Conversation> {
    const at = this.options.now().toISOString();
    const next = appendMessages({ ...started.conversation, turn: null, pending, updatedAt: at }, [reply]);
    await this.dapr.saveState(this.options.store, {
      key: conversationKey(userId, next.id),
      value: next,
      etag: started.etag,
      metadata: this.metadata(),
    });
    await this.touchIndex(userId, next);
    return next;
  }

  async list(userId: string): Promise<ConversationSummary[]> {
    const index = await this.readIndex(userId);
    const now = this.options.now().getTime();
    return index.value.items
      .filter((item) => Date.parse(item.expiresAt) > now)
      .map(({ expiresAt: _expiresAt, ...summary }) => summary);
  }

  /** Deletes the conversation and its index entry; false when there was none. */
  async delete(userId: string, id: string): Promise<boolean> {
    const loaded = await this.load(userId, id);
    if (!loaded) return false;
    await this.dapr.deleteState(this.options.store, conversationKey(userId, id));
    await this.updateIndex(userId, (items) => items.filter((item) => item.id !== id));
    return true;
  }

  private async readIndex(userId: string): Promise<{ value: ConversationIndex; etag: string | null }> {
    const item = await this.dapr.getState<unknown>(this.options.store, indexKey(userId));
    const parsed = item ? conversationIndexSchema.safeParse(item.value) : null;
    return parsed?.success
      ? { value: parsed.data, etag: item!.etag }
      : { value: { v: 1, items: [] }, etag: item?.etag ?? null };
  }

  private touchIndex(userId: string, conversation: Conversation): Promise<void> {
    const expiresAt = new Date(
      Date.parse(conversation.updatedAt) + this.options.ttlSeconds * 1000,
    ).toISOString();
    const entry = {
      id: conversation.id,
      title: conversation.title,
      updatedAt: conversation.updatedAt,
      messageCount: conversation.messageCount,
      expiresAt,
    };
    return this.updateIndex(userId, (items) => [entry, ...items.filter((item) => item.id !== entry.id)]);
  }

  /**
   * Read-modify-write of the user's index under its ETag, retried when another turn of the same
   * user wrote it in between (different conversations never block each other).
   */
  private async updateIndex(
    userId: string,
    change: (items: ConversationIndex["items"]) => ConversationIndex["items"],
  ): Promise<void> {
    const now = this.options.now().getTime();
    for (let attempt = 0; attempt < 10; attempt++) {
      const { value, etag } = await this.readIndex(userId);
      const items = change(value.items)
        .filter((item) => Date.parse(item.expiresAt) > now)
        .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
        .slice(0, CONVERSATIONS_KEPT);
      try {
        await this.dapr.saveState(this.options.store, {
          key: indexKey(userId),
          value: { v: 1, items } satisfies ConversationIndex,
          metadata: this.metadata(),
          ...(etag ? { etag } : { concurrency: "first-write" as const }),
        });
        return;
      } catch (error) {
        if (!(error instanceof StateConflictError)) throw error;
      }
    }
    throw problems.unavailable("The conversation list is being changed by many requests at once; retry.");
  }
}

/** The conversation with `messages` appended, keeping the latest MESSAGES_KEPT. */
export function appendMessages(conversation: Conversation, messages: ConversationMessage[]): Conversation {
  const all = [...conversation.messages, ...messages];
  return {
    ...conversation,
    messages: all.slice(Math.max(0, all.length - MESSAGES_KEPT)),
    messageCount: conversation.messageCount + messages.length,
  };
}
