-- A reminder's webhook body carries signed action links too (issue 16, item 2): a press through
-- one is recorded with channel 'webhook'.
ALTER TABLE "reminder_actions" DROP CONSTRAINT "reminder_actions_channel_check";
ALTER TABLE "reminder_actions" ADD CONSTRAINT "reminder_actions_channel_check"
  CHECK ("channel" IN ('push', 'email', 'webhook'));
