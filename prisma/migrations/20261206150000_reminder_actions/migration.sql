-- Reminders you can act on (issue 16, item 2; packages/core/src/reminder-actions.ts): "Complete"
-- and "Snooze 10 min / 1 h" from a push notification or a reminder mail. The audit log names who
-- completed a task that way (actor reminder_action, id `<channel>:<reminder job>`), and each action
-- taken is kept once per reminder occurrence and action, so a link used twice acts once.
ALTER TYPE "actor_type" ADD VALUE IF NOT EXISTS 'reminder_action' BEFORE 'system';

CREATE TABLE "reminder_actions" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "reminder_key" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "snooze_job" TEXT,
    "snoozed_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reminder_actions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "reminder_actions_reminder_key_action_key" ON "reminder_actions"("reminder_key", "action");

-- CreateIndex
CREATE INDEX "reminder_actions_task_id_created_at_idx" ON "reminder_actions"("task_id", "created_at");

-- AddForeignKey
ALTER TABLE "reminder_actions" ADD CONSTRAINT "reminder_actions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- ───── Beyond Prisma's schema language ─────

ALTER TABLE "reminder_actions" ADD CONSTRAINT "reminder_actions_action_check"
  CHECK ("action" IN ('complete', 'snooze_10m', 'snooze_1h'));
ALTER TABLE "reminder_actions" ADD CONSTRAINT "reminder_actions_channel_check"
  CHECK ("channel" IN ('push', 'email'));
ALTER TABLE "reminder_actions" ADD CONSTRAINT "reminder_actions_outcome_check"
  CHECK ("outcome" IN ('completed', 'snoozed'));
