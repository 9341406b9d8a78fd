import { describe, expect, it } from "vitest";
import {
  canSendAgain,
  occurrenceStaleness,
  parseReminderKey,
  sendAgainBlock,
  sendAgainOutcome,
  sendAgainRefusalText,
  settleManualAttempt,
  addressStatus,
  channelBodySchema,
  channelEnabled,
  channelView,
  CONFIRMATION_TTL_MS,
  confirmationLimits,
  confirmationMail,
  confirmationVerdict,
  deadLetterReason,
  deliverableReminderSchema,
  deliveryLine,
  deliveryResultJson,
  emailConfirmationPlan,
  emailTarget,
  enablingErrors,
  foreignSettings,
  nextSettings,
  occurrenceDelivery,
  reminderKey,
  deliveriesOfJob,
  reminderLogLine,
  LATER_DELIVERY_DELAYS_SECONDS,
  redeliveryJobName,
  reminderVerdict,
  totalAttempts,
  resendRefusal,
  settleAttempt,
  storedError,
  unconfirmedEmail,
  webhookTarget,
  type ChannelRow,
  type DeliveryResult,
  type TokenHolder,
} from "./channels.ts";
import { reminderJobName } from "./reminders.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z");
const LATER = new Date(NOW.getTime() + 3_600_000);
const EARLIER = new Date(NOW.getTime() - 3_600_000);
const ACCOUNT = { email: "ada@example.com", pushSubscriptions: 2 };

/** A stored channel: on, nothing configured, nobody confirmed anything. */
function row(fields: Partial<ChannelRow> = {}): ChannelRow {
  return {
    enabled: true,
    emailAddress: null,
    webhookUrl: null,
    webhookSecret: null,
    emailConfirmedAddress: null,
    emailPendingAddress: null,
    emailTokenSentAt: null,
    emailTokenExpiresAt: null,
    updatedAt: EARLIER,
    ...fields,
  };
}

// ───── channels and their settings ─────

describe("given a channel the user never configured", () => {
  it("when asked whether it is on, then push is (subscribing is the opt-in) and email and webhook are not", () => {
    expect(channelEnabled("push", undefined)).toBe(true);
    expect(channelEnabled("email", undefined)).toBe(false);
    expect(channelEnabled("webhook", null)).toBe(false);
  });

  it("when it is shown, then with its defaults and no update time", () => {
    expect(channelView("push", undefined, ACCOUNT, NOW)).toEqual({
      kind: "push",
      enabled: true,
      push_subscriptions: 2,
      updated_at: null,
    });
    expect(channelView("email", undefined, ACCOUNT, NOW)).toEqual({
      kind: "email",
      enabled: false,
      email_address: null,
      delivers_to: "ada@example.com",
      address_status: "unconfirmed",
      confirmation_sent_at: null,
      confirmation_expires_at: null,
      updated_at: null,
    });
    expect(channelView("webhook", undefined, ACCOUNT, NOW)).toEqual({
      kind: "webhook",
      enabled: false,
      webhook_url: null,
      has_secret: false,
      updated_at: null,
    });
  });

  it("when it is saved with nothing but its kind, then it is turned on with no address or URL", () => {
    expect(nextSettings(null, {})).toEqual({ enabled: true, emailAddress: null, webhookUrl: null });
  });
});

describe("given a push channel the user switched off", () => {
  it("when asked whether it is on, then it is not", () => {
    expect(channelEnabled("push", row({ enabled: false }))).toBe(false);
  });
});

describe("given a channel's settings in a request body", () => {
  it("when a field belongs to another channel, then each such field is refused, naming the channel", () => {
    expect(
      foreignSettings("push", { enabled: true, email_address: "a@b.example", webhook_url: null }),
    ).toEqual([
      { field: "email_address", detail: "not a setting of the push channel" },
      { field: "webhook_url", detail: "not a setting of the push channel" },
    ]);
    expect(foreignSettings("email", { webhook_secret: "0123456789abcdef" })).toEqual([
      { field: "webhook_secret", detail: "not a setting of the email channel" },
    ]);
  });

  it("when every field belongs to the channel, then nothing is refused", () => {
    expect(foreignSettings("push", { enabled: false })).toEqual([]);
    expect(foreignSettings("email", { enabled: true, email_address: null })).toEqual([]);
    expect(
      foreignSettings("webhook", { enabled: true, webhook_url: "https://x.example", webhook_secret: "s" }),
    ).toEqual([]);
  });

  it("when a webhook secret is shorter than 16 characters or holds a NUL, then the body is invalid", () => {
    expect(channelBodySchema.safeParse({ webhook_secret: "short" }).success).toBe(false);
    expect(channelBodySchema.safeParse({ webhook_secret: "0123456789abcdef\u0000" }).success).toBe(false);
    expect(channelBodySchema.safeParse({ webhook_secret: "0123456789abcdef" }).success).toBe(true);
  });
});

describe("given a stored channel and a save naming only some fields", () => {
  const stored = row({ enabled: false, emailAddress: "old@example.com", webhookUrl: "https://hook.example" });

  it("when fields are omitted, then they keep their stored value", () => {
    expect(nextSettings(stored, {})).toEqual({
      enabled: false,
      emailAddress: "old@example.com",
      webhookUrl: "https://hook.example",
    });
  });

  it("when a field is null, then it is cleared (email: back to the account's address)", () => {
    expect(nextSettings(stored, { enabled: true, email_address: null, webhook_url: null })).toEqual({
      enabled: true,
      emailAddress: null,
      webhookUrl: null,
    });
  });
});

describe("given a webhook without a secret", () => {
  it("when it is enabled, then the secret is required", () => {
    expect(
      enablingErrors("webhook", { enabled: true, webhookUrl: "https://hook.example", webhookSecret: null }),
    ).toEqual([{ field: "webhook_secret", detail: "is required to enable the webhook channel" }]);
  });

  it("when it is disabled, then nothing is required", () => {
    expect(
      enablingErrors("webhook", { enabled: false, webhookUrl: "https://hook.example", webhookSecret: null }),
    ).toEqual([]);
  });

  it("when a reminder goes out, then the webhook is no target", () => {
    expect(webhookTarget(row({ webhookUrl: "https://hook.example" }))).toBeNull();
  });
});

describe("given a webhook without a URL or a secret", () => {
  it("when it is enabled, then both are required, the URL first", () => {
    expect(enablingErrors("webhook", { enabled: true, webhookUrl: null, webhookSecret: null })).toEqual([
      { field: "webhook_url", detail: "is required to enable the webhook channel" },
      { field: "webhook_secret", detail: "is required to enable the webhook channel" },
    ]);
  });

  it("when another channel is enabled without them, then nothing is required", () => {
    expect(enablingErrors("email", { enabled: true, webhookUrl: null, webhookSecret: null })).toEqual([]);
  });
});

describe("given a webhook with a URL and a secret", () => {
  const hook = row({ webhookUrl: "https://hook.example/in", webhookSecret: "v1:k1:sealed" });

  it("when it is on, then it is a target: its URL, signed with its (sealed) secret", () => {
    expect(webhookTarget(hook)).toEqual({ url: "https://hook.example/in", sealedSecret: "v1:k1:sealed" });
    expect(enablingErrors("webhook", hook)).toEqual([]);
  });

  it("when it is off, then it is no target", () => {
    expect(webhookTarget({ ...hook, enabled: false })).toBeNull();
  });

  it("when it is shown, then its URL is and its secret is not, only that it has one", () => {
    expect(channelView("webhook", hook, ACCOUNT, NOW)).toEqual({
      kind: "webhook",
      enabled: true,
      webhook_url: "https://hook.example/in",
      has_secret: true,
      updated_at: EARLIER.toISOString(),
    });
  });
});

// ───── email confirmation ─────

describe("given an email channel nobody confirmed", () => {
  const email = row();

  it("when asked where its mail goes, then to the account's address, which is unconfirmed", () => {
    expect(addressStatus(email, ACCOUNT.email, NOW)).toBe("unconfirmed");
    expect(emailTarget(email, ACCOUNT.email)).toBeNull();
  });

  it("when it is saved on, then a confirmation link is due to the address it delivers to", () => {
    const plan = emailConfirmationPlan(
      "email",
      email,
      { enabled: true, emailAddress: null },
      ACCOUNT.email,
      NOW,
    );
    expect(plan).toEqual({ reset: {}, confirmTo: "ada@example.com" });
  });

  it("when it is saved off, then no link is due", () => {
    const plan = emailConfirmationPlan(
      "email",
      email,
      { enabled: false, emailAddress: null },
      ACCOUNT.email,
      NOW,
    );
    expect(plan.confirmTo).toBeNull();
  });

  it("when a link is asked for again, then that is allowed", () => {
    expect(resendRefusal(email, ACCOUNT.email, NOW)).toBeNull();
  });
});

describe("given an email channel that was never saved", () => {
  it("when a link is asked for, then the channel must be turned on first", () => {
    expect(resendRefusal(null, ACCOUNT.email, NOW)).toBe("Turn the email channel on first.");
  });
});

describe("given an email channel whose link is out", () => {
  const pending = row({
    emailAddress: "Me@Example.com",
    emailPendingAddress: "me@example.com",
    emailTokenSentAt: EARLIER,
    emailTokenExpiresAt: LATER,
  });

  it("when the link still works, then the address is pending and shown with the link's times", () => {
    expect(addressStatus(pending, ACCOUNT.email, NOW)).toBe("pending");
    expect(channelView("email", pending, ACCOUNT, NOW)).toMatchObject({
      address_status: "pending",
      delivers_to: "Me@Example.com",
      confirmation_sent_at: EARLIER.toISOString(),
      confirmation_expires_at: LATER.toISOString(),
    });
  });

  it("when the link has expired, then the address is unconfirmed again and the times are not shown", () => {
    const after = new Date(LATER.getTime() + 1);
    expect(addressStatus(pending, ACCOUNT.email, after)).toBe("unconfirmed");
    expect(channelView("email", pending, ACCOUNT, after)).toMatchObject({
      confirmation_sent_at: null,
      confirmation_expires_at: null,
    });
  });

  it("when it is saved again with the same address, then no new link is due while this one works", () => {
    const next = { enabled: true, emailAddress: "Me@Example.com" };
    expect(emailConfirmationPlan("email", pending, next, ACCOUNT.email, NOW)).toEqual({
      reset: {},
      confirmTo: null,
    });
  });
});

describe("given an email channel whose address its owner confirmed", () => {
  const confirmed = row({ emailAddress: "Me@Example.com", emailConfirmedAddress: "me@example.com" });

  it("when a reminder goes out, then it is mailed there (addresses compare case-insensitively)", () => {
    expect(addressStatus(confirmed, ACCOUNT.email, NOW)).toBe("confirmed");
    expect(emailTarget(confirmed, ACCOUNT.email)).toBe("Me@Example.com");
  });

  it("when the channel is off, then nothing is mailed", () => {
    expect(emailTarget({ ...confirmed, enabled: false }, ACCOUNT.email)).toBeNull();
  });

  it("when the address changes, then the confirmation is forgotten and a link is due to the new address", () => {
    const next = { enabled: true, emailAddress: "new@example.com" };
    expect(emailConfirmationPlan("email", confirmed, next, ACCOUNT.email, NOW)).toEqual({
      reset: unconfirmedEmail,
      confirmTo: "new@example.com",
    });
  });

  it("when the channel is saved with the same address, then it stays confirmed and no link is due", () => {
    const next = { enabled: true, emailAddress: "Me@Example.com" };
    expect(emailConfirmationPlan("email", confirmed, next, ACCOUNT.email, NOW)).toEqual({
      reset: {},
      confirmTo: null,
    });
  });

  it("when a link is asked for, then there is nothing to confirm", () => {
    expect(resendRefusal(confirmed, ACCOUNT.email, NOW)).toBe("The address is already confirmed.");
  });
});

describe("given an email channel using the account's address, confirmed", () => {
  const confirmed = row({ emailConfirmedAddress: "ada@example.com" });

  it("when the account's email changes, then the new one is unconfirmed and nothing is mailed", () => {
    expect(addressStatus(confirmed, "grace@example.com", NOW)).toBe("unconfirmed");
    expect(emailTarget(confirmed, "grace@example.com")).toBeNull();
  });
});

describe("given a webhook channel being saved", () => {
  it("when its (unused) email address differs, then email confirmation is left alone", () => {
    const plan = emailConfirmationPlan(
      "webhook",
      null,
      { enabled: true, emailAddress: "x@y.example" },
      "a@b",
      NOW,
    );
    expect(plan).toEqual({ reset: {}, confirmTo: null });
  });
});

describe("given a confirmation link opened for a channel", () => {
  const holder = (fields: Partial<TokenHolder> = {}): TokenHolder => ({
    userId: "u1",
    kind: "email",
    emailAddress: null,
    emailPendingAddress: "ada@example.com",
    emailTokenExpiresAt: LATER,
    user: { email: "Ada@Example.com" },
    ...fields,
  });

  it("when it is the account's own working link to the address in use, then it confirms", () => {
    expect(confirmationVerdict(holder(), "u1", NOW)).toBe("confirmed");
  });

  it("when the token matches nothing, or another account opens it, then it is invalid (saying nothing more)", () => {
    expect(confirmationVerdict(null, "u1", NOW)).toBe("invalid");
    expect(confirmationVerdict(holder(), "u2", NOW)).toBe("invalid");
    expect(confirmationVerdict(holder({ emailPendingAddress: null }), "u1", NOW)).toBe("invalid");
  });

  it("when it has expired, then it is expired (at the expiry instant already)", () => {
    expect(confirmationVerdict(holder({ emailTokenExpiresAt: NOW }), "u1", NOW)).toBe("expired");
    expect(confirmationVerdict(holder({ emailTokenExpiresAt: null }), "u1", NOW)).toBe("expired");
  });

  it("when the channel's address changed since it was sent, then it is stale", () => {
    expect(confirmationVerdict(holder({ emailAddress: "other@example.com" }), "u1", NOW)).toBe("stale");
  });
});

describe("given a confirmation mail to send", () => {
  const token = "A".repeat(43);

  it("when the web app's URL is known, then the link is absolute; otherwise relative", () => {
    expect(confirmationMail("https://orbit.example", "ada@example.com", token).html).toContain(
      `<a href="https://orbit.example/settings/email/confirm?token=${token}">`,
    );
    expect(confirmationMail(undefined, "ada@example.com", token).html).toContain(
      `<a href="/settings/email/confirm?token=${token}">`,
    );
  });

  it("when the address holds markup, then it is escaped; the subject is fixed", () => {
    const mail = confirmationMail(undefined, `"<b>"@x.example`, token);
    expect(mail.html).toContain("&#34;&#60;b&#62;&#34;@x.example");
    expect(mail.subject).toBe("Confirm your email address for Orbit reminders");
  });

  it("when it is counted, then against the account per hour and the address (normalised) per day", () => {
    expect(confirmationLimits("u1", " Ada@Example.com ")).toEqual([
      { key: "email-confirmation:account:u1", rule: { max: 3, windowMs: 3_600_000 } },
      { key: "email-confirmation:address:ada@example.com", rule: { max: 3, windowMs: CONFIRMATION_TTL_MS } },
    ]);
  });
});

// ───── delivering ─────

describe("given a reminder event", () => {
  const reminder = {
    task_id: "7b6a5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
    user_id: "0e1f2a3b-4c5d-4a1b-8c9d-7b6a5c4d3e2f",
    title: "Pay rent",
    due_at: "2026-12-01T09:00:00.000Z",
    remind_at: "2026-12-01T08:45:00.000Z",
    job_name: "reminder-abc",
  };

  it("when it is delivered, then its occurrence is keyed by its job and reminder time", () => {
    expect(reminderKey(reminder)).toBe("reminder-abc@2026-12-01T08:45:00.000Z");
  });

  it("when its task or user id is no UUID, then it cannot be delivered", () => {
    expect(deliverableReminderSchema.safeParse(reminder).success).toBe(true);
    expect(deliverableReminderSchema.safeParse({ ...reminder, task_id: "t1" }).success).toBe(false);
    expect(deliverableReminderSchema.safeParse({ ...reminder, user_id: "u1" }).success).toBe(false);
  });
});

/** The quick round of 5, then attempts 1 min, 5 min, 30 min and 2 h after each failure. */
const PLAN = { quickAttempts: 5, laterDelaysSeconds: LATER_DELIVERY_DELAYS_SECONDS };
const QUICK_ONLY = { quickAttempts: 5, laterDelaysSeconds: [] };

describe("given a send that failed and may succeed later", () => {
  const failed = { ok: false, status: 500, error: "HTTP 500", retriable: true };
  const after = (seconds: number) => new Date(NOW.getTime() + seconds * 1_000);

  it("when attempts are left in the quick round, then the delivery stays pending, retried at once", () => {
    expect(settleAttempt(failed, 4, PLAN, false, NOW)).toEqual({
      status: "pending",
      error: "HTTP 500",
      removeSubscription: false,
      nextAttemptAt: null,
    });
  });

  it("when the quick round is over, then each later attempt waits 1 min, 5 min, 30 min, 2 h; the last one fails it", () => {
    expect([5, 6, 7, 8].map((attempt) => settleAttempt(failed, attempt, PLAN, false, NOW))).toEqual(
      [60, 300, 1_800, 7_200].map((seconds) => ({
        status: "pending",
        error: "HTTP 500",
        removeSubscription: false,
        nextAttemptAt: after(seconds),
      })),
    );
    expect(settleAttempt(failed, 9, PLAN, false, NOW)).toMatchObject({
      status: "failed",
      nextAttemptAt: null,
    });
    expect(totalAttempts(PLAN)).toBe(9);
  });

  it("when no later attempts are planned, then the quick round's last attempt fails it", () => {
    expect(settleAttempt(failed, 5, QUICK_ONLY, false, NOW)).toMatchObject({
      status: "failed",
      nextAttemptAt: null,
    });
  });
});

describe("given a send that cannot succeed by trying again", () => {
  it("when it is the first attempt, then the delivery has failed already", () => {
    const outcome = { ok: false, status: null, error: "key gone", retriable: false };
    expect(settleAttempt(outcome, 1, PLAN, false, NOW)).toEqual({
      status: "failed",
      error: "key gone",
      removeSubscription: false,
      nextAttemptAt: null,
    });
  });
});

describe("given a push service that no longer knows the subscription", () => {
  const gone = { ok: false, status: 410, error: "HTTP 410", retriable: false, gone: true };

  it("when a push subscription was the target, then it is removed and the error says so", () => {
    expect(settleAttempt(gone, 1, PLAN, true, NOW)).toEqual({
      status: "failed",
      error: "HTTP 410; the push subscription was removed",
      removeSubscription: true,
      nextAttemptAt: null,
    });
    expect(settleAttempt({ ...gone, error: null }, 1, PLAN, true, NOW).error).toBe(
      "gone; the push subscription was removed",
    );
  });

  it("when the target was no push subscription, then nothing is removed", () => {
    expect(settleAttempt(gone, 1, PLAN, false, NOW)).toEqual({
      status: "failed",
      error: "HTTP 410",
      removeSubscription: false,
      nextAttemptAt: null,
    });
  });
});

describe("given a send that succeeded", () => {
  it("when it settles, then the delivery is sent", () => {
    const ok = { ok: true, status: 201, error: null, retriable: false };
    expect(settleAttempt(ok, 3, PLAN, true, NOW)).toEqual({
      status: "sent",
      error: null,
      removeSubscription: false,
      nextAttemptAt: null,
    });
    expect(settleAttempt(ok, 7, PLAN, true, NOW).status).toBe("sent");
  });
});

describe("given a very long error", () => {
  it("when it is stored or dead-lettered, then at most 2000 characters of it", () => {
    const long = "x".repeat(5000);
    expect(storedError(long)).toHaveLength(2000);
    expect(storedError(null)).toBeNull();
    expect(deadLetterReason("https://hook.example", 5, long)).toHaveLength(2000);
  });

  it("when a webhook never accepted, then the dead letter names it, its attempts and the last error", () => {
    expect(deadLetterReason("https://hook.example", 5, "HTTP 500")).toBe(
      "webhook https://hook.example failed 5 times; last: HTTP 500",
    );
    expect(deadLetterReason("https://hook.example", 1, null)).toBe(
      "webhook https://hook.example failed 1 times; last: unknown error",
    );
  });
});

describe("given the results of one reminder's deliveries", () => {
  const result = (fields: Partial<DeliveryResult>): DeliveryResult => ({
    channel: "push",
    target: "sub-1",
    deliveryId: "d1",
    status: "sent",
    alreadySettled: false,
    attempts: 1,
    httpStatus: 201,
    error: null,
    nextAttemptAt: null,
    ...fields,
  });

  it("when any is pending in its quick round, then the event is redelivered; when none is pending, it is done", () => {
    const waiting = result({ status: "pending", nextAttemptAt: new Date(NOW.getTime() + 60_000) });
    expect(reminderVerdict([result({}), result({ status: "pending" })])).toEqual({ kind: "retry" });
    expect(reminderVerdict([waiting, result({ status: "pending" })])).toEqual({ kind: "retry" });
    expect(reminderVerdict([result({}), result({ status: "failed" })])).toEqual({ kind: "done" });
    expect(reminderVerdict([])).toEqual({ kind: "done" });
  });

  it("when every pending one waits for a later attempt, then the service wakes at the earliest", () => {
    const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1_000);
    expect(
      reminderVerdict([
        result({ status: "pending", nextAttemptAt: at(300) }),
        result({ status: "failed" }),
        result({ status: "pending", nextAttemptAt: at(60) }),
      ]),
    ).toEqual({ kind: "later", at: at(60) });
  });

  it("when there were none, then the log says no channel is enabled", () => {
    expect(reminderLogLine([], "t1")).toEqual(["no channel enabled; nothing to deliver", { task_id: "t1" }]);
  });

  it("when some were attempted now, then the log lists only those, as the API shows them", () => {
    const fresh = result({ channel: "webhook", target: "https://hook.example", httpStatus: 200 });
    expect(reminderLogLine([fresh, result({ alreadySettled: true })], "t1")).toEqual([
      "reminder delivered",
      { results: [deliveryResultJson(fresh)] },
    ]);
    expect(deliveryResultJson(fresh)).toEqual({
      channel: "webhook",
      target: "https://hook.example",
      delivery_id: "d1",
      status: "sent",
      attempts: 1,
      http_status: 200,
      error: null,
      next_attempt_at: null,
    });
  });

  it("when every one was settled before, then the log says the redelivery was ignored", () => {
    expect(reminderLogLine([result({ alreadySettled: true })], "t1")).toEqual([
      "every channel already settled; redelivery ignored",
    ]);
  });
});

describe("a reminder occurrence's later attempts", () => {
  const reminder = {
    job_name: "reminder-3f1c2b7e-9a4d-4e21-8c3b-5d6e7f8a9b0c-o15",
    remind_at: "2026-12-10T08:45:00.000Z",
  };

  it("wake the service through one job per occurrence, named within the Scheduler's rules", () => {
    const name = redeliveryJobName(reminder);
    expect(name).toBe(
      `redeliver-reminder-3f1c2b7e-9a4d-4e21-8c3b-5d6e7f8a9b0c-o15-${Date.parse(reminder.remind_at)}`,
    );
    // Lower case, no `@`, `:`, `/` (go-etcd-cron's validator), well under 253 characters.
    expect(name).toMatch(/^[a-z0-9-]+$/);
    expect(name.length).toBeLessThan(253);
    expect(redeliveryJobName({ ...reminder, remind_at: "2026-12-10T08:46:00.000Z" })).not.toBe(name);
  });

  it("are worded with when the next one is", () => {
    expect(
      deliveryLine({
        channel: "email",
        status: "pending",
        attempts: 5,
        error: "SMTP down",
        nextTry: "10:46",
      }),
    ).toBe("email: next try 10:46, after 5 attempts (SMTP down)");
    expect(deliveryLine({ channel: "email", status: "pending", attempts: 2, error: "SMTP down" })).toBe(
      "email: retrying after attempt 2 (SMTP down)",
    );
  });

  it("when they were skipped (the task completed meanwhile), the occurrence counts as not attempted", () => {
    const skipped = { status: "skipped" };
    expect(occurrenceDelivery([skipped, skipped])).toBe("none");
    expect(occurrenceDelivery([skipped, { status: "failed" }])).toBe("undelivered");
    expect(occurrenceDelivery([skipped, { status: "pending" }])).toBe("retrying");
  });
});

describe("matching deliveries to the reminder they were for", () => {
  const taskId = "3f1c2b7e-9a4d-4e21-8c3b-5d6e7f8a9b0c";
  const due = new Date("2026-12-10T09:00:00.000Z");
  const offsets = [1, 15, 120, 1440];
  const jobs = offsets.map((offset) => ({
    offset,
    jobName: reminderJobName(taskId, { offset_minutes: offset, remind_at: null }),
    remindAt: new Date(due.getTime() - offset * 60_000),
  }));
  const sent = (job: (typeof jobs)[number], channel: string) => ({
    channel,
    reminderKey: reminderKey({ job_name: job.jobName, remind_at: job.remindAt.toISOString() }),
  });

  it("given every offset's deliveries, each reminder gets only its own (1 is a prefix of 15, 120 and 1440)", () => {
    const deliveries = jobs.flatMap((job) => [sent(job, "email"), sent(job, "webhook")]);
    for (const job of jobs)
      expect(deliveriesOfJob(deliveries, job), `offset ${job.offset}`).toEqual([
        sent(job, "email"),
        sent(job, "webhook"),
      ]);
  });

  it("given only the 15-minute reminder fired, the 1-minute one has no deliveries", () => {
    const [one, fifteen] = jobs;
    const deliveries = [sent(fifteen!, "email"), sent(fifteen!, "webhook")];
    expect(deliveriesOfJob(deliveries, one!)).toEqual([]);
    expect(deliveriesOfJob(deliveries, fifteen!)).toHaveLength(2);
  });

  it("given a job re-scheduled for a new due date, the earlier occurrence's deliveries are not its", () => {
    const [one] = jobs;
    const earlier = sent(one!, "email");
    const moved = { ...one!, remindAt: new Date(one!.remindAt.getTime() + 86_400_000) };
    expect(deliveriesOfJob([earlier], moved)).toEqual([]);
  });
});

describe("sending a reminder again", () => {
  const at = new Date("2026-12-05T09:00:00Z");
  const later = new Date("2026-12-05T09:05:00Z");
  const failure = { ok: false, status: 500, error: "the receiver answered HTTP 500", retriable: true };

  it("reads the occurrence back from its ledger key", () => {
    const key = reminderKey({ job_name: "reminder-t1-o15", remind_at: at.toISOString() });
    expect(parseReminderKey(key)).toEqual({ job_name: "reminder-t1-o15", remind_at: at.toISOString() });
    expect(parseReminderKey("test:0b0c")).toBeNull();
    expect(parseReminderKey("reminder-t1-o15@not-a-date")).toBeNull();
  });

  it("refuses an occurrence whose task was deleted, completed or moved to another due date", () => {
    expect(occurrenceStaleness(null, at)).toBe("task_deleted");
    expect(occurrenceStaleness({ status: "completed", dueAt: at }, at)).toBe("task_completed");
    expect(occurrenceStaleness({ status: "pending", dueAt: later }, at)).toBe("due_changed");
    expect(occurrenceStaleness({ status: "pending", dueAt: at }, null)).toBe("due_changed");
    expect(occurrenceStaleness({ status: "pending", dueAt: at }, new Date(at))).toBeNull();
  });

  it("offers it for a failed, skipped or waiting delivery; refuses one sent or in its quick round", () => {
    expect(canSendAgain({ status: "failed", nextAttemptAt: null })).toBe(true);
    expect(canSendAgain({ status: "skipped", nextAttemptAt: null })).toBe(true);
    expect(canSendAgain({ status: "pending", nextAttemptAt: later })).toBe(true);
    expect(canSendAgain({ status: "pending", nextAttemptAt: null })).toBe(false);
    expect(canSendAgain({ status: "sent", nextAttemptAt: null })).toBe(false);
    expect(sendAgainBlock({ status: "sent", attempts: 1, nextAttemptAt: null })).toBe("already_sent");
    expect(sendAgainBlock({ status: "pending", attempts: 2, nextAttemptAt: null })).toBe("in_progress");
    expect(sendAgainBlock({ status: "pending", attempts: 0, nextAttemptAt: null })).toBeNull();
    expect(sendAgainBlock({ status: "pending", attempts: 5, nextAttemptAt: later })).toBeNull();
    expect(sendAgainBlock({ status: "failed", attempts: 9, nextAttemptAt: null })).toBeNull();
  });

  it("settles one attempt: sent; failed as it was; a waiting delivery keeps its later attempt", () => {
    const ok = { ok: true, status: 204, error: null, retriable: false };
    expect(settleManualAttempt(ok, { status: "failed", nextAttemptAt: null }, false)).toEqual({
      status: "sent",
      error: null,
      removeSubscription: false,
      nextAttemptAt: null,
    });
    expect(settleManualAttempt(failure, { status: "failed", nextAttemptAt: null }, false)).toMatchObject({
      status: "failed",
      nextAttemptAt: null,
    });
    expect(settleManualAttempt(failure, { status: "pending", nextAttemptAt: later }, false)).toMatchObject({
      status: "pending",
      nextAttemptAt: later,
    });
    // A new row for the channel's new target, never tried before: one attempt, and it failed.
    expect(settleManualAttempt(failure, { status: "pending", nextAttemptAt: null }, false).status).toBe(
      "failed",
    );
    const gone = { ok: false, status: 410, error: "gone", retriable: false, gone: true };
    expect(settleManualAttempt(gone, { status: "pending", nextAttemptAt: later }, true)).toEqual({
      status: "failed",
      error: "gone; the push subscription was removed",
      removeSubscription: true,
      nextAttemptAt: null,
    });
  });

  it("words the outcome and each refusal", () => {
    expect(sendAgainOutcome({ status: "sent", httpStatus: 204, error: null })).toBe("Sent");
    expect(sendAgainOutcome({ status: "failed", httpStatus: 500, error: "x" })).toBe(
      "Failed again: HTTP 500",
    );
    expect(
      sendAgainOutcome({ status: "pending", httpStatus: null, error: "no response within 10000 ms" }),
    ).toBe("Failed again: no response within 10000 ms");
    expect(sendAgainRefusalText("channel_off", "email")).toBe(
      "The email channel is turned off: turn it on in Settings to send this reminder again.",
    );
    expect(sendAgainRefusalText("no_target", "email")).toMatch(/not confirmed/);
    expect(sendAgainRefusalText("already_sent", "push")).toBe("This reminder already reached you by push.");
  });
});
