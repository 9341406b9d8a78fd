# Orbit — every developer entry point. `make help` lists the targets; npm scripts stay the source
# of truth for the JS tooling they call.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export CHECKPOINT_DISABLE := 1
export PRISMA_HIDE_UPDATE_MESSAGE := 1

# The Prisma CLI needs *a* PostgreSQL URL even for commands that never connect (generate), or it
# tries to download a native engine; the real one is used whenever it is set.
PRISMA_URL := $(or $(DATABASE_URL),postgresql://localhost:5432/unused)
GENERATED := packages/db/src/generated/client.ts

.PHONY: help install dev test test-unit validate format format-check lint typecheck build token db-migrate db-migration clean

help: ## List every target
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(GENERATED): node_modules/.package-lock.json prisma/schema.prisma
	DATABASE_URL=$(PRISMA_URL) npx prisma generate
	@touch $@

install: $(GENERATED) ## Install dependencies (npm ci) and generate the Prisma client

dev: install ## Run the whole product locally: database, every function, its Dapr sidecar
	npx tsx scripts/dev.ts

test: install ## Run every test (unit, integration, end-to-end) on a real PostgreSQL
	npx vitest run

validate: install format-check lint typecheck test ## Format check, lint, typecheck and all tests (run before you stop)

format: install ## Rewrite files with Prettier
	npx prettier --write .

format-check: install ## Check formatting
	npx prettier --check .

lint: install ## ESLint
	npx eslint .

typecheck: install ## TypeScript, strict
	npx tsc -p .

build: install ## Bundle each function into dist/functions/<name>.mjs
	npx tsx scripts/build.ts

token: install ## Print a new API token: make token EMAIL=you@example.com (creates the user if needed)
	@test -n "$(EMAIL)" || (echo "usage: make token EMAIL=you@example.com [NAME=laptop] [SCOPE=read|read_write]"; exit 64)
	@npx tsx scripts/orbit.ts token create "$(EMAIL)" --create-user --name "$(or $(NAME),cli)" --scope "$(or $(SCOPE),read_write)"

db-migrate: install ## Apply migrations to DATABASE_URL (or the embedded dev database)
	npx tsx -e 'import("./scripts/dev-database.ts").then(async (m) => { const d = await m.openDevDatabase(false, console.log); await d.stop(); })'

db-migration: install ## Write a new migration from schema changes: make db-migration NAME=add_x
	@test -n "$(NAME)" || (echo "usage: make db-migration NAME=snake_case_name"; exit 64)
	npx tsx scripts/new-migration.ts "$(NAME)"

clean: ## Remove build output and local data (databases included)
	rm -rf dist .data
