# syntax=docker/dockerfile:1
# The fuseml-registry image: the registry REST service (fuseml-registry serve).
# Build and push: see docs/deploy.md. Checked by hadolint (scripts/hadolint.sh) and
# test/integration/dockerfile.test.ts; the chart in extensions/fuseml-registry runs it.
ARG NODE_IMAGE=node:20-slim

# Production dependencies only (better-sqlite3 is native: its prebuilt binary is
# fetched by its install script, else compiled with the tools installed here).
FROM ${NODE_IMAGE} AS deps
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# The build: every dependency, then TypeScript -> dist/, the compiled schema validators and the bundled bins.
FROM deps AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/compile-schemas.mjs scripts/bundle.mjs ./scripts/
COPY schemas ./schemas
COPY src ./src
RUN npm run build

# Runtime: node, the production node_modules, dist/ and schemas/; no compilers, no npm cache.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json LICENSE ./
COPY schemas ./schemas
# The node image's unprivileged user "node", by number: Kubernetes checks runAsNonRoot only on a numeric
# user. The chart runs it with a read-only root file system.
USER 1000:1000
EXPOSE 8000
# node, not curl (the slim image has none): /healthz answers without a token.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli/bin/fuseml-registry.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
