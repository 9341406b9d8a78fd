// The assistant's chat panel on the task list: a non-modal dialog at the side, opened with `a` or
// its button. A turn streams in as it is written (POST /chat, the assistant's Server-Sent Events,
// read with #core/sse.ts and #core/chat-stream.ts), with what its tools did and the tasks it
// touched as cards that live sync keeps current. Past conversations can be reopened or deleted.
// Dictation and spoken replies: ./speech.ts.
import { Link } from "@remix-run/react";
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from "react";
import { MESSAGE_MAX, type ConversationMessage, type ConversationSummary } from "#core/assistant/contract.ts";
import {
  activityLabel,
  applyChatEvent,
  EMPTY_REPLY,
  endOfStream,
  readChatEvent,
  type AssistantReply,
} from "#core/chat-stream.ts";
import { createSseParser } from "#core/sse.ts";
import type { TaskDto } from "#core/tasks.ts";
import { formatDue, formatInstant, offsetLabel } from "../lib/format.ts";
import { LIVE_EVENT } from "./live-sync.tsx";
import { speak, useDictation, useSpokenReplies } from "./speech.ts";
import { TaskMeta } from "./task-meta.tsx";
import { buttonClass, secondaryButtonClass } from "./ui.tsx";
import { useUndo } from "./undo.tsx";

export const CHAT_SHORTCUT = "a";
const CONVERSATION_KEY = "orbit.assistant.conversation";

type Entry =
  { key: string; role: "user"; text: string } | { key: string; role: "assistant"; reply: AssistantReply };

/** A task card's task: as last seen, or gone. */
type CardTask = TaskDto | { id: string; deleted: true };

interface Problem {
  title?: string;
  detail?: string;
  errors?: { field: string; detail: string }[];
}

let keys = 0;
const nextKey = () => `e${++keys}`;

/** A problem+json answer (or anything else that went wrong) as one sentence for the panel. */
async function problemText(response: Response): Promise<string> {
  const body = (await response.json().catch(() => null)) as Problem | null;
  const field = body?.errors?.[0];
  if (field) return `${field.field === "message" ? "Your message" : field.field} ${field.detail}.`;
  return body?.detail ?? body?.title ?? `The request failed (HTTP ${response.status}).`;
}

const NETWORK_PROBLEM = "Orbit could not be reached. What you typed is kept: try again in a moment.";

export function ChatLauncher({ open, onOpen }: { open: boolean; onOpen: () => void }) {
  // Without JavaScript the link leads to a page that says the assistant needs it.
  return (
    <a
      href="/assistant"
      data-chat-launcher
      aria-keyshortcuts={CHAT_SHORTCUT}
      aria-expanded={open}
      aria-controls="chat-panel"
      onClick={(event) => {
        event.preventDefault();
        onOpen();
      }}
      className={secondaryButtonClass}
    >
      Ask the assistant
    </a>
  );
}

export function ChatPanel({
  open,
  onClose,
  csrf,
  timeZone,
}: {
  open: boolean;
  onClose: () => void;
  csrf: string;
  timeZone: string;
}) {
  const titleId = useId();
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const returnFocus = useRef<HTMLElement | null>(null);
  const [view, setView] = useState<"chat" | "history">("chat");
  const [conversation, setConversation] = useState<{ id: string; title: string } | null>(null);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [cards, setCards] = useState<Map<string, CardTask>>(new Map());
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [speakReplies] = useSpokenReplies();
  const speakRef = useRef(speakReplies);
  speakRef.current = speakReplies;
  const abortRef = useRef<AbortController | null>(null);
  const logRef = useRef<HTMLDivElement>(null);

  // Focus: into the input on open, back where it was on close.
  useEffect(() => {
    if (open) {
      // Opened with the shortcut while nothing had focus: closing returns to the launcher.
      const active = document.activeElement;
      returnFocus.current =
        active instanceof HTMLElement && active !== document.body
          ? active
          : document.querySelector<HTMLElement>("[data-chat-launcher]");
      setView("chat");
      requestAnimationFrame(() => inputRef.current?.focus());
    } else if (returnFocus.current) {
      const back = returnFocus.current;
      returnFocus.current = null;
      if (back.isConnected) back.focus();
    }
  }, [open]);

  useEffect(() => () => abortRef.current?.abort(), []);

  // Keep the newest message in view as it streams.
  useEffect(() => {
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [entries]);

  // Cards follow live sync: a task completed, changed or deleted anywhere redraws its card.
  useEffect(() => {
    const onUpdate = (event: Event) => {
      const update = (event as CustomEvent<{ event_type: string; task_id: string; task: TaskDto | null }>)
        .detail;
      setCards((current) => {
        if (!current.has(update.task_id)) return current;
        const next = new Map(current);
        next.set(
          update.task_id,
          update.event_type === "task_deleted" || !update.task
            ? { id: update.task_id, deleted: true }
            : update.task,
        );
        return next;
      });
    };
    window.addEventListener(LIVE_EVENT, onUpdate);
    return () => window.removeEventListener(LIVE_EVENT, onUpdate);
  }, []);

  const rememberTasks = useCallback((tasks: TaskDto[]) => {
    if (tasks.length === 0) return;
    setCards((current) => {
      const next = new Map(current);
      for (const task of tasks) next.set(task.id, task);
      return next;
    });
  }, []);

  const loadCards = useCallback(async (ids: string[]) => {
    if (ids.length === 0) return;
    const response = await fetch(`/chat/tasks?ids=${ids.slice(0, 50).join(",")}`).catch(() => null);
    if (!response?.ok) return;
    const { items } = (await response.json()) as { items: TaskDto[] };
    setCards((current) => {
      const next = new Map(current);
      for (const id of ids) if (!next.has(id)) next.set(id, { id, deleted: true });
      for (const task of items) next.set(task.id, task);
      return next;
    });
  }, []);

  const openConversation = useCallback(
    async (id: string): Promise<boolean> => {
      const response = await fetch(`/chat/conversations/${encodeURIComponent(id)}`).catch(() => null);
      if (!response) {
        setProblem(NETWORK_PROBLEM);
        return false;
      }
      if (!response.ok) {
        if (response.status === 404) sessionStorage.removeItem(CONVERSATION_KEY);
        else setProblem(await problemText(response));
        return false;
      }
      const stored = (await response.json()) as {
        id: string;
        title: string;
        messages: ConversationMessage[];
      };
      setConversation({ id: stored.id, title: stored.title });
      sessionStorage.setItem(CONVERSATION_KEY, stored.id);
      setEntries(
        stored.messages.map((m): Entry =>
          m.role === "user"
            ? { key: m.id, role: "user", text: m.text }
            : {
                key: m.id,
                role: "assistant",
                reply: {
                  ...EMPTY_REPLY,
                  messageId: m.id,
                  text: m.text,
                  taskIds: m.taskIds,
                  done: true,
                  error: m.failed
                    ? {
                        title: "This reply did not finish",
                        detail: "The assistant failed during this turn; anything it did before is listed.",
                      }
                    : null,
                },
              },
        ),
      );
      setProblem(null);
      void loadCards([...new Set(stored.messages.flatMap((m) => m.taskIds))]);
      return true;
    },
    [loadCards],
  );

  // The conversation this tab was in comes back after a reload, when the panel is first opened.
  const restored = useRef(false);
  useEffect(() => {
    if (!open || restored.current) return;
    restored.current = true;
    const id = sessionStorage.getItem(CONVERSATION_KEY);
    if (id && !conversation) void openConversation(id);
  }, [open, openConversation, conversation]);

  const leaveConversation = () => {
    abortRef.current?.abort();
    setConversation(null);
    setEntries([]);
    setProblem(null);
    sessionStorage.removeItem(CONVERSATION_KEY);
  };
  const startNew = () => {
    leaveConversation();
    setView("chat");
    requestAnimationFrame(() => inputRef.current?.focus());
  };

  const send = async (message: string) => {
    const trimmed = message.trim();
    if (!trimmed || busy) return;
    if (trimmed.length > MESSAGE_MAX) {
      setProblem(`A message is at most ${MESSAGE_MAX} characters; this one has ${trimmed.length}.`);
      return;
    }
    const userKey = nextKey();
    const replyKey = nextKey();
    setProblem(null);
    setBusy(true);
    setText("");
    setEntries((current) => [
      ...current,
      { key: userKey, role: "user", text: trimmed },
      { key: replyKey, role: "assistant", reply: EMPTY_REPLY },
    ]);
    // The message comes back into the input, and the turn out of the transcript, when the
    // assistant could not take it: nothing typed is lost.
    const giveBack = (why: string) => {
      setEntries((current) => current.filter((e) => e.key !== userKey && e.key !== replyKey));
      setText((current) => current || trimmed);
      setProblem(why);
    };
    const controller = new AbortController();
    abortRef.current = controller;
    let reply = EMPTY_REPLY;
    const update = (next: AssistantReply) => {
      reply = next;
      setEntries((current) =>
        current.map((e) => (e.key === replyKey && e.role === "assistant" ? { ...e, reply: next } : e)),
      );
    };
    try {
      let response: Response;
      try {
        response = await fetch("/chat", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "text/event-stream" },
          body: JSON.stringify(
            conversation ? { conversationId: conversation.id, message: trimmed } : { message: trimmed },
          ),
          signal: controller.signal,
        });
      } catch {
        if (!controller.signal.aborted) giveBack(NETWORK_PROBLEM);
        return;
      }
      if (!response.ok || !response.body) {
        giveBack(await problemText(response));
        return;
      }
      const parser = createSseParser((frame) => {
        const event = readChatEvent(frame);
        if (!event) return;
        if (event.kind === "conversation") {
          setConversation({ id: event.id, title: event.title });
          sessionStorage.setItem(CONVERSATION_KEY, event.id);
          return;
        }
        if (event.kind === "tasks") rememberTasks(event.tasks);
        update(applyChatEvent(reply, event));
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.push(value);
        }
      } catch {
        // The connection broke mid-reply: endOfStream says so below.
      }
      parser.end();
      if (controller.signal.aborted) return;
      update(endOfStream(reply));
      if (speakRef.current && !reply.error) speak(reply.text);
    } finally {
      if (abortRef.current === controller) abortRef.current = null;
      setBusy(false);
    }
  };

  const dictation = useDictation({
    onInterim: (heard) => setText(heard),
    onFinal: (heard) => void send(heard),
  });

  const last = entries.at(-1);
  const awaitingAnswer = !busy && last?.role === "assistant" && last.reply.confirm !== null;

  if (!open) return null;
  return (
    <div
      id="chat-panel"
      role="dialog"
      aria-modal="false"
      aria-labelledby={titleId}
      data-chat-panel
      onKeyDown={(event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          event.stopPropagation();
          onClose();
        }
      }}
      className="fixed inset-y-0 right-0 z-40 flex w-full max-w-md flex-col border-l border-slate-200 bg-white shadow-xl"
    >
      <div className="flex items-center gap-2 border-b border-slate-200 px-4 py-3">
        <div className="min-w-0 flex-1">
          <h2 id={titleId} className="text-base font-semibold">
            Assistant
          </h2>
          {conversation && view === "chat" ? (
            <p className="truncate text-xs text-slate-600" data-chat-title title={conversation.title}>
              {conversation.title}
            </p>
          ) : null}
        </div>
        <button
          type="button"
          className="rounded-md px-2 py-1 text-sm text-indigo-700 hover:bg-indigo-50"
          aria-pressed={view === "history"}
          onClick={() => setView(view === "history" ? "chat" : "history")}
        >
          History
        </button>
        <button
          type="button"
          className="rounded-md px-2 py-1 text-sm text-indigo-700 hover:bg-indigo-50"
          onClick={startNew}
        >
          New
        </button>
        <button
          type="button"
          aria-label="Close the assistant"
          title="Close (Escape)"
          className="rounded-md px-2 py-1 text-lg leading-none text-slate-600 hover:bg-slate-100"
          onClick={onClose}
        >
          ×
        </button>
      </div>

      {view === "history" ? (
        <ConversationHistory
          csrf={csrf}
          timeZone={timeZone}
          current={conversation?.id ?? null}
          onOpen={async (id) => {
            if (await openConversation(id)) {
              setView("chat");
              requestAnimationFrame(() => inputRef.current?.focus());
            }
          }}
          onDeleted={(id) => {
            // The history stays in view; the deleted conversation is no longer the panel's.
            if (conversation?.id === id) leaveConversation();
          }}
        />
      ) : (
        <div
          ref={logRef}
          role="log"
          aria-live="polite"
          aria-label="Conversation with the assistant"
          className="min-h-0 flex-1 space-y-3 overflow-y-auto px-4 py-3"
        >
          {entries.length === 0 ? (
            <div className="text-sm text-slate-600">
              <p>Ask in your own words, for example:</p>
              <ul className="mt-1 list-inside list-disc">
                <li>add call mom tomorrow 6pm and remind me an hour before</li>
                <li>what’s due today?</li>
                <li>complete the groceries task</li>
              </ul>
            </div>
          ) : (
            entries.map((entry) =>
              entry.role === "user" ? (
                <p
                  key={entry.key}
                  data-chat-message="user"
                  className="ml-auto w-fit max-w-[85%] whitespace-pre-wrap rounded-lg bg-indigo-600 px-3 py-2 text-sm text-white"
                >
                  <span className="sr-only">You: </span>
                  {entry.text}
                </p>
              ) : (
                <AssistantMessage key={entry.key} reply={entry.reply} cards={cards} timeZone={timeZone} />
              ),
            )
          )}
          {awaitingAnswer ? (
            <div className="flex gap-2" data-chat-confirm>
              <button type="button" className={buttonClass} onClick={() => void send("yes")}>
                Yes
              </button>
              <button type="button" className={secondaryButtonClass} onClick={() => void send("no")}>
                No
              </button>
            </div>
          ) : null}
        </div>
      )}

      <form
        className="space-y-2 border-t border-slate-200 px-4 py-3"
        onSubmit={(event) => {
          event.preventDefault();
          void send(text);
        }}
      >
        {problem ? (
          <p role="alert" className="rounded-md bg-red-50 p-2 text-sm text-red-800" data-chat-problem>
            {problem}
          </p>
        ) : null}
        <label htmlFor="chat-input" className="sr-only">
          Message the assistant
        </label>
        <div className="flex items-end gap-2">
          <textarea
            ref={inputRef}
            id="chat-input"
            rows={2}
            value={text}
            maxLength={MESSAGE_MAX}
            onChange={(event) => setText(event.target.value)}
            onKeyDown={(event) => {
              // Enter sends, Shift+Enter starts a new line.
              if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
                event.preventDefault();
                void send(text);
              }
            }}
            placeholder={dictation.listening ? "Listening…" : "Add call mom tomorrow 6pm…"}
            className="block w-full flex-1 resize-none rounded-md border border-slate-300 px-3 py-2 text-sm focus:border-indigo-600"
          />
          {dictation.supported ? (
            <button
              type="button"
              data-chat-mic
              aria-pressed={dictation.listening}
              aria-label={dictation.listening ? "Stop listening" : "Dictate a message"}
              title={dictation.listening ? "Stop listening" : "Dictate a message"}
              disabled={busy}
              onClick={() => (dictation.listening ? dictation.stop() : dictation.start())}
              className={`rounded-md border px-2.5 py-2 text-sm ${dictation.listening ? "animate-pulse border-red-400 bg-red-50 text-red-700" : "border-slate-300 bg-white text-slate-700 hover:bg-slate-50"}`}
            >
              <MicIcon />
            </button>
          ) : null}
          <button type="submit" className={buttonClass} disabled={busy}>
            {busy ? "…" : "Send"}
          </button>
        </div>
        {dictation.listening ? (
          <p role="status" className="text-xs font-medium text-red-700" data-chat-listening>
            Listening… speak now; your message is sent when you pause.
          </p>
        ) : null}
        {dictation.error ? (
          <p role="alert" className="text-xs text-red-800" data-chat-voice-error>
            {dictation.error}
          </p>
        ) : null}
        {dictation.supported === false ? (
          <p className="text-xs text-slate-600" data-chat-voice-unavailable>
            Voice input isn’t available in this browser — type instead.
          </p>
        ) : null}
        {busy ? (
          <p role="status" className="sr-only">
            The assistant is answering…
          </p>
        ) : null}
      </form>
    </div>
  );
}

function AssistantMessage({
  reply,
  cards,
  timeZone,
}: {
  reply: AssistantReply;
  cards: Map<string, CardTask>;
  timeZone: string;
}) {
  const streaming = !reply.done;
  return (
    <div data-chat-message="assistant" data-streaming={streaming || undefined} className="space-y-2">
      {reply.activity.length > 0 ? (
        <ul className="space-y-0.5 text-xs text-slate-500" aria-label="What the assistant did">
          {reply.activity.map((activity) => (
            <li key={activity.callId} data-chat-activity>
              <span aria-hidden="true">{activity.result ? (activity.result.ok ? "✓ " : "✕ ") : "⋯ "}</span>
              {activityLabel(activity)}
            </li>
          ))}
        </ul>
      ) : null}
      {reply.text || streaming ? (
        <p className="w-fit max-w-[90%] whitespace-pre-wrap rounded-lg bg-slate-100 px-3 py-2 text-sm text-slate-900">
          <span className="sr-only">Assistant: </span>
          <span data-chat-text>{reply.text}</span>
          {streaming ? (
            <span aria-hidden="true" className="ml-0.5 animate-pulse">
              ▍
            </span>
          ) : null}
        </p>
      ) : null}
      {reply.error ? (
        <p className="rounded-md bg-red-50 p-2 text-sm text-red-800" data-chat-error>
          <strong>{reply.error.title}.</strong> {reply.error.detail}
        </p>
      ) : null}
      {reply.taskIds.length > 0 ? (
        <ul className="space-y-2" aria-label="Tasks in this reply">
          {reply.taskIds.map((id) => {
            const task = cards.get(id) ?? reply.tasks.find((t) => t.id === id);
            return task ? <TaskCard key={id} task={task} timeZone={timeZone} /> : null;
          })}
        </ul>
      ) : null}
    </div>
  );
}

function TaskCard({ task, timeZone }: { task: CardTask; timeZone: string }) {
  const undo = useUndo();
  if ("deleted" in task)
    return (
      <li
        data-chat-task-card
        data-task-id={task.id}
        data-status="deleted"
        className="rounded-md border border-dashed border-slate-300 px-3 py-2 text-sm text-slate-500"
      >
        This task was deleted.
      </li>
    );
  const inFlight = undo.statusInFlight.get(task.id);
  const done = inFlight ? inFlight === "complete" : task.status === "completed";
  const ref = { id: task.id, title: task.title, recurring: Boolean(task.recurrence?.active) };
  return (
    <li
      data-chat-task-card
      data-task-id={task.id}
      data-status={task.status}
      className="flex items-start gap-2 rounded-md border border-slate-200 bg-white px-3 py-2 shadow-sm"
    >
      <input
        type="checkbox"
        checked={done}
        aria-label={done ? `Reopen “${task.title}”` : `Complete “${task.title}”`}
        onChange={() => {
          if (!inFlight) undo.setStatus(ref, done ? "reopen" : "complete");
        }}
        className="mt-1 h-4 w-4 accent-emerald-600"
      />
      <div className="min-w-0 flex-1">
        <Link
          to={`/tasks/${task.id}`}
          className={`block truncate text-sm font-medium hover:underline ${done ? "text-slate-500 line-through" : "text-slate-900"}`}
        >
          {task.title}
        </Link>
        <TaskMeta task={task} timeZone={timeZone} now={new Date().toISOString()} variant="row" />
        {task.reminders.length > 0 ? (
          <p className="mt-0.5 text-xs text-slate-600" data-chat-card-reminders>
            Reminder{task.reminders.length === 1 ? "" : "s"}:{" "}
            {task.reminders
              .map((r) =>
                r.offset_minutes !== null
                  ? offsetLabel(r.offset_minutes)
                  : r.remind_at
                    ? formatDue(r.remind_at, timeZone)
                    : "",
              )
              .join(", ")}
          </p>
        ) : null}
      </div>
    </li>
  );
}

function ConversationHistory({
  csrf,
  timeZone,
  current,
  onOpen,
  onDeleted,
}: {
  csrf: string;
  timeZone: string;
  current: string | null;
  onOpen: (id: string) => void;
  onDeleted: (id: string) => void;
}) {
  const [items, setItems] = useState<ConversationSummary[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);

  const load = useCallback(async () => {
    const response = await fetch("/chat/conversations").catch(() => null);
    if (!response) return setProblem(NETWORK_PROBLEM);
    if (!response.ok) return setProblem(await problemText(response));
    setProblem(null);
    setItems(((await response.json()) as { items: ConversationSummary[] }).items);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const remove = async (id: string) => {
    const response = await fetch(`/chat/conversations/${encodeURIComponent(id)}`, {
      method: "DELETE",
      headers: { "X-CSRF-Token": csrf },
    }).catch(() => null);
    setConfirming(null);
    if (!response) return setProblem(NETWORK_PROBLEM);
    if (!response.ok && response.status !== 404) return setProblem(await problemText(response));
    onDeleted(id);
    await load();
  };

  let body: ReactNode;
  if (items === null) body = problem ? null : <p className="text-sm text-slate-600">Loading…</p>;
  else if (items.length === 0) body = <p className="text-sm text-slate-600">No conversations yet.</p>;
  else
    body = (
      <ul className="divide-y divide-slate-200" aria-label="Past conversations">
        {items.map((item) => (
          <li key={item.id} data-conversation={item.id} className="flex items-center gap-2 py-2">
            {confirming === item.id ? (
              <div
                className="flex flex-1 flex-wrap items-center gap-2 text-sm"
                role="group"
                aria-label="Confirm delete"
              >
                <span className="mr-auto">Delete “{item.title}”?</span>
                <button type="button" className={buttonClass} onClick={() => void remove(item.id)} autoFocus>
                  Delete
                </button>
                <button type="button" className={secondaryButtonClass} onClick={() => setConfirming(null)}>
                  Cancel
                </button>
              </div>
            ) : (
              <>
                <button
                  type="button"
                  className="min-w-0 flex-1 rounded-md px-2 py-1 text-left hover:bg-slate-50"
                  aria-current={item.id === current ? "true" : undefined}
                  onClick={() => onOpen(item.id)}
                >
                  <span className="block truncate text-sm font-medium text-slate-900">{item.title}</span>
                  <span className="block text-xs text-slate-600">
                    <time dateTime={item.updatedAt}>{formatInstant(item.updatedAt, timeZone)}</time> ·{" "}
                    {item.messageCount === 1 ? "1 message" : `${item.messageCount} messages`}
                  </span>
                </button>
                <button
                  type="button"
                  aria-label={`Delete conversation “${item.title}”`}
                  title="Delete conversation"
                  className="rounded-md p-1.5 text-slate-500 hover:bg-red-50 hover:text-red-700"
                  onClick={() => setConfirming(item.id)}
                >
                  <span aria-hidden="true">×</span>
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
    );
  return (
    <section
      aria-label="Conversation history"
      className="min-h-0 flex-1 overflow-y-auto px-4 py-3"
      data-chat-history
    >
      {problem ? (
        <p role="alert" className="mb-2 rounded-md bg-red-50 p-2 text-sm text-red-800">
          {problem}
        </p>
      ) : null}
      {body}
    </section>
  );
}

function MicIcon() {
  return (
    <svg aria-hidden="true" viewBox="0 0 20 20" fill="currentColor" className="h-5 w-5">
      <path d="M10 2a3 3 0 0 0-3 3v5a3 3 0 1 0 6 0V5a3 3 0 0 0-3-3Z" />
      <path d="M5.5 9.5a.75.75 0 0 0-1.5 0 6 6 0 0 0 5.25 5.95V17.5H7a.75.75 0 0 0 0 1.5h6a.75.75 0 0 0 0-1.5h-2.25v-2.05A6 6 0 0 0 16 9.5a.75.75 0 0 0-1.5 0 4.5 4.5 0 0 1-9 0Z" />
    </svg>
  );
}
