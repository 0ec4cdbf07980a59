# jit-bot image: `docker build -t jit-bot .`
# Three stages: `build` compiles TypeScript (with dev dependencies), `prod-deps` installs only the
# runtime dependencies, and the final stage holds nothing else: dist/, production node_modules,
# the migration files, the `jit` command and package.json ("type": "module" makes Node load dist/
# as ESM).
#
# Install scripts are skipped on purpose (--ignore-scripts): nothing needs them. Prisma 7 with
# @prisma/adapter-pg runs without engine binaries, platform binaries (TypeScript, esbuild,
# msgpackr) come as prebuilt optional packages, and the build then downloads nothing besides npm
# packages, so it also works behind a registry mirror.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Prisma's CLI otherwise phones home for update checks during `prisma generate`.
ENV CHECKPOINT_DISABLE=1
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY src ./src
# Generates the Prisma client into src/generated, then tsc compiles it with the rest into dist/.
RUN npm run build

# The browser sandbox (`docker compose --profile demo up`): the real bot with the in-repo fake of
# Slack's Web API, run from source with the dev dependencies. Never the image a deployment runs:
# it is only built when asked for by name (`--target sandbox`), and it refuses Slack tokens.
FROM build AS sandbox
COPY test/support ./test/support
ENV SANDBOX_HOST=0.0.0.0 \
    JIT_SANDBOX_CREATE_GRANTER=1
USER node
EXPOSE 3001
CMD ["node_modules/.bin/tsx", "scripts/sandbox.ts"]

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional as well: @prisma/client names `prisma` and `typescript` as optional peers, and
# with --omit=dev alone npm still installs them and their tools (about 390 MB instead of 130 MB).
# Nothing at run time needs an optional package: msgpackr (BullMQ) falls back to plain JS.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
# Everything stays owned by root and read-only for the `node` user that runs the bot: the process
# cannot change its own code. It writes nothing to disk (logs go to stdout).
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The bot applies these migrations itself at start; it finds them by walking up from dist/db/.
COPY prisma/migrations ./prisma/migrations
COPY package.json ./
# The operator's command line, on PATH: `docker compose exec app jit audit verify`. With no src/
# next to it, bin/jit.mjs runs dist/cli/main.js (Node resolves the link to /app/bin first).
COPY bin/jit.mjs ./bin/jit.mjs
RUN chmod 755 bin/jit.mjs && ln -s /app/bin/jit.mjs /usr/local/bin/jit

USER node
EXPOSE 3000
# The policy file is mounted at /app/jit.config.yaml (JIT_CONFIG's default, relative to /app).
# Slim images have no curl: Node's fetch checks /healthz (process up; /readyz also checks DB/Redis).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:${PORT:-3000}/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
