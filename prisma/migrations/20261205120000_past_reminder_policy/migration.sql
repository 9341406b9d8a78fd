-- Reminders already past when a task is saved (issue 15, item 8): each account chooses whether such
-- a reminder is sent at once (today's behaviour, the default) or skipped (prisma/schema.prisma,
-- model User, pastReminderPolicy; the rule is planReminderJobs in packages/core/src/reminders.ts).
ALTER TABLE "users" ADD COLUMN "past_reminder_policy" TEXT NOT NULL DEFAULT 'send_now';

ALTER TABLE "users" ADD CONSTRAINT "users_past_reminder_policy_check"
  CHECK ("past_reminder_policy" IN ('send_now', 'skip'));
