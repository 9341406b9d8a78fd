-- Lists and subtasks (issue 16, item 3; docs/decisions/016-lists-and-subtasks.md). Every task
-- belongs to one of its owner's lists; every user has exactly one Inbox, made with the account by
-- a trigger (so no path that creates a user, the sign-up, the CLI, a test fixture or a benchmark's
-- bulk insert, can forget it), and a task inserted without a list lands in it (a second trigger).
-- A task may have subtasks, one level deep: the commands hold that rule (packages/core/src/lists.ts);
-- the composite foreign keys below make another user's list or parent unusable in the database too.
CREATE TABLE "task_lists" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "color" TEXT NOT NULL DEFAULT 'blue',
    "is_inbox" BOOLEAN NOT NULL DEFAULT false,
    "position" INTEGER NOT NULL DEFAULT 0,
    "archived_at" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_lists_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "task_lists_id_user_id_key" ON "task_lists"("id", "user_id");

-- CreateIndex
CREATE INDEX "task_lists_user_id_position_idx" ON "task_lists"("user_id", "position");

-- AddForeignKey
ALTER TABLE "task_lists" ADD CONSTRAINT "task_lists_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "tasks" ADD COLUMN "list_id" UUID;
ALTER TABLE "tasks" ADD COLUMN "parent_id" UUID;

-- CreateIndex
CREATE UNIQUE INDEX "tasks_id_user_id_key" ON "tasks"("id", "user_id");

-- CreateIndex
CREATE INDEX "tasks_list_id_status_idx" ON "tasks"("list_id", "status");

-- CreateIndex
CREATE INDEX "tasks_parent_id_idx" ON "tasks"("parent_id");

-- ───── Beyond Prisma's schema language ─────

-- A list's name is unique per user among the active lists, ignoring case; an archived list keeps
-- its name and may share it (unarchiving it then asks for another name).
CREATE UNIQUE INDEX "task_lists_user_id_name_active_key" ON "task_lists" ("user_id", lower("name"))
  WHERE "archived_at" IS NULL;
-- Exactly one Inbox per user (the insert trigger makes it; nothing archives it).
CREATE UNIQUE INDEX "task_lists_user_id_inbox_key" ON "task_lists" ("user_id") WHERE "is_inbox";
ALTER TABLE "task_lists" ADD CONSTRAINT "task_lists_inbox_active_check"
  CHECK (NOT ("is_inbox" AND "archived_at" IS NOT NULL));
ALTER TABLE "task_lists" ADD CONSTRAINT "task_lists_name_check"
  CHECK (char_length(btrim("name")) BETWEEN 1 AND 60);
-- The palette's tokens (packages/core/src/lists.ts LIST_COLORS): a token, never CSS.
ALTER TABLE "task_lists" ADD CONSTRAINT "task_lists_color_check"
  CHECK ("color" IN ('slate', 'red', 'orange', 'amber', 'green', 'teal', 'blue', 'indigo', 'purple', 'pink'));

-- A task's list and parent are its owner's: (list_id, user_id) and (parent_id, user_id) must name
-- a row of the same user. Deleting a parent deletes its subtasks (the command deletes them first,
-- each with its own event; the cascade is the backstop).
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_list_id_user_id_fkey" FOREIGN KEY ("list_id", "user_id")
  REFERENCES "task_lists"("id", "user_id") ON DELETE NO ACTION ON UPDATE CASCADE;
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_parent_id_user_id_fkey" FOREIGN KEY ("parent_id", "user_id")
  REFERENCES "tasks"("id", "user_id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_parent_not_self_check" CHECK ("parent_id" IS NULL OR "parent_id" <> "id");

CREATE FUNCTION "orbit_create_inbox"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "task_lists" ("id", "user_id", "name", "color", "is_inbox", "position", "created_at", "updated_at")
  VALUES (gen_random_uuid(), NEW."id", 'Inbox', 'slate', true, 0, NEW."created_at", NEW."created_at");
  RETURN NEW;
END $$;
CREATE TRIGGER "users_create_inbox" AFTER INSERT ON "users"
  FOR EACH ROW EXECUTE FUNCTION "orbit_create_inbox"();

CREATE FUNCTION "orbit_task_default_list"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."list_id" IS NULL THEN
    SELECT "id" INTO NEW."list_id" FROM "task_lists" WHERE "user_id" = NEW."user_id" AND "is_inbox";
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER "tasks_default_list" BEFORE INSERT ON "tasks"
  FOR EACH ROW EXECUTE FUNCTION "orbit_task_default_list"();

-- Existing users get their Inbox, and all their tasks go into it.
INSERT INTO "task_lists" ("id", "user_id", "name", "color", "is_inbox", "position", "created_at", "updated_at")
SELECT gen_random_uuid(), u."id", 'Inbox', 'slate', true, 0, u."created_at", u."created_at" FROM "users" u;
UPDATE "tasks" t SET "list_id" = l."id" FROM "task_lists" l WHERE l."user_id" = t."user_id" AND l."is_inbox";
ALTER TABLE "tasks" ALTER COLUMN "list_id" SET NOT NULL;
