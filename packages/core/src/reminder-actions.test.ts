import { createHmac, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it, test } from "vitest";
import {
  actionTokens,
  signActionToken,
  verifyActionToken,
  type ActionKeyring,
} from "./reminder-action-tokens.ts";
import {
  ACTION_TOKEN_TTL_MS,
  actionRefusal,
  claimsReminderKey,
  reminderActionActor,
  snoozedUntil,
  type ActionClaims,
} from "./reminder-actions.ts";
import { reminderNotification } from "./notification-messages.ts";
import {
  isSnoozeJobName,
  isValidJobName,
  parseReminderJobName,
  planReconciliation,
  cancelReason,
  CANCEL_REASONS,
  SKIP_REASONS,
  snoozeJobName,
} from "./reminders.ts";
import { deliveryLine, occurrenceDelivery, reachesSomewhere } from "./channels.ts";

const TASK = "0b7f3c2e-5d4a-4f7e-9a51-3c2d1e0f9a8b";
const USER = "6f1c0d9e-2b3a-4c5d-8e7f-0a1b2c3d4e5f";
const NOW = new Date("2026-12-06T10:00:00.000Z");
const keyring = (kid = "k1", key = randomBytes(32)): ActionKeyring => ({
  current: kid,
  keys: new Map([[kid, key]]),
});
const KEYS = keyring();

const claims = (overrides: Partial<ActionClaims> = {}): ActionClaims => ({
  userId: USER,
  taskId: TASK,
  jobName: `reminder-${TASK}-o15`,
  remindAt: new Date("2026-12-06T09:45:00.000Z"),
  action: "complete",
  channel: "push",
  expiresAt: new Date(NOW.getTime() + ACTION_TOKEN_TTL_MS),
  ...overrides,
});

/** The token's payload, re-encoded after `change` (what an attacker can do without the key). */
function alterPayload(token: string, change: (payload: Record<string, unknown>) => void): string {
  const [version, kid, payload, mac] = token.split(".") as [string, string, string, string];
  const fields = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
  change(fields);
  return [version, kid, Buffer.from(JSON.stringify(fields)).toString("base64url"), mac].join(".");
}

describe("given a token signed for one reminder's Complete button", () => {
  const token = signActionToken(claims(), KEYS);

  it("when it is checked before it expires, then it names exactly what was signed", () => {
    const verdict = verifyActionToken(token, KEYS, NOW, "complete");
    expect(verdict).toEqual({ ok: true, claims: { ...claims(), expiresAt: claims().expiresAt } });
    expect(token).toMatch(/^v1\.k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(token.length).toBeLessThan(400);
  });

  it("when it is checked at its expiry or after, then it is expired; a second before, it still works", () => {
    const expiry = claims().expiresAt.getTime();
    expect(verifyActionToken(token, KEYS, new Date(expiry), "complete")).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(verifyActionToken(token, KEYS, new Date(expiry + 86_400_000))).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(verifyActionToken(token, KEYS, new Date(expiry - 1000)).ok).toBe(true);
  });

  it("when it is pressed as another button, then it is refused as the wrong action", () => {
    expect(verifyActionToken(token, KEYS, NOW, "snooze_10m")).toEqual({ ok: false, reason: "wrong_action" });
  });

  it("when any signed field is changed, then it is invalid (never 'expired': nothing it says is believed)", () => {
    const changes: ((p: Record<string, unknown>) => void)[] = [
      (p) => (p.a = "snooze_1h"),
      (p) => (p.u = "11111111-2222-4333-8444-555555555555"),
      (p) => (p.t = "11111111-2222-4333-8444-555555555555"),
      (p) => (p.j = `reminder-${TASK}-o60`),
      (p) => (p.r = (p.r as number) + 1),
      (p) => (p.c = "email"),
      (p) => (p.e = (p.e as number) + 86_400),
      (p) => (p.e = 1), // pushed into the past: still "invalid", not "expired"
    ];
    for (const change of changes) {
      const forged = alterPayload(token, change);
      expect(forged).not.toBe(token);
      expect(verifyActionToken(forged, KEYS, NOW)).toEqual({ ok: false, reason: "invalid" });
    }
  });

  it("when its MAC, key id or version is changed, or it is cut short or padded, then it is invalid", () => {
    const [version, kid, payload, mac] = token.split(".") as [string, string, string, string];
    const flipped = `${mac.slice(0, -2)}${mac.at(-2) === "A" ? "B" : "A"}${mac.at(-1)}`;
    const broken = [
      [version, kid, payload, flipped].join("."),
      [version, "k2", payload, mac].join("."),
      ["v2", kid, payload, mac].join("."),
      [version, kid, payload].join("."),
      token.slice(0, -1),
      `${token}A`,
      `${token}.x`,
      "",
      "not a token",
      `${token}${"A".repeat(1100)}`,
    ];
    for (const candidate of broken)
      expect(verifyActionToken(candidate, KEYS, NOW), candidate.slice(0, 40)).toEqual({
        ok: false,
        reason: "invalid",
      });
  });

  it("when it is checked with another server's key, then it is invalid", () => {
    expect(verifyActionToken(token, keyring(), NOW)).toEqual({ ok: false, reason: "invalid" });
  });

  it("when the key rotates (a new current, the old kept), then it still works; once the old key is gone, not", () => {
    const rotated: ActionKeyring = { current: "k2", keys: new Map([...KEYS.keys, ["k2", randomBytes(32)]]) };
    expect(verifyActionToken(token, rotated, NOW).ok).toBe(true);
    expect(signActionToken(claims(), rotated)).toMatch(/^v1\.k2\./);
    expect(verifyActionToken(token, { keys: new Map([["k2", rotated.keys.get("k2")!]]) }, NOW).ok).toBe(
      false,
    );
  });
});

test("a token correctly signed over a payload that is not ours (a job of another task, bad JSON) is invalid", () => {
  const key = KEYS.keys.get("k1")!;
  const forge = (payload: string) => {
    const signed = `v1.k1.${Buffer.from(payload).toString("base64url")}`;
    const mac = createHmac("sha256", key).update(`orbit.reminder-action.${signed}`).digest("base64url");
    return `${signed}.${mac}`;
  };
  const good = JSON.parse(
    Buffer.from(signActionToken(claims(), KEYS).split(".")[2]!, "base64url").toString(),
  );
  // The forge helper is right: the same payload verifies.
  expect(verifyActionToken(forge(JSON.stringify(good)), KEYS, NOW).ok).toBe(true);
  const otherTask = { ...good, j: "reminder-11111111-2222-4333-8444-555555555555-o15" };
  expect(verifyActionToken(forge(JSON.stringify(otherTask)), KEYS, NOW)).toEqual({
    ok: false,
    reason: "invalid",
  });
  expect(verifyActionToken(forge("{not json"), KEYS, NOW)).toEqual({ ok: false, reason: "invalid" });
  expect(verifyActionToken(forge(JSON.stringify({ ...good, extra: 1 })), KEYS, NOW)).toEqual({
    ok: false,
    reason: "invalid",
  });
  // A MAC under the same key for another purpose (no domain prefix) does not pass.
  const signed = `v1.k1.${Buffer.from(JSON.stringify(good)).toString("base64url")}`;
  const bare = createHmac("sha256", key).update(signed).digest("base64url");
  expect(verifyActionToken(`${signed}.${bare}`, KEYS, NOW)).toEqual({ ok: false, reason: "invalid" });
});

test("one occurrence gets a token per action and channel, each good for its own button for 7 days only", () => {
  const occurrence = {
    userId: USER,
    taskId: TASK,
    jobName: `reminder-${TASK}-o15`,
    remindAt: claims().remindAt,
  };
  const push = actionTokens(occurrence, "push", KEYS, NOW);
  const email = actionTokens(occurrence, "email", KEYS, NOW);
  expect(new Set([...Object.values(push), ...Object.values(email)]).size).toBe(6);
  for (const [action, token] of Object.entries(push)) {
    const verdict = verifyActionToken(token, KEYS, NOW, action as "complete");
    expect(verdict.ok && verdict.claims.channel).toBe("push");
    expect(verdict.ok && verdict.claims.expiresAt.getTime()).toBe(NOW.getTime() + ACTION_TOKEN_TTL_MS);
  }
  expect(verifyActionToken(email.snooze_1h, KEYS, NOW, "snooze_1h").ok).toBe(true);
  expect(verifyActionToken(email.snooze_1h, KEYS, new Date(NOW.getTime() + ACTION_TOKEN_TTL_MS)).ok).toBe(
    false,
  );
});

test("the audit log's actor and the ledger key of a token's occurrence", () => {
  expect(reminderActionActor(claims({ channel: "email" }))).toEqual({
    type: "reminder_action",
    id: `email:reminder-${TASK}-o15`,
  });
  expect(claimsReminderKey(claims())).toBe(`reminder-${TASK}-o15@2026-12-06T09:45:00.000Z`);
});

describe("what an action may do to the task as it is now", () => {
  const pending = { status: "pending" as const, dueAt: new Date("2026-12-06T10:00:00.000Z") };
  it("when the task is gone (or another account's), then every action is refused the same way", () => {
    for (const action of ["complete", "snooze_10m", "snooze_1h"] as const)
      expect(actionRefusal(action, null)).toBe("task_gone");
  });
  it("when it is completed, then Complete is no refusal (already so) and a snooze is", () => {
    const done = { ...pending, status: "completed" as const };
    expect(actionRefusal("complete", done)).toBeNull();
    expect(actionRefusal("snooze_10m", done)).toBe("task_completed");
  });
  it("when it lost its due date, then it has no reminders to snooze", () => {
    expect(actionRefusal("snooze_1h", { status: "pending", dueAt: null })).toBe("no_due_date");
    expect(actionRefusal("snooze_1h", pending)).toBeNull();
  });
  it("a snooze reminds again 10 minutes or an hour from the press", () => {
    expect(snoozedUntil("snooze_10m", NOW).toISOString()).toBe("2026-12-06T10:10:00.000Z");
    expect(snoozedUntil("snooze_1h", NOW).toISOString()).toBe("2026-12-06T11:00:00.000Z");
  });
});

// ───── snooze jobs: names, and reconciliation ─────

describe("given a reminder occurrence that is snoozed", () => {
  const occurrence = { jobName: `reminder-${TASK}-o15`, remindAt: new Date("2026-12-06T09:45:00.000Z") };
  const name = snoozeJobName(occurrence)!;

  it("when its snooze job is named, then the name keeps the rule and the occurrence, and parses back", () => {
    expect(name).toBe(`reminder-${TASK}-so15-${occurrence.remindAt.getTime()}`);
    expect(isValidJobName(name)).toBe(true);
    expect(isSnoozeJobName(name)).toBe(true);
    expect(isSnoozeJobName(occurrence.jobName)).toBe(false);
    expect(parseReminderJobName(name)).toEqual({
      taskId: TASK,
      reminder: { offset_minutes: 15, remind_at: null },
      snoozed: occurrence.remindAt.toISOString(),
    });
  });

  it("when the same occurrence is snoozed again, then the name is the same (one job, moved)", () => {
    expect(snoozeJobName({ ...occurrence })).toBe(name);
  });

  it("when a snooze that fired is snoozed again, then the new occurrence gets its own name under the same rule", () => {
    const again = snoozeJobName({ jobName: name, remindAt: new Date("2026-12-06T09:55:00.000Z") });
    expect(again).toBe(`reminder-${TASK}-so15-${Date.parse("2026-12-06T09:55:00.000Z")}`);
    expect(again).not.toBe(name);
  });

  it("when an absolute reminder is snoozed, then its rule's instant stays in the name", () => {
    const absolute = `reminder-${TASK}-a1765000000000`;
    expect(snoozeJobName({ jobName: absolute, remindAt: new Date(1765000000000) })).toBe(
      `reminder-${TASK}-sa1765000000000-1765000000000`,
    );
  });

  it("when a name is not ours, then there is no snooze name, and half-snooze names do not parse", () => {
    expect(snoozeJobName({ jobName: "reminder-abc", remindAt: NOW })).toBeNull();
    expect(parseReminderJobName(`reminder-${TASK}-so15`)).toBeNull();
    expect(parseReminderJobName(`reminder-${TASK}-o15-1765000000000`)).toBeNull();
    expect(parseReminderJobName(`reminder-${TASK}-so15-01`)).toBeNull();
  });

  it("for any rule and instant, the snooze name is a valid Dapr job name that parses back", () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.integer({ min: 0, max: 525_600 }),
        fc.date({ min: new Date(0), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }),
        (task, minutes, at) => {
          const snooze = snoozeJobName({ jobName: `reminder-${task}-o${minutes}`, remindAt: at });
          return (
            snooze !== null &&
            isValidJobName(snooze) &&
            parseReminderJobName(snooze)?.snoozed === at.toISOString() &&
            parseReminderJobName(snooze)?.taskId === task
          );
        },
      ),
    );
  });
});

describe("given a task with a scheduled snooze", () => {
  const due = new Date("2026-12-06T12:00:00.000Z");
  const snooze = `reminder-${TASK}-so15-1765014300000`;
  const rows = [{ jobName: snooze, status: "scheduled" as const, remindAt: NOW, dueAt: due }];
  const empty = { jobs: [], skipped: [] };

  it("when the task is reconciled for another reason (a reminder removed, say), then the snooze stays", () => {
    expect(planReconciliation(empty, rows, due).cancel).toEqual([]);
  });
  it("when the task is completed, deleted or its due date moved, then the snooze is cancelled, saying why", () => {
    expect(planReconciliation(empty, rows, null)).toMatchObject({ cancel: [snooze], delete: [snooze] });
    expect(planReconciliation(empty, rows, new Date("2026-12-07T12:00:00.000Z")).cancel).toEqual([snooze]);
    expect(cancelReason({ status: "pending", due_at: "2026-12-07T12:00:00.000Z" }, snooze)).toBe(
      SKIP_REASONS.dueDateChanged,
    );
    expect(cancelReason({ status: "completed", due_at: "2026-12-06T12:00:00.000Z" }, snooze)).toBe(
      CANCEL_REASONS.taskCompleted,
    );
    expect(cancelReason(null, snooze)).toBe(CANCEL_REASONS.taskGone);
    // A rule's own job removed from a pending task is still "removed".
    expect(
      cancelReason({ status: "pending", due_at: "2026-12-07T12:00:00.000Z" }, `reminder-${TASK}-o15`),
    ).toBe(CANCEL_REASONS.reminderRemoved);
  });
  it("when it already fired, then reconciling leaves it alone", () => {
    expect(planReconciliation(empty, [{ ...rows[0]!, status: "fired" }], null).cancel).toEqual([]);
  });
});

// ───── what the user sees of a reminder's deliveries ─────

describe("an occurrence's deliveries", () => {
  const d = (status: string) => ({ status });
  it("are delivered when any channel took it, retrying while one may still, undelivered when all failed", () => {
    expect(occurrenceDelivery([])).toBe("none");
    expect(occurrenceDelivery([d("failed"), d("sent")])).toBe("delivered");
    expect(occurrenceDelivery([d("failed"), d("pending")])).toBe("retrying");
    expect(occurrenceDelivery([d("failed"), d("failed")])).toBe("undelivered");
    expect(occurrenceDelivery([d("failed")])).toBe("undelivered");
  });
  it("each read as a line with its attempts and last error", () => {
    const line = (status: string, attempts: number, error: string | null = null) =>
      deliveryLine({ channel: "email", status, attempts, error });
    expect(line("sent", 1)).toBe("email: sent");
    expect(line("failed", 5, "HTTP 500")).toBe("email: failed after 5 attempts (HTTP 500)");
    expect(line("failed", 1, "gone")).toBe("email: failed after 1 attempt (gone)");
    expect(line("pending", 2, "HTTP 503")).toBe("email: retrying after attempt 2 (HTTP 503)");
    expect(line("pending", 0)).toBe("email: sending");
  });
});

test("a reminder reaches somewhere only through a channel that can deliver now", () => {
  const row = (kind: "push" | "email" | "webhook", fields: Record<string, unknown> = {}) => ({
    kind,
    enabled: true,
    emailAddress: null,
    emailConfirmedAddress: null,
    webhookUrl: null,
    webhookSecret: null,
    ...fields,
  });
  // Push is on by default, but reaches nowhere without a subscribed browser.
  expect(reachesSomewhere([], 0, "me@orbit.test")).toBe(false);
  expect(reachesSomewhere([], 1, "me@orbit.test")).toBe(true);
  expect(reachesSomewhere([row("push", { enabled: false })], 1, "me@orbit.test")).toBe(false);
  expect(reachesSomewhere([row("email")], 0, "me@orbit.test")).toBe(false);
  expect(
    reachesSomewhere([row("email", { emailConfirmedAddress: "me@orbit.test" })], 0, "Me@orbit.test"),
  ).toBe(true);
  expect(reachesSomewhere([row("webhook", { webhookUrl: "https://h.example" })], 0, "me@orbit.test")).toBe(
    false,
  );
  expect(
    reachesSomewhere(
      [row("webhook", { webhookUrl: "https://h.example", webhookSecret: "v1:k" })],
      0,
      "x@y.z",
    ),
  ).toBe(true);
});

// ───── the messages that carry the buttons ─────

describe("given a reminder with its action tokens", () => {
  const event = {
    task_id: TASK,
    user_id: USER,
    title: "Pay <rent>",
    due_at: "2026-12-06T12:00:00.000Z",
    remind_at: "2026-12-06T11:45:00.000Z",
    job_name: `reminder-${TASK}-o15`,
  };
  const tokens = {
    push: { complete: "p.c", snooze_10m: "p.s10", snooze_1h: "p.s60" },
    email: { complete: "e.c", snooze_10m: "e.s10", snooze_1h: "e.s60" },
    webhook: { complete: "w.c", snooze_10m: "w.s10", snooze_1h: "w.s60" },
  };

  it("when it is pushed, then it carries three buttons, each with its push token", () => {
    const message = reminderNotification(event, "UTC", "https://orbit.example", NOW, tokens);
    expect(message.pushActions).toEqual([
      { action: "complete", title: "Complete", token: "p.c" },
      { action: "snooze_10m", title: "Snooze 10 min", token: "p.s10" },
      { action: "snooze_1h", title: "Snooze 1 h", token: "p.s60" },
    ]);
  });

  it("when it is mailed, then each link opens the confirmation page with its email token, and says so", () => {
    const message = reminderNotification(event, "UTC", "https://orbit.example", NOW, tokens);
    const links = [...message.emailHtml.matchAll(/href="([^"]+)" data-action="([^"]+)">([^<]+)</g)].map(
      (m) => [m[2], m[1]!.replace(/&amp;/g, "&"), m[3]],
    );
    expect(links).toEqual([
      ["complete", "https://orbit.example/reminders/action?action=complete&token=e.c", "Complete"],
      ["snooze_10m", "https://orbit.example/reminders/action?action=snooze_10m&token=e.s10", "Snooze 10 min"],
      ["snooze_1h", "https://orbit.example/reminders/action?action=snooze_1h&token=e.s60", "Snooze 1 h"],
    ]);
    expect(message.emailHtml).toContain("asks you to confirm");
    expect(message.emailHtml).not.toContain("p.c");
  });

  it("when it goes to a webhook, then the body offers each action with its webhook token, a page that asks and where to POST", () => {
    const message = reminderNotification(event, "UTC", "https://orbit.example", NOW, tokens);
    expect((message.webhookData as { actions: unknown }).actions).toEqual([
      {
        action: "complete",
        title: "Complete",
        token: "w.c",
        url: "https://orbit.example/reminders/action?action=complete&token=w.c",
        post: "https://orbit.example/reminders/act",
      },
      {
        action: "snooze_10m",
        title: "Snooze 10 min",
        token: "w.s10",
        url: "https://orbit.example/reminders/action?action=snooze_10m&token=w.s10",
        post: "https://orbit.example/reminders/act",
      },
      {
        action: "snooze_1h",
        title: "Snooze 1 h",
        token: "w.s60",
        url: "https://orbit.example/reminders/action?action=snooze_1h&token=w.s60",
        post: "https://orbit.example/reminders/act",
      },
    ]);
    expect(JSON.stringify(message.webhookData)).not.toMatch(/"[pe]\.(c|s10|s60)"/);
  });

  it("when there is no web app URL, then the mail has no action links and the webhook no actions (a relative link leads nowhere)", () => {
    const message = reminderNotification(event, "UTC", undefined, NOW, tokens);
    expect(message.emailHtml).not.toContain("/reminders/action");
    expect(message.webhookData).not.toHaveProperty("actions");
    expect(message.pushActions).toHaveLength(3);
  });

  it("when it has no tokens, then it has no buttons", () => {
    expect(reminderNotification(event, "UTC", "https://orbit.example", NOW).pushActions).toEqual([]);
  });
});
