-- Your calendar sees your tasks (issue 16, item 4): a per-user iCalendar feed at
-- /calendar/<secret>.ics. Calendar apps cannot sign in, so the secret in the URL is the
-- credential: stored only as its SHA-256, like API tokens; rotating replaces it, so the old URL
-- stops at once (web/app/routes/calendar-feed.ts, packages/accounts/src/calendar-feed.ts).
CREATE TABLE "calendar_feeds" (
    "user_id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_fetched_at" TIMESTAMPTZ(3),

    CONSTRAINT "calendar_feeds_pkey" PRIMARY KEY ("user_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "calendar_feeds_token_hash_key" ON "calendar_feeds"("token_hash");

-- AddForeignKey
ALTER TABLE "calendar_feeds" ADD CONSTRAINT "calendar_feeds_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
