// A reminder's action links (issue 16, item 2; docs/security.md, "Reminder action links"): the
// signed token in a push button or a mail link is the only credential POST /v1/reminder-actions
// takes. Over real HTTP, the Reminder Service beside its sidecar: an expired, altered, misused or
// foreign-key token is refused saying why and changes nothing; a token naming another account's
// task (which only a key holder could make) reads as a deleted task; a deleted task ends every
// link. The token rules themselves: packages/core/src/reminder-actions.test.ts.
import { expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import { signActionToken } from "#core/reminder-action-tokens.ts";
import { ACTION_TOKEN_TTL_MS, type ReminderAction } from "#core/reminder-actions.ts";
import { deleteTask } from "#tasks/commands.ts";
import { api, createTestUser } from "#testing/fixtures.ts";
import {
  actionKeyring,
  commandCtx,
  press,
  remindedTask,
  tokenFor,
  useReminderActionsService,
} from "#testing/reminder-actions.ts";
import { jobs, reminderActionRoutes, subscriptions } from "../../functions/on-reminder-fired/handler.ts";

const service = useReminderActionsService({ reminderActionRoutes, subscriptions, jobs });

const pressed = (action: ReminderAction, token: string) => press(service.pair.fn.url, action, token);
const taskStatus = async (id: string) => (await service.db.task.findUnique({ where: { id } }))?.status;

test("an expired, altered, misused or foreign-key token is a 400 saying why, and changes nothing", async () => {
  const { task, occurrence } = await remindedTask(service.db, service.user);
  const valid = tokenFor(service.keys, service.user, task, occurrence, "complete");
  const [version, kid, payload, mac] = valid.split(".") as [string, string, string, string];
  const fields = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
  const altered = [
    version,
    kid,
    Buffer.from(JSON.stringify({ ...fields, a: "snooze_1h" })).toString("base64url"),
    mac,
  ].join(".");
  const expired = tokenFor(service.keys, service.user, task, occurrence, "complete", {
    expiresAt: new Date(Date.now() - 1000),
  });
  const foreignKey = tokenFor(actionKeyring(), service.user, task, occurrence, "complete");

  const cases: [string, ReminderAction, string, string, string][] = [
    ["expired", "complete", expired, "expired", "token"],
    ["altered to a snooze", "snooze_1h", altered, "invalid", "token"],
    ["signed with another key", "complete", foreignKey, "invalid", "token"],
    ["pressed as another button", "snooze_10m", valid, "wrong_action", "action"],
    ["cut short", "complete", valid.slice(0, -3), "invalid", "token"],
  ];
  for (const [what, action, token, reason, field] of cases) {
    const res = await pressed(action, token);
    expect(res.status, what).toBe(400);
    expect(res.headers.get("content-type"), what).toContain("application/problem+json");
    expect(res.body, what).toMatchObject({ status: 400, reason, errors: [{ field }] });
    expect(res.body.detail, what).toMatch(/link/);
  }
  expect((await pressed("complete", "")).status).toBe(400);
  const withoutAction = await api(service.pair.fn.url, "POST", "/v1/reminder-actions", {
    body: { token: valid },
  });
  expect(withoutAction.status).toBe(400);
  expect(await taskStatus(task.id)).toBe("pending");
  const completed = await service.db.outboxEvent.count({
    where: { topic: TOPICS.taskEvents, subject: task.id, type: "orbit.task.completed" },
  });
  expect(completed).toBe(0);
  expect(await service.db.reminderAction.count({ where: { taskId: task.id } })).toBe(0);
  // The valid one still works afterwards: nothing above used it up.
  expect((await pressed("complete", valid)).body).toMatchObject({ outcome: "completed" });
});

test("another account's task reads as a deleted one (404) and stays as it was; a deleted task ends every link", async () => {
  const other = await createTestUser(service.db);
  const { task: theirs, occurrence } = await remindedTask(service.db, other);
  // A token for this user naming the other account's task: only a key holder could make it.
  const forged = tokenFor(service.keys, service.user, theirs, occurrence, "complete");
  const res = await pressed("complete", forged);
  expect(res.status).toBe(404);
  expect(res.body).toMatchObject({ reason: "task_gone", detail: "This task no longer exists." });
  expect(await taskStatus(theirs.id)).toBe("pending");
  // Its owner's own token, for comparison, works: the refusal was about whose task it is.
  expect(
    (await pressed("snooze_10m", tokenFor(service.keys, other, theirs, occurrence, "snooze_10m"))).status,
  ).toBe(200);

  const { task: mine, occurrence: mineOccurrence } = await remindedTask(service.db, service.user);
  const snooze = tokenFor(service.keys, service.user, mine, mineOccurrence, "snooze_10m");
  await deleteTask(commandCtx(service.db, service.user), mine.id);
  const gone = await pressed("snooze_10m", snooze);
  expect(gone.status).toBe(404);
  // The same words as for another account's task: nobody learns whose task exists.
  expect(gone.body).toMatchObject({ reason: "task_gone", detail: res.body.detail });
});

test("a token for one occurrence's job of another task is refused before anything is read", async () => {
  const { task, occurrence } = await remindedTask(service.db, service.user);
  const { task: second } = await remindedTask(service.db, service.user);
  // Correctly signed, but the occurrence named is not a job of the task named.
  const mismatched = signActionToken(
    {
      userId: service.user.id,
      taskId: second.id,
      jobName: occurrence.jobName,
      remindAt: occurrence.remindAt,
      action: "complete",
      channel: "email",
      expiresAt: new Date(Date.now() + ACTION_TOKEN_TTL_MS),
    },
    service.keys,
  );
  expect((await pressed("complete", mismatched)).body).toMatchObject({ status: 400, reason: "invalid" });
  expect([await taskStatus(task.id), await taskStatus(second.id)]).toEqual(["pending", "pending"]);
});
