-- The audit trail keeps the task's title as of each event and the reason for system-made
-- changes in their own columns, so reading a history needs no lookups into other rows.
ALTER TABLE "audit_log" ADD COLUMN "title" TEXT NOT NULL DEFAULT '',
ADD COLUMN "reason" TEXT;
