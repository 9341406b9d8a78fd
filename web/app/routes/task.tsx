import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useFetcher, useLoaderData, useNavigate, useNavigation } from "@remix-run/react";
import { DateTime } from "luxon";
import { useEffect, useMemo, useRef, useState } from "react";
import { z } from "zod";
import {
  canSendAgain,
  deliveriesOfJob,
  deliveryLine,
  occurrenceDelivery,
  reachesSomewhere,
} from "#core/channels.ts";
import { ACTION_LABELS, REMINDER_ACTIONS } from "#core/reminder-actions.ts";
import { isSnoozeJobName, parseReminderJobName } from "#core/reminders.ts";
import { PRIORITIES, subtaskChoiceSchema, type TaskDto, type updateTaskSchema } from "#core/tasks.ts";
import { taskListQuerySchema } from "#core/task-query.ts";
import { activityQuerySchema, taskActivity } from "#tasks/activity.ts";
import { listLists } from "#tasks/list-queries.ts";
import { listTasks } from "#tasks/queries.ts";
import { loadTaskDto } from "#tasks/records.ts";
import { ModalDialog } from "../components/dialog.tsx";
import { CompleteParentDialog, ListDot, ParentQuestion, SubtaskProgress } from "../components/lists.tsx";
import { useActionResult } from "../components/live-sync.tsx";
import { RecurrenceEditor } from "../components/recurrence-editor.tsx";
import { ReminderEditor, type SettledReminder } from "../components/reminder-editor.tsx";
import { TaskMeta } from "../components/task-meta.tsx";
import { useUndo } from "../components/undo.tsx";
import {
  buttonClass,
  CsrfInput,
  dangerButtonClass,
  Field,
  inputClass,
  secondaryButtonClass,
} from "../components/ui.tsx";
import { askOf } from "../lib/ask.ts";
import { completeQuestion, deleteQuestion } from "../lib/ask.server.ts";
import { commandsAs } from "../lib/commands.server.ts";
import { getDb } from "../lib/db.server.ts";
import { formatInstant, offsetLabel } from "../lib/format.ts";
import {
  localInstant,
  localParts,
  recurrenceFromFields,
  reminderKey,
  remindersFromFields,
  type RecurrenceWire,
} from "#core/task-form.ts";
import { renewalHeaders, requireUser, requireUserWithCsrf } from "../lib/session.server.ts";

export const meta: MetaFunction<typeof loader> = ({ data: loaded }) => [
  { title: loaded ? `${loaded.task.title} · Orbit` : "Task · Orbit" },
];

/** A foreign or unknown id is 404 (never 403): nobody learns that someone else's task exists. */
function notFound(): never {
  throw new Response("This task does not exist, or it is not yours.", { status: 404 });
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const id = params.id ?? "";
  if (!z.uuid().safeParse(id).success) notFound();
  const db = getDb();
  const task = await loadTaskDto(db, user.userId, id);
  if (!task) notFound();
  const [activity, jobs, deliveries, actions, channels, pushSubscriptions, lists, subtasks, parent] =
    await Promise.all([
      taskActivity(db, user.userId, id, activityQuerySchema("task").parse({ limit: "100" })),
      db.reminderJob.findMany({ where: { taskId: id, userId: user.userId }, orderBy: { remindAt: "asc" } }),
      db.notificationDelivery.findMany({
        where: { taskId: id, userId: user.userId },
        orderBy: { createdAt: "asc" },
      }),
      db.reminderAction.findMany({
        where: { taskId: id, userId: user.userId },
        orderBy: { createdAt: "asc" },
      }),
      db.notificationChannel.findMany({ where: { userId: user.userId } }),
      db.pushSubscription.count({ where: { userId: user.userId } }),
      listLists(db, user.userId, "all"),
      // Its subtasks, oldest first (one level: a subtask has none).
      task.parent_id
        ? Promise.resolve({ items: [] })
        : listTasks(
            db,
            user.userId,
            taskListQuerySchema.parse({
              parent_id: id,
              status: "all",
              sort: "created",
              order: "asc",
              limit: "200",
            }),
            new Date(),
          ),
      task.parent_id ? loadTaskDto(db, user.userId, task.parent_id) : Promise.resolve(null),
    ]);
  /** One occurrence's deliveries (by its exact ledger key), and what they came to. */
  const delivered = (job: (typeof jobs)[number]) => {
    const own = deliveriesOfJob(deliveries, job);
    const reached = new Set(own.filter((d) => d.status === "sent").map((d) => d.channel));
    return {
      delivery: occurrenceDelivery(own),
      deliveries: own.map((d) => ({
        id: d.id,
        channel: d.channel,
        status: d.status,
        // "Send again": while the task still waits for this occurrence and the channel never took it.
        sendAgain: task.status === "pending" && forThisDue(job) && canSendAgain(d) && !reached.has(d.channel),
        line: deliveryLine({
          channel: d.channel,
          status: d.status,
          attempts: d.attempts,
          error: d.lastError,
          nextTry: d.nextAttemptAt ? formatInstant(d.nextAttemptAt.toISOString(), user.timeZone) : null,
        }),
      })),
    };
  };
  const forThisDue = (job: (typeof jobs)[number]) => !task.due_at || job.dueAt.toISOString() === task.due_at;
  // Snoozes (a reminder's "Snooze" button): each its own job, under the rule it snoozed.
  const snoozes = jobs
    .filter((job) => isSnoozeJobName(job.jobName) && forThisDue(job))
    .map((job) => {
      const pressed = [...actions].reverse().find((a) => a.snoozeJob === job.jobName);
      return {
        jobName: job.jobName,
        reminderId: job.reminderId,
        remindAt: job.remindAt.toISOString(),
        status: job.status,
        reason: job.status === "skipped" || job.status === "cancelled" ? job.skipReason : null,
        /** Which button, where, and when it was pressed. */
        pressed: pressed
          ? { action: pressed.action, channel: pressed.channel, at: pressed.createdAt.toISOString() }
          : null,
        ...delivered(job),
      };
    });
  const reminders = task.reminders.map((reminder) => {
    const remindAt =
      reminder.remind_at ??
      (task.due_at && reminder.offset_minutes !== null
        ? new Date(new Date(task.due_at).getTime() - reminder.offset_minutes * 60_000).toISOString()
        : null);
    const job = jobs.find(
      (j) => j.reminderId === reminder.id && !isSnoozeJobName(j.jobName) && forThisDue(j),
    );
    return {
      id: reminder.id,
      label: reminder.offset_minutes !== null ? offsetLabel(reminder.offset_minutes) : "At a set time",
      remindAt,
      status: job?.status ?? (task.status === "completed" ? "not scheduled (done)" : "planned"),
      /** Why it was skipped or cancelled (the ledger's reason). */
      reason: job && (job.status === "skipped" || job.status === "cancelled") ? job.skipReason : null,
      ...(job ? delivered(job) : { delivery: "none" as const, deliveries: [] }),
      snoozes: snoozes.filter((snooze) => snooze.reminderId === reminder.id),
    };
  });
  // Snoozes of reminders since removed from the task still remind: listed on their own.
  const otherSnoozes = snoozes.filter((snooze) => !reminders.some((r) => r.id === snooze.reminderId));
  const reachable = reachesSomewhere(channels, pushSubscriptions, user.email);
  // Reminders the ledger already accounts for at their times: saving them unchanged sends nothing.
  const settled: SettledReminder[] = jobs.flatMap((job) => {
    const parsed = job.status === "cancelled" ? null : parseReminderJobName(job.jobName);
    if (!parsed || parsed.snoozed !== undefined) return [];
    const { offset_minutes, remind_at } = parsed.reminder;
    return [
      {
        key: reminderKey(offset_minutes, remind_at),
        remindAt: job.remindAt.toISOString(),
        dueAt: job.dueAt.toISOString(),
      },
    ];
  });
  // The question this page asks (lib/ask.ts), while it still applies.
  const asked = askOf(new URL(request.url));
  const ask =
    asked?.ask === "complete" && task.status === "pending" && task.subtasks.total > task.subtasks.done
      ? asked
      : asked?.ask === "delete" && task.subtasks.total > 0
        ? asked
        : null;
  return data(
    {
      task,
      ask,
      reminders,
      otherSnoozes,
      reachable,
      settled,
      activity: activity?.items ?? [],
      lists: lists.map((l) => ({ id: l.id, name: l.name, color: l.color, archived: l.archived })),
      subtasks: subtasks.items.map((s) => ({ id: s.id, title: s.title, status: s.status })),
      parent: parent ? { id: parent.id, title: parent.title } : null,
      defaultReminders: user.defaultReminderMinutes,
      pastReminderPolicy: user.pastReminderPolicy,
      timeZone: user.timeZone,
      csrf: user.csrf,
      now: new Date().toISOString(),
    },
    { headers: renewalHeaders(user) },
  );
}

const editSchema = z.object({
  title: z.string(),
  description: z.string().default(""),
  priority: z.enum(PRIORITIES),
  tags: z.string().default(""),
  due_date: z.string().default(""),
  due_time: z.string().default(""),
  version: z.coerce.number().int().min(1),
  recurrence_anchor: z.enum(["schedule", "completion"]).default("schedule"),
});

const postponeSchema = z.object({
  days: z.coerce.number().int().min(1).max(366),
  version: z.coerce.number().int().min(1),
});

export async function action({ request, params }: ActionFunctionArgs) {
  const form = await request.formData();
  const user = await requireUserWithCsrf(request, form);
  const id = params.id ?? "";
  if (!z.uuid().safeParse(id).success) notFound();
  const intent = String(form.get("intent") ?? "");
  const fail = (message: string, fieldErrors: Record<string, string>, status: number) =>
    data({ intent, message, fieldErrors }, { status });

  if (intent === "complete" || intent === "reopen") {
    const choice = subtaskChoiceSchema.safeParse(form.get("subtasks"));
    const result = await commandsAs(user).completeTask(id, {
      reopen: intent === "reopen",
      ...(intent === "complete" && choice.success ? { subtasks: choice.data } : {}),
    });
    // Open subtasks and nobody asked (no JavaScript, or one added meanwhile): this page asks.
    const question = completeQuestion(result, id, choice.success, form);
    if (question) return question;
    if (!result.ok) return fail(result.message, result.fieldErrors, result.status);
    return data({ intent, message: null, fieldErrors: {} });
  }
  if (intent === "subtask-complete" || intent === "subtask-reopen") {
    const subtask = z.uuid().safeParse(form.get("subtask_id"));
    if (!subtask.success) notFound();
    const result = await commandsAs(user).completeTask(subtask.data, { reopen: intent === "subtask-reopen" });
    if (!result.ok) return fail(result.message, result.fieldErrors, result.status);
    return data({ intent, message: null, fieldErrors: {} });
  }
  if (intent === "add-subtask") {
    const title = String(form.get("title") ?? "");
    const result = await commandsAs(user).createTask({ title, parent_id: id });
    if (!result.ok)
      return fail(
        result.fieldErrors.title ?? result.fieldErrors.parent_id ?? result.message,
        result.fieldErrors,
        result.status,
      );
    return data({ intent, message: null, fieldErrors: {} });
  }
  if (intent === "move") {
    const target = z.uuid().safeParse(form.get("list_id"));
    if (!target.success) return fail("Pick a list.", { list_id: "Pick a list." }, 400);
    const result = await commandsAs(user).updateTask(id, { list_id: target.data });
    if (!result.ok)
      return fail(result.fieldErrors.list_id ?? result.message, result.fieldErrors, result.status);
    return data({ intent, message: null, fieldErrors: {} });
  }
  if (intent === "delete") {
    const scope = form.get("scope") === "series" ? "series" : "occurrence";
    // A parent takes its subtasks with it: without JavaScript (no dialog) this page asks first.
    const question = await deleteQuestion(user, form, id, scope);
    if (question) return question;
    const result = await commandsAs(user).deleteTask(id, scope);
    if (!result.ok) return fail(result.message, result.fieldErrors, result.status);
    return redirect("/");
  }
  if (intent === "skip") {
    // Skipping an occurrence is deleting only it: the series moves on to its next date
    // (on-task-completed), and the audit log says it was skipped.
    const result = await commandsAs(user).deleteTask(id, "occurrence");
    if (!result.ok) return fail(result.message, result.fieldErrors, result.status);
    return redirect("/");
  }
  if (intent === "postpone") {
    // Only this occurrence moves, by whole local days (09:00 stays 09:00 across DST); the series
    // keeps its dates, so the next one after it is where it always was.
    const postpone = postponeSchema.safeParse(Object.fromEntries(form));
    if (!postpone.success) return fail("Pick how long to postpone it.", {}, 400);
    const task = await loadTaskDto(getDb(), user.userId, id);
    if (!task) notFound();
    if (!task.due_at) return fail("This task has no due date to postpone.", {}, 400);
    const moved = DateTime.fromISO(task.due_at, { zone: user.timeZone }).plus({ days: postpone.data.days });
    const result = await commandsAs(user).updateTask(id, {
      due_at: moved.toUTC().toISO()!,
      version: postpone.data.version,
    });
    if (!result.ok) return fail(result.message, result.fieldErrors, result.status);
    return data({ intent, message: null, fieldErrors: {} });
  }
  if (intent === "send-again") {
    const delivery = z.uuid().safeParse(form.get("delivery_id"));
    if (!delivery.success) return fail("Pick a delivery to send again.", {}, 400);
    const result = await commandsAs(user).sendDeliveryAgain(id, delivery.data);
    const deliveryId = delivery.data;
    if (!result.ok)
      return data(
        {
          intent,
          deliveryId,
          message: result.status === 429 ? `Sent again too often. ${result.message}` : result.message,
          fieldErrors: {},
        },
        { status: result.status },
      );
    return data({ intent, deliveryId, message: result.body.outcome, fieldErrors: {} });
  }
  if (intent !== "update") return fail("Unknown action.", {}, 400);

  const parsed = editSchema.safeParse(Object.fromEntries(form));
  if (!parsed.success)
    return fail("Some fields are not valid.", { form: parsed.error.issues[0]?.message ?? "" }, 400);
  const input = parsed.data;
  const fieldErrors: Record<string, string> = {};
  let dueAt: string | null = null;
  if (input.due_date) {
    const local = DateTime.fromISO(`${input.due_date}T${input.due_time || "09:00"}`, { zone: user.timeZone });
    if (!local.isValid) fieldErrors.due_at = "Pick a valid date and time.";
    else dueAt = local.toUTC().toISO();
  } else if (input.due_time) fieldErrors.due_at = "Pick a date for this time.";
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === "string" ? value : "";
  };
  const all = (name: string) => form.getAll(name).filter((v): v is string => typeof v === "string");
  const recurrence = recurrenceFromFields(
    {
      pattern: text("recurrence_pattern"),
      interval: text("recurrence_interval") || "1",
      weekdays: all("recurrence_weekdays"),
      monthMode: text("recurrence_month_mode"),
      monthDay: text("recurrence_month_day"),
      monthWeek: text("recurrence_month_week"),
      monthWeekday: text("recurrence_month_weekday"),
      ends: text("recurrence_ends"),
      endsOn: text("recurrence_ends_on"),
      maxCount: text("recurrence_max_count"),
      anchor: input.recurrence_anchor,
    },
    user.timeZone,
  );
  if (!recurrence.ok) fieldErrors.recurrence = recurrence.error;
  const reminders = remindersFromFields(
    {
      presets: all("reminders"),
      kept: all("reminder_keep"),
      remove: form.get("remove_reminder") === null ? null : text("remove_reminder"),
      customAmount: text("reminder_custom_amount"),
      customUnit: text("reminder_custom_unit") || "minutes",
      atDate: text("reminder_at_date"),
      atTime: text("reminder_at_time"),
    },
    user.timeZone,
  );
  if (!reminders.ok) fieldErrors.reminders = reminders.error;
  else if (!dueAt && (text("reminder_custom_amount").trim() || text("reminder_at_date")))
    fieldErrors.reminders = "Set a due date to add reminders.";
  if (!recurrence.ok || !reminders.ok || Object.keys(fieldErrors).length > 0)
    return fail("Some fields are not valid.", fieldErrors, 400);

  const current = await loadTaskDto(getDb(), user.userId, id);
  if (!current) notFound();
  const wanted = recurrence.recurrence;
  const body: z.input<typeof updateTaskSchema> = {
    title: input.title,
    description: input.description,
    priority: input.priority,
    tags: input.tags
      .split(/[\s,]+/)
      .map((tag) => tag.replace(/^#/, ""))
      .filter(Boolean),
    due_at: dueAt,
    version: input.version,
  };
  // Reminders are planned against the due time; without one the command clears them itself.
  if (dueAt) body.reminders = reminders.reminders;
  // The series is only touched when its rule changed in the form.
  if (!sameRecurrence(current.recurrence, wanted)) body.recurrence = wanted;
  const result = await commandsAs(user).updateTask(id, body);
  if (!result.ok) return fail(result.message, result.fieldErrors, result.status);
  return data({ intent, message: "Saved.", fieldErrors: {} });
}

/** Submits the complete form once the dialog has answered (its hidden field then holds the answer). */
function SubmitOnChoice({
  choice,
  form,
  onSent,
}: {
  choice: string;
  form: React.RefObject<HTMLFormElement | null>;
  onSent: () => void;
}) {
  useEffect(() => {
    if (!choice) return;
    form.current?.requestSubmit();
    onSent();
  }, [choice, form, onSent]);
  return null;
}

type Delivery = "delivered" | "retrying" | "undelivered" | "none";

/** Says when a reminder did not reach the user anywhere, or is still being retried. */
function DeliveryBadge({ delivery }: { delivery: Delivery }) {
  if (delivery === "undelivered")
    return (
      <span
        className="ml-2 rounded bg-red-100 px-1.5 py-0.5 text-xs font-medium text-red-900"
        data-undelivered
      >
        not delivered on any channel
      </span>
    );
  if (delivery === "retrying")
    return (
      <span className="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-900" data-retrying>
        retrying
      </span>
    );
  return null;
}

interface DeliveryView {
  id: string;
  channel: string;
  status: string;
  line: string;
  sendAgain: boolean;
}

interface SnoozeView {
  jobName: string;
  remindAt: string;
  status: string;
  reason: string | null;
  pressed: { action: string; channel: string; at: string } | null;
  delivery: Delivery;
  deliveries: DeliveryView[];
}

/**
 * One delivery of a reminder, and for one that never reached the user a "Send again" button: a
 * form POST (it works without JavaScript), "Sending…" while it runs, then the outcome in words
 * ("Sent", "Failed again: HTTP 500", or why it cannot be sent), kept after the list reloads.
 */
function DeliveryItem({
  delivery,
  csrf,
  className,
  marker,
}: {
  delivery: DeliveryView;
  csrf: string;
  className: string;
  marker: Record<string, string>;
}) {
  const fetcher = useFetcher<typeof action>();
  const posted = useActionResult<typeof action>();
  const result = fetcher.data ?? posted;
  const outcome =
    result?.intent === "send-again" && "deliveryId" in result && result.deliveryId === delivery.id
      ? result.message
      : null;
  const sending = fetcher.state !== "idle";
  const outcomeId = `send-again-${delivery.id}`;
  return (
    <span className={className}>
      <span {...marker}>{delivery.line}</span>
      {delivery.sendAgain || sending ? (
        <fetcher.Form method="post" className="ml-2 inline">
          <CsrfInput token={csrf} />
          <input type="hidden" name="intent" value="send-again" />
          <input type="hidden" name="delivery_id" value={delivery.id} />
          <button
            type="submit"
            className="rounded border border-slate-300 px-1.5 py-0.5 text-xs font-medium text-slate-800 hover:bg-slate-50 disabled:opacity-60"
            disabled={sending}
            aria-describedby={outcome ? outcomeId : undefined}
            aria-label={`Send again by ${delivery.channel}`}
            data-send-again
          >
            {sending ? "Sending…" : "Send again"}
          </button>
        </fetcher.Form>
      ) : null}
      {delivery.sendAgain || sending || outcome ? (
        <span id={outcomeId} role="status" className="ml-2 font-medium" data-send-again-outcome>
          {sending ? "" : outcome}
        </span>
      ) : null}
    </span>
  );
}

const buttonName = (action: string) => REMINDER_ACTIONS.find((a) => a === action);

/** A reminder's snoozes: when each reminds again, which button did it, and what became of it. */
function SnoozeList({ snoozes, timeZone, csrf }: { snoozes: SnoozeView[]; timeZone: string; csrf: string }) {
  return (
    <ul className="mt-1 space-y-1 border-l-2 border-indigo-100 pl-3" data-testid="snoozes">
      {snoozes.map((snooze) => {
        const action = snooze.pressed ? buttonName(snooze.pressed.action) : undefined;
        return (
          <li key={snooze.jobName} className="text-xs text-slate-700" data-snooze data-status={snooze.status}>
            <span className="font-medium" data-snooze-label>
              Snoozed until {formatInstant(snooze.remindAt, timeZone)}
            </span>
            {snooze.pressed ? (
              <span data-snooze-source>
                {" "}
                · {action ? ACTION_LABELS[action] : snooze.pressed.action} from {snooze.pressed.channel},{" "}
                {formatInstant(snooze.pressed.at, timeZone)}
              </span>
            ) : null}
            <span className="ml-2 rounded bg-slate-100 px-1.5 py-0.5">{snooze.status}</span>
            <DeliveryBadge delivery={snooze.delivery} />
            {snooze.reason ? <span className="ml-2">{snooze.reason}</span> : null}
            {snooze.deliveries.map((delivery) => (
              <DeliveryItem
                key={delivery.id}
                delivery={delivery}
                csrf={csrf}
                className="ml-2"
                marker={{ "data-snooze-delivery": delivery.channel }}
              />
            ))}
          </li>
        );
      })}
    </ul>
  );
}

function sameRecurrence(current: TaskDto["recurrence"], wanted: RecurrenceWire | null): boolean {
  if (!current || !current.active) return wanted === null;
  if (!wanted) return false;
  const instant = (iso: string | null) => (iso === null ? null : new Date(iso).getTime());
  return (
    current.pattern === wanted.pattern &&
    current.interval === wanted.interval &&
    current.anchor === wanted.anchor &&
    [...current.weekdays].sort().join(",") === [...wanted.weekdays].sort().join(",") &&
    current.month_day === wanted.month_day &&
    current.last_day_of_month === wanted.last_day_of_month &&
    current.month_week === wanted.month_week &&
    instant(current.ends_at) === instant(wanted.ends_at) &&
    current.max_count === wanted.max_count
  );
}

export default function TaskPage() {
  const {
    task,
    ask,
    reminders,
    otherSnoozes,
    reachable,
    settled,
    activity,
    lists,
    subtasks,
    parent,
    defaultReminders,
    pastReminderPolicy,
    timeZone,
    csrf,
    now,
  } = useLoaderData<typeof loader>();
  const [asking, setAsking] = useState(false);
  // The delete scope waiting for the parent-delete question's answer; null: not asking.
  const [deleting, setDeleting] = useState<"occurrence" | "series" | null>(null);
  const completeForm = useRef<HTMLFormElement>(null);
  const [choice, setChoice] = useState<string>("");
  const openSubtasks = task.subtasks.total - task.subtasks.done;
  const list = lists.find((l) => l.id === task.list_id);
  const listName = (listId: unknown) => lists.find((l) => l.id === listId)?.name ?? "a list";
  const actionData = useActionResult<typeof action>();
  const navigation = useNavigation();
  const navigate = useNavigate();
  const undo = useUndo();
  const saving = navigation.state === "submitting" && navigation.formData?.get("intent") === "update";
  const initial = localParts(task.due_at, timeZone);
  const [dueDate, setDueDate] = useState(initial.date);
  const [dueTime, setDueTime] = useState(initial.time);
  const dueForPreview = useMemo(() => {
    if (!dueDate) return null;
    return localInstant(dueDate, dueTime || "09:00", timeZone);
  }, [dueDate, dueTime, timeZone]);
  const errors = (actionData?.fieldErrors ?? {}) as Record<string, string | undefined>;
  const recurring = Boolean(task.recurrence?.active);
  /** Hides the task and holds its delete back while the list's toast offers Undo. */
  const deleteNow = (scope: "occurrence" | "series") => {
    setDeleting(null);
    undo.holdDelete({ id: task.id, title: task.title, recurring }, scope, "/");
    navigate("/");
  };
  // Re-mount the form when the task changes elsewhere (live sync), so it shows the new version.
  const formKey = `${task.id}:${task.version}`;

  return (
    <div className="space-y-6">
      <Link to="/" className="text-sm text-indigo-700 underline">
        ← All tasks
      </Link>
      {ask ? <ParentQuestion ask={ask} task={task} csrf={csrf} /> : null}
      <div className="flex flex-wrap items-start gap-3">
        <div className="min-w-0 flex-1">
          <h1
            className={`text-2xl font-semibold ${task.status === "completed" ? "text-slate-500 line-through" : ""}`}
          >
            {task.title}
          </h1>
          <TaskMeta task={task} timeZone={timeZone} now={now} variant="page" />
          <p className="mt-1 flex flex-wrap items-center gap-2 text-sm text-slate-700">
            {list ? (
              <span className="inline-flex items-center gap-1.5" data-task-list>
                <ListDot color={list.color} />
                {list.name}
              </span>
            ) : null}
            <SubtaskProgress subtasks={task.subtasks} />
            {parent ? (
              <span>
                Subtask of{" "}
                <Link to={`/tasks/${parent.id}`} className="text-indigo-700 underline">
                  {parent.title}
                </Link>
              </span>
            ) : null}
          </p>
        </div>
        <Form
          method="post"
          ref={completeForm}
          onSubmit={(event) => {
            // A parent with open subtasks asks first; the dialog's answer submits again with it.
            if (task.status === "pending" && openSubtasks > 0 && !choice) {
              event.preventDefault();
              setAsking(true);
            }
          }}
        >
          <CsrfInput token={csrf} />
          <input type="hidden" name="subtasks" value={choice} />
          <input type="hidden" name="intent" value={task.status === "completed" ? "reopen" : "complete"} />
          <button type="submit" className={task.status === "completed" ? secondaryButtonClass : buttonClass}>
            {task.status === "completed" ? "Reopen" : "Mark complete"}
          </button>
        </Form>
      </div>

      {asking ? (
        <CompleteParentDialog
          title={task.title}
          open={openSubtasks}
          onCancel={() => setAsking(false)}
          onChoose={(answer) => {
            setAsking(false);
            setChoice(answer);
          }}
        />
      ) : null}
      <SubmitOnChoice choice={choice} form={completeForm} onSent={() => setChoice("")} />

      <section
        className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
        aria-labelledby="subtasks-heading"
      >
        <div className="flex flex-wrap items-center gap-3">
          <h2 id="subtasks-heading" className="text-lg font-semibold">
            Subtasks
          </h2>
          <SubtaskProgress subtasks={task.subtasks} />
          <Form method="post" className="ml-auto flex items-center gap-2" aria-label="Move to another list">
            <CsrfInput token={csrf} />
            <input type="hidden" name="intent" value="move" />
            <label htmlFor="move-list" className="text-sm text-slate-700">
              List
            </label>
            <select
              id="move-list"
              name="list_id"
              defaultValue={task.list_id}
              key={task.list_id}
              disabled={Boolean(parent)}
              title={parent ? "A subtask is in its parent's list" : undefined}
              className={`${inputClass} w-40 py-1`}
            >
              {lists
                .filter((l) => !l.archived || l.id === task.list_id)
                .map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.name}
                  </option>
                ))}
            </select>
            {parent ? null : (
              <button type="submit" className={secondaryButtonClass}>
                Move
              </button>
            )}
          </Form>
        </div>
        {parent ? (
          <p className="mt-2 text-sm text-slate-700">
            Subtasks go one level deep: this one has none of its own.
          </p>
        ) : (
          <>
            {subtasks.length > 0 ? (
              <ul className="mt-2 divide-y divide-slate-100" data-testid="subtasks">
                {subtasks.map((sub) => (
                  <li
                    key={sub.id}
                    className="flex items-center gap-3 py-2"
                    data-subtask={sub.title}
                    data-status={sub.status}
                  >
                    <Form method="post">
                      <CsrfInput token={csrf} />
                      <input type="hidden" name="subtask_id" value={sub.id} />
                      <input
                        type="hidden"
                        name="intent"
                        value={sub.status === "completed" ? "subtask-reopen" : "subtask-complete"}
                      />
                      <button
                        type="submit"
                        aria-label={
                          sub.status === "completed" ? `Reopen “${sub.title}”` : `Complete “${sub.title}”`
                        }
                        className={`flex h-5 w-5 items-center justify-center rounded-full border-2 ${sub.status === "completed" ? "border-emerald-600 bg-emerald-600 text-white" : "border-slate-400 hover:border-indigo-600"}`}
                      >
                        {sub.status === "completed" ? "✓" : ""}
                      </button>
                    </Form>
                    <Link
                      to={`/tasks/${sub.id}`}
                      className={`text-sm hover:underline ${sub.status === "completed" ? "text-slate-500 line-through" : "text-slate-900"}`}
                    >
                      {sub.title}
                    </Link>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="mt-2 text-sm text-slate-700">No subtasks yet.</p>
            )}
            <Form
              method="post"
              className="mt-2 flex gap-2"
              aria-label="Add a subtask"
              key={task.subtasks.total}
            >
              <CsrfInput token={csrf} />
              <input type="hidden" name="intent" value="add-subtask" />
              <label htmlFor="subtask-title" className="sr-only">
                New subtask
              </label>
              <input
                id="subtask-title"
                name="title"
                required
                maxLength={500}
                placeholder="Add a subtask"
                className={`${inputClass} flex-1 py-1`}
              />
              <button type="submit" className={secondaryButtonClass}>
                Add subtask
              </button>
            </Form>
          </>
        )}
      </section>

      {actionData?.message && actionData.intent !== "update" && actionData.intent !== "send-again" ? (
        <p role="alert" className="rounded-md bg-red-50 p-3 text-sm text-red-800">
          {actionData.message}
        </p>
      ) : null}

      <Form
        key={formKey}
        method="post"
        className="space-y-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
        aria-label="Edit task"
      >
        <h2 className="text-lg font-semibold">Details</h2>
        <CsrfInput token={csrf} />
        <input type="hidden" name="intent" value="update" />
        <input type="hidden" name="version" value={task.version} />
        {/* Enter in a field clicks the form's first submit button (implicit submission, HTML §4.10.21.2):
            make that a plain save, not a reminder's remove button further down. */}
        <button type="submit" tabIndex={-1} aria-hidden="true" className="sr-only">
          Save
        </button>
        <Field label="Title" name="title" error={errors.title}>
          <input
            id="title"
            name="title"
            required
            maxLength={500}
            defaultValue={task.title}
            className={inputClass}
          />
        </Field>
        <Field label="Description" name="description" error={errors.description}>
          <textarea
            id="description"
            name="description"
            rows={3}
            defaultValue={task.description}
            className={inputClass}
          />
        </Field>
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label="Priority" name="priority" error={errors.priority}>
            <select id="priority" name="priority" defaultValue={task.priority} className={inputClass}>
              <option value="none">None</option>
              <option value="low">Low</option>
              <option value="medium">Medium</option>
              <option value="high">High</option>
            </select>
          </Field>
          <Field label="Tags" name="tags" error={errors.tags} hint="Separate with spaces or commas.">
            <input id="tags" name="tags" defaultValue={task.tags.join(", ")} className={inputClass} />
          </Field>
        </div>
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label="Due date" name="due_date" error={errors.due_at}>
            <input
              id="due_date"
              name="due_date"
              type="date"
              value={dueDate}
              onChange={(e) => setDueDate(e.target.value)}
              className={inputClass}
            />
          </Field>
          <Field label={`Due time (${timeZone})`} name="due_time">
            <input
              id="due_time"
              name="due_time"
              type="time"
              value={dueTime}
              onChange={(e) => setDueTime(e.target.value)}
              className={inputClass}
            />
          </Field>
        </div>
        <ReminderEditor
          reminders={task.reminders}
          hasDue={task.due_at !== null}
          defaultReminders={defaultReminders}
          timeZone={timeZone}
          dueAt={dueForPreview}
          policy={pastReminderPolicy}
          now={now}
          settled={settled}
          error={errors.reminders}
        />
        <RecurrenceEditor
          recurrence={task.recurrence}
          dueAt={dueForPreview}
          timeZone={timeZone}
          error={errors.recurrence}
        />
        <div className="flex items-center gap-3">
          <button type="submit" className={buttonClass} disabled={saving}>
            {saving ? "Saving…" : "Save changes"}
          </button>
          {actionData?.intent === "update" && actionData.message ? (
            <p
              role={Object.keys(errors).length ? "alert" : "status"}
              className={
                Object.keys(errors).length || actionData.message !== "Saved."
                  ? "text-sm text-red-700"
                  : "text-sm text-emerald-700"
              }
            >
              {actionData.message}
            </p>
          ) : null}
        </div>
      </Form>

      <section
        className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
        aria-labelledby="reminders-heading"
      >
        <h2 id="reminders-heading" className="text-lg font-semibold">
          Reminders
        </h2>
        {reminders.length > 0 && !reachable && task.status === "pending" ? (
          <p className="mt-2 rounded-md bg-amber-50 p-2 text-sm text-amber-900" data-testid="no-channel">
            No notification channel reaches you right now, so these reminders go nowhere.{" "}
            <Link to="/settings" className="underline">
              Turn one on in Settings
            </Link>
            .
          </p>
        ) : null}
        {reminders.length === 0 ? (
          <p className="mt-2 text-sm text-slate-700">
            {task.due_at ? "No reminders for this task." : "Set a due date to get reminders."}
          </p>
        ) : (
          <ul className="mt-2 divide-y divide-slate-100" data-testid="reminders">
            {reminders.map((reminder) => (
              <li
                key={reminder.id}
                className="py-2 text-sm"
                data-reminder
                data-status={reminder.status}
                data-delivery-state={reminder.delivery}
              >
                <span className="font-medium" data-reminder-label>
                  {reminder.label}
                </span>
                {reminder.remindAt ? (
                  <span className="text-slate-700"> · {formatInstant(reminder.remindAt, timeZone)}</span>
                ) : null}
                <span className="ml-2 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700">
                  {reminder.status}
                </span>
                <DeliveryBadge delivery={reminder.delivery} />
                {reminder.reason ? (
                  <span className="ml-2 text-xs text-slate-700" data-reason>
                    {reminder.reason}
                  </span>
                ) : null}
                {reminder.deliveries.map((delivery) => (
                  <DeliveryItem
                    key={delivery.id}
                    delivery={delivery}
                    csrf={csrf}
                    className={`ml-2 text-xs ${delivery.status === "failed" ? "text-red-800" : "text-slate-700"}`}
                    marker={{ "data-delivery": delivery.channel }}
                  />
                ))}
                {reminder.snoozes.length > 0 ? (
                  <SnoozeList snoozes={reminder.snoozes} timeZone={timeZone} csrf={csrf} />
                ) : null}
              </li>
            ))}
          </ul>
        )}
        {otherSnoozes.length > 0 ? (
          <div className="mt-2 text-sm">
            <p className="font-medium">Snoozed reminders of removed rules</p>
            <SnoozeList snoozes={otherSnoozes} timeZone={timeZone} csrf={csrf} />
          </div>
        ) : null}
      </section>

      <section
        className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
        aria-labelledby="activity-heading"
      >
        <h2 id="activity-heading" className="text-lg font-semibold">
          Activity
        </h2>
        {activity.length === 0 ? (
          <p className="mt-2 text-sm text-slate-700">No history recorded yet.</p>
        ) : (
          <ol className="mt-2 space-y-2" data-testid="activity">
            {activity.map((item) => (
              <li key={item.id} className="text-sm">
                <span className="font-medium capitalize">{item.action}</span>
                {item.reason ? (
                  <span className="text-slate-700"> ({item.reason.replace(/_/g, " ")})</span>
                ) : null}
                {item.action === "updated" && item.changes.list_id ? (
                  <span className="text-slate-700" data-moved>
                    {" "}
                    · Moved from {listName(item.changes.list_id.before)} to{" "}
                    {listName(item.changes.list_id.after)}
                  </span>
                ) : null}
                {item.action === "updated" &&
                Object.keys(item.changes).filter((field) => field !== "list_id").length > 0 ? (
                  <span className="text-slate-700">
                    {" "}
                    ·{" "}
                    {Object.keys(item.changes)
                      .filter((field) => field !== "list_id")
                      .join(", ")
                      .replace(/_/g, " ")}
                  </span>
                ) : null}
                <span className="text-slate-600">
                  {" "}
                  · {item.actor.type === "user" ? "you" : item.actor.type.replace("_", " ")}
                </span>
                <time dateTime={item.occurred_at} className="block text-xs text-slate-600">
                  {formatInstant(item.occurred_at, timeZone)}
                </time>
              </li>
            ))}
          </ol>
        )}
      </section>

      {recurring && task.status === "pending" && task.due_at ? (
        <section
          className="rounded-lg border border-slate-200 bg-white p-4"
          aria-labelledby="occurrence-heading"
        >
          <h2 id="occurrence-heading" className="text-lg font-semibold">
            This occurrence
          </h2>
          <p className="mt-1 text-sm text-slate-700">
            Skip it, and the series goes on to its next date; postpone it, and only this one moves.
          </p>
          <div className="mt-2 flex flex-wrap gap-2">
            <Form method="post">
              <CsrfInput token={csrf} />
              <input type="hidden" name="intent" value="skip" />
              <button type="submit" className={secondaryButtonClass}>
                Skip this one
              </button>
            </Form>
            {[
              { days: 1, label: "Postpone a day" },
              { days: 7, label: "Postpone a week" },
            ].map(({ days, label }) => (
              <Form method="post" key={days}>
                <CsrfInput token={csrf} />
                <input type="hidden" name="intent" value="postpone" />
                <input type="hidden" name="days" value={days} />
                <input type="hidden" name="version" value={task.version} />
                <button type="submit" className={secondaryButtonClass}>
                  {label}
                </button>
              </Form>
            ))}
          </div>
        </section>
      ) : null}

      <section className="rounded-lg border border-red-200 bg-white p-4" aria-labelledby="delete-heading">
        <h2 id="delete-heading" className="text-lg font-semibold text-red-800">
          Delete
        </h2>
        {/* Without JavaScript this deletes at once and goes to the list. With it, it goes to the list
            at once, which hides the task and holds its delete back while its toast offers Undo
            (components/undo.tsx): undone, nothing was deleted; the toast's end sends it. */}
        <Form
          method="post"
          className="mt-2 flex flex-wrap gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            const button = (event.nativeEvent as SubmitEvent).submitter;
            const scope = button?.getAttribute("value") === "series" ? "series" : "occurrence";
            // A parent goes with its subtasks: ask first (the toast's Undo still brings all back).
            if (task.subtasks.total > 0) setDeleting(scope);
            else deleteNow(scope);
          }}
        >
          <CsrfInput token={csrf} />
          <input type="hidden" name="intent" value="delete" />
          {recurring ? (
            <>
              <p className="w-full text-sm text-slate-700">
                This task repeats. Delete only this one, or the whole series?
              </p>
              <button type="submit" name="scope" value="occurrence" className={dangerButtonClass}>
                Delete this one
              </button>
              <button type="submit" name="scope" value="series" className={dangerButtonClass}>
                Delete the series
              </button>
            </>
          ) : (
            <button type="submit" name="scope" value="occurrence" className={dangerButtonClass}>
              Delete task
            </button>
          )}
        </Form>
        {deleting ? (
          <ModalDialog
            title={`Delete “${task.title}”?`}
            description={`Its ${task.subtasks.total} subtask${task.subtasks.total === 1 ? " goes" : "s go"} with it. Undo brings all back.`}
            testId="delete-parent-dialog"
            onCancel={() => setDeleting(null)}
          >
            <button type="button" className={secondaryButtonClass} onClick={() => setDeleting(null)}>
              Cancel
            </button>
            <button type="button" className={dangerButtonClass} autoFocus onClick={() => deleteNow(deleting)}>
              Delete {task.subtasks.total === 1 ? "both" : `all ${task.subtasks.total + 1}`}
            </button>
          </ModalDialog>
        ) : null}
      </section>
    </div>
  );
}
