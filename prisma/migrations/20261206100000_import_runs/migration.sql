-- Imports from other apps (issue 16, item 5; prisma/schema.prisma, model ImportRun): a Todoist CSV
-- is read and previewed first, and the preview kept here; "Import N tasks" claims it once
-- (previewed → running → done), so a double submit creates nothing twice, and the report of what
-- was created and what was not stays readable.
CREATE TABLE "import_runs" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'previewed',
    "plan" JSONB,
    "report" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "import_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "import_runs_user_id_created_at_idx" ON "import_runs"("user_id", "created_at");

-- AddForeignKey
ALTER TABLE "import_runs" ADD CONSTRAINT "import_runs_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- ───── Beyond Prisma's schema language ─────

ALTER TABLE "import_runs" ADD CONSTRAINT "import_runs_status_check"
  CHECK ("status" IN ('previewed', 'running', 'done'));
