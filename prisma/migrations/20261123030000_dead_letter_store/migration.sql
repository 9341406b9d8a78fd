-- Messages reaching a dead-letter topic do not say which consumer failed them.
ALTER TABLE "dead_letters" ALTER COLUMN "consumer" DROP NOT NULL;

-- One open row per dead-lettered event, however often the dead-letter topic redelivers it; once
-- resolved (replayed or dismissed), a new failure of the same event opens a new row.
CREATE UNIQUE INDEX "dead_letters_open_event_key" ON "dead_letters" ("topic", "event_id") WHERE "resolved_at" IS NULL;
