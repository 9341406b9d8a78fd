# Orbit — every developer entry point. `make help` lists the targets; each one calls the JS tooling
# (npx vitest, eslint, prettier, tsc, remix) directly, so there are no npm scripts to keep in step.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export CHECKPOINT_DISABLE := 1
export PRISMA_HIDE_UPDATE_MESSAGE := 1

# The Prisma CLI needs *a* PostgreSQL URL even for commands that never connect (generate), or it
# tries to download a native engine; the real one is used whenever it is set.
PRISMA_URL := $(or $(DATABASE_URL),postgresql://localhost:5432/unused)
GENERATED := packages/db/src/generated/client.ts

.PHONY: help install dev test test-unit test-int test-e2e test-dapr test-helm dapr-runtime helm kafka validate format format-check lint typecheck build token db-migrate db-migration clean

help: ## List every target
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

# `npm install`, not `npm ci`: the registry our machines reach serves Tailwind's Linux binary but
# not its other platforms' optional packages, so they cannot be in the lockfile and `npm ci`
# refuses it as out of sync. `npm install` installs the locked versions and leaves the lock as is.
node_modules/.package-lock.json: package.json package-lock.json
	npm install --no-audit --no-fund
	@touch $@

$(GENERATED): node_modules/.package-lock.json prisma/schema.prisma
	DATABASE_URL=$(PRISMA_URL) npx prisma generate
	@touch $@

install: $(GENERATED) ## Install dependencies (npm install, locked versions) and generate the Prisma client

dev: install web-build ## Run the whole product locally: database, every function and the web app, each beside its Dapr sidecar
	npx tsx scripts/dev.ts

test: install test-manifests chromium web-build ## Run every test: the unit, int and e2e tiers (vitest.config.ts), on a real PostgreSQL and Chromium
	npx vitest run

# The pure tier: no database, no process, no socket (*.test.ts). The fast loop while editing rules.
test-unit: install ## Run the unit tier only (pure tests, seconds)
	npx vitest run --project unit

test-int: install ## Run the int tier only (*.int.test.ts: PostgreSQL, in-process servers, kustomize)
	npx vitest run --project int

test-e2e: install test-manifests chromium web-build ## Run the e2e tier only (*.e2e.test.ts: whole topologies, faults, Chromium)
	npx vitest run --project e2e

# The real-runtime tier: the suites that start real processes, beside real daprd + the Dapr
# Scheduler (built from the pinned github.com/dapr/dapr module) and a real Apache Kafka (from
# Maven Central). Needs Go >= 1.26.6, Java 17+ and Maven besides Node; where one is missing the
# build step fails and says what to install: this tier never passes without running.
# The Helm tier runs first here, not in `make test`: it needs helm built from its Go module, and a
# cold build takes minutes on two cores, as the daprd build this tier already waits for does
# (docs/decisions/015).
test-dapr: install dapr-runtime kafka test-helm ## Run the Helm tier, then the process-level suites on real daprd 1.18 + Scheduler + Kafka (needs Go, Java, Maven)
	ORBIT_DAPR_RUNTIME=daprd npx vitest run --config vitest.dapr.config.ts

test-helm: install helm ## Run the Helm tier (*.helm.test.ts): helm lint, the chart's renders validated and compared with the overlays, deploy TOOL=helm
	npx vitest run --config vitest.helm.config.ts

dapr-runtime: ## Build real daprd and the Dapr Scheduler from the pinned Go module into tools/dapr-runtime/bin
	tools/dapr-runtime/build.sh

helm: ## Build helm from the pinned helm.sh/helm/v4 module into tools/helm/bin (minutes cold, instant warm)
	tools/helm/build.sh

kafka: ## Resolve Apache Kafka (KRaft broker) from Maven Central into tools/kafka/target
	tools/kafka/classpath.sh

web-build: install ## Build the web app (Remix + Vite) into web/build when its sources changed since the last build
	npx tsx scripts/web-build.ts

# The browser tests drive Debian's Chromium (never a downloaded browser). Where it is missing it is
# installed here (our machines and CI run as root; sudo is used otherwise), so a browser test is
# never skipped for want of a browser.
CHROMIUM := /usr/bin/chromium
.PHONY: chromium web-build
chromium: ## Install Debian's chromium for the browser tests when /usr/bin/chromium is missing
	@test -x $(CHROMIUM) || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium; \
	}
	@test -x $(CHROMIUM) || { echo "chromium is still missing at $(CHROMIUM)"; exit 1; }

validate: install format-check lint typecheck test ## Format check, lint, typecheck and all tests (run before you stop)

format: install ## Rewrite files with Prettier
	npx prettier --write .

format-check: install ## Check formatting
	npx prettier --check .

lint: install ## ESLint
	npx eslint .

typecheck: install ## TypeScript, strict (the web app is its own project: web/tsconfig.json says why)
	npx tsc -p .
	npx tsc -p web

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

.PHONY: bench bench-smoke

bench: install web-build dapr-runtime kafka ## Run every benchmark at full size beside its baseline, events and reminders on both runtimes; writes docs/benchmarks.md and .png
	npx tsx scripts/bench/main.ts

bench-smoke: install ## A tiny run of every benchmark (checks the harness, not speed; writes under .data/bench-smoke)
	npx tsx scripts/bench/main.ts --smoke

.PHONY: manifests test-manifests deploy rollback images

manifests: install ## Render every kustomize overlay and validate each object offline against its schema
	npx tsx scripts/manifests.ts validate

test-manifests: manifests ## The manifest validation `make test` runs first

# TOOL=kustomize (the default) applies knative/overlays/<env> with kubectl; TOOL=helm installs
# charts/orbit with values-<env>.yaml (docs/deployment.md has both). Each records its rollback target
# in DEPLOY_STATE (default dist/deploy/<env>.json), which `make rollback` reads.
DEPLOY_USAGE := usage: make deploy ENV=staging|production [TOOL=kustomize|helm] [IMAGE_TAG=<sha> IMAGE_OWNER=<ghcr owner>] [DEPLOY_STATE=<file>]
deploy: install $(if $(filter helm,$(TOOL)),helm) ## Deploy to the current kube context: make deploy ENV=staging|production [TOOL=kustomize|helm] [IMAGE_TAG=<sha> IMAGE_OWNER=<ghcr owner>]
	@case "$(ENV)" in staging|production) ;; *) echo "$(DEPLOY_USAGE)"; exit 64;; esac
	@case "$(or $(TOOL),kustomize)" in kustomize|helm) ;; *) echo "$(DEPLOY_USAGE)"; exit 64;; esac
	npx tsx scripts/deploy.ts deploy $(ENV) --tool $(or $(TOOL),kustomize) $(if $(IMAGE_TAG),--tag $(IMAGE_TAG)) $(if $(IMAGE_OWNER),--owner $(IMAGE_OWNER)) $(if $(DEPLOY_STATE),--state $(DEPLOY_STATE))

rollback: install $(if $(filter helm,$(TOOL)),helm) ## Undo the last deploy: make rollback ENV=staging|production [TOOL=kustomize|helm] [DEPLOY_STATE=<file>]
	@case "$(ENV)" in staging|production) ;; *) echo "usage: make rollback ENV=staging|production [TOOL=kustomize|helm] [DEPLOY_STATE=<file>]"; exit 64;; esac
	npx tsx scripts/deploy.ts rollback $(ENV) $(if $(TOOL),--tool $(TOOL)) $(if $(DEPLOY_STATE),--state $(DEPLOY_STATE))

images: install ## Build every image with Docker: make images [IMAGE_OWNER=<ghcr owner>] [IMAGE_TAG=dev]
	@for fn in $$(npx tsx scripts/manifests.ts functions); do \
	  echo "docker build --build-arg FUNCTION=$$fn"; \
	  docker build --build-arg FUNCTION=$$fn -t ghcr.io/$(or $(IMAGE_OWNER),OWNER)/orbit-$$fn:$(or $(IMAGE_TAG),dev) . || exit 1; \
	done
	docker build --target migrate -t ghcr.io/$(or $(IMAGE_OWNER),OWNER)/orbit-migrate:$(or $(IMAGE_TAG),dev) .
	docker build -f web.Dockerfile -t ghcr.io/$(or $(IMAGE_OWNER),OWNER)/orbit-web:$(or $(IMAGE_TAG),dev) .

clean: ## Remove build output and local data (databases included)
	rm -rf dist .data
