-- Each outbox row names the app that wrote it: the CloudEvent source, and the relay that
-- publishes it first (others only rescue rows that have waited; see docs/decisions/003).
ALTER TABLE "outbox" ADD COLUMN "source" TEXT NOT NULL DEFAULT '';
