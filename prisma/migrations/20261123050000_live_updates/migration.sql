-- The web app's live-sync log (prisma/schema.prisma, model LiveUpdate).
CREATE TABLE "live_updates" (
    "id" BIGSERIAL NOT NULL,
    "event_id" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "live_updates_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "live_updates_event_id_key" ON "live_updates"("event_id");
CREATE INDEX "live_updates_user_id_id_idx" ON "live_updates"("user_id", "id");
CREATE INDEX "live_updates_created_at_idx" ON "live_updates"("created_at");
