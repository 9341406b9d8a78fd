-- An event the sidecar refuses permanently (HTTP 4xx) is retried a bounded number of times, then
-- parked: no longer pending, so the events behind it with the same partition key move on, and
-- copied to dead_letters for an operator (packages/platform/src/outbox.ts). `refusals` counts the
-- permanent refusals apart from transient failures, which stay unbounded.
ALTER TYPE "outbox_status" ADD VALUE 'parked';

ALTER TABLE "outbox" ADD COLUMN "parked_at" TIMESTAMPTZ(3),
ADD COLUMN "refusals" INTEGER NOT NULL DEFAULT 0;
