# syntax=docker/dockerfile:1
# One image per function, from one Dockerfile: the build arg FUNCTION names a folder under
# functions/, and the image holds that function as one bundled entry file (plus the chunks it only
# loads on demand, scripts/build.ts says why) on a distroless Node 20 base (no shell, no npm, no
# node_modules), run as a non-root user.
#   docker build --build-arg FUNCTION=create-task -t ghcr.io/OWNER/orbit-create-task:dev .
# The migration Job's image is the `migrate` target (the Prisma CLI and prisma/, nothing else):
#   docker build --target migrate -t ghcr.io/OWNER/orbit-migrate:dev .
# `make images` builds them all; tests/manifests/image.e2e.test.ts proves offline what this builds.

ARG NODE_IMAGE=node:20.19-bookworm-slim

# ── deps: the locked dependencies and the generated Prisma client ──
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
ENV CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
COPY package.json package-lock.json ./
# npm install, not npm ci (as the Makefile): the lockfile cannot list Tailwind's optional binaries
# for other platforms (our registry does not serve them), and npm ci refuses such a lockfile.
RUN npm install --no-audit --no-fund
COPY prisma.config.ts ./
COPY prisma ./prisma
# `prisma generate` connects nowhere but needs *a* PostgreSQL URL, or it tries to download an
# engine (the Makefile's PRISMA_URL does the same).
RUN DATABASE_URL=postgresql://build@localhost:5432/unused npx prisma generate

# ── build: one function bundled by esbuild into /out/index.mjs (+ /out/index-chunks/, source maps) ──
FROM deps AS build
ARG FUNCTION
RUN test -n "$FUNCTION" || { echo "pass --build-arg FUNCTION=<a folder of functions/>" >&2; exit 1; }
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/build.ts
COPY packages ./packages
COPY functions ./functions
RUN test -f "functions/$FUNCTION/index.ts" || { echo "no functions/$FUNCTION/index.ts" >&2; exit 1; }
RUN npx tsx -e "import('./scripts/build.ts').then((m) => m.bundle('functions/$FUNCTION/index.ts', '/out/index.mjs'))"

# ── migrate: the migration Job (`prisma migrate deploy` through the offline wasm engine) ──
FROM ${NODE_IMAGE} AS migrate-deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, and no install scripts: the CLI migrates through its wasm engine
# and the pg driver adapter (docs/decisions/002), so no native engine is downloaded.
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS migrate
WORKDIR /app
ENV NODE_ENV=production CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
COPY --from=migrate-deps /app/node_modules ./node_modules
COPY package.json prisma.config.ts ./
COPY prisma ./prisma
# The `node` user of the official image (uid 1000), numeric so Kubernetes can verify runAsNonRoot.
USER 1000:1000
CMD ["node", "node_modules/prisma/build/index.js", "migrate", "deploy"]

# ── runtime (the default target): the bundle (entry + chunks) and nothing else ──
FROM gcr.io/distroless/nodejs20-debian12:nonroot AS runtime
WORKDIR /app
COPY --from=build /out/ /app/
# distroless `nonroot`, numeric so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 65532:65532
ENV NODE_ENV=production PORT=8080
EXPOSE 8080
# The image's entrypoint is node; source maps turn bundled stack traces back into file:line.
CMD ["--enable-source-maps", "/app/index.mjs"]
