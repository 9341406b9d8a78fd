// One turn's plumbing shared by both brains: every tool call goes through here, so each is
// announced (`tool`), answered (`tool-result`), and the tasks it touched are collected for the
// turn's `tasks` event and its message's taskIds.
import { randomUUID } from "node:crypto";
import type { ChatEventName, ChatEvents, Pending } from "#core/assistant/contract.ts";
import type { TaskDto } from "#core/tasks.ts";
import type { Toolbox, ToolOutcome } from "./toolbox.ts";

export type Emit = <K extends ChatEventName>(event: K, data: ChatEvents[K]) => void;

/** What a brain hands back: its reply (already streamed as `text`) and what it leaves pending. */
export interface BrainReply {
  pending: Pending | null;
}

export class TurnTools {
  private readonly touched = new Map<string, TaskDto>();
  private readonly removed = new Set<string>();
  /** Every tool call made, in order (for the record of a failed turn). */
  readonly calls: { name: string; ok: boolean }[] = [];
  private replyText = "";

  private toolbox: Promise<Toolbox> | null = null;

  /** `connect` is called at the first tool call: a turn that needs no tool never reaches MCP. */
  constructor(
    private readonly connect: () => Promise<Toolbox>,
    readonly emit: Emit,
  ) {}

  tools(): Promise<Toolbox> {
    this.toolbox ??= this.connect();
    return this.toolbox;
  }

  /** Closes the MCP session, if one was opened. */
  async close(): Promise<void> {
    const toolbox = await this.toolbox?.catch(() => null);
    await toolbox?.close().catch(() => {});
  }

  /** Streams part of the reply. */
  say(delta: string): void {
    if (!delta) return;
    this.replyText += delta;
    this.emit("text", { delta });
  }

  get text(): string {
    return this.replyText;
  }

  async call(name: string, args: Record<string, unknown>): Promise<ToolOutcome> {
    const callId = `call_${randomUUID()}`;
    this.emit("tool", { callId, name, arguments: args });
    const outcome = await (await this.tools()).call(name, args);
    this.calls.push({ name, ok: outcome.ok });
    for (const task of outcome.tasks) this.touched.set(task.id, task);
    if (name === "delete_tasks" && outcome.structured && Array.isArray(outcome.structured.results)) {
      const ids = Array.isArray(args.ids) ? (args.ids as string[]) : [];
      (outcome.structured.results as { ok?: boolean }[]).forEach((r, i) => {
        if (r?.ok && ids[i]) this.removed.add(ids[i]);
      });
    }
    const firstLine = outcome.text.split("\n")[0] ?? "";
    this.emit("tool-result", {
      callId,
      name,
      ok: outcome.ok,
      summary: firstLine.length > 300 ? `${firstLine.slice(0, 299)}…` : firstLine,
      taskIds: [...new Set([...outcome.tasks.map((t) => t.id), ...this.removedBy(name, args, outcome)])],
    });
    return outcome;
  }

  private removedBy(name: string, args: Record<string, unknown>, outcome: ToolOutcome): string[] {
    if (name !== "delete_tasks" || !outcome.ok) return [];
    return (Array.isArray(args.ids) ? (args.ids as string[]) : []).filter((id) => this.removed.has(id));
  }

  /** The tasks this turn created, changed or listed (latest state of each), deleted ones left out. */
  touchedTasks(): TaskDto[] {
    return [...this.touched.values()].filter((task) => !this.removed.has(task.id));
  }

  taskIds(): string[] {
    return [...new Set([...this.touched.keys(), ...this.removed])];
  }
}
