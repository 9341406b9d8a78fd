-- Recurrence people use (packages/core/src/recurrence.ts): every N hours, yearly (Feb 29 → Feb 28
-- in common years), and monthly on the nth or last weekday ("every 3rd Tuesday", "last Friday":
-- month_week with the one weekday in weekdays).
ALTER TYPE "recurrence_pattern" ADD VALUE IF NOT EXISTS 'hourly' BEFORE 'daily';
ALTER TYPE "recurrence_pattern" ADD VALUE IF NOT EXISTS 'yearly' AFTER 'monthly';

ALTER TABLE "task_recurrence" ADD COLUMN "month_week" INTEGER;
ALTER TABLE "task_recurrence" ADD CONSTRAINT "task_recurrence_month_week_check"
  CHECK ("month_week" IS NULL OR ("month_week" IN (1, 2, 3, 4, -1) AND cardinality("weekdays") = 1));
