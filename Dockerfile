# The pipeline image: the TypeScript source run directly with tsx (there is no build step), on the
# Node major of package.json "engines". Used by docker-compose.yml; see docs/docker.md.

# Build stage: node-rdkafka compiles librdkafka from source during npm ci.
FROM node:20-bookworm-slim AS build
# python3, make, g++ (and pkg-config) for node-gyp and librdkafka's configure; libssl and zlib headers so librdkafka
# keeps TLS and gzip support (the same libraries it links against outside Docker).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ pkg-config libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
# The image ships Node's headers under /usr/local/include/node: node-gyp uses them instead of downloading.
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
# Only the lockfile's runtime dependencies (tsx included); eslint and tsc are not needed to run.
RUN npm ci --omit=dev --no-audit --no-fund

# Runtime stage: no compilers, only the shared library the compiled addon needs.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
# Code and dependencies stay root-owned (read-only to the app); only .state, where the topology's
# log file goes, belongs to the node user.
COPY --from=build /app/node_modules ./node_modules
COPY . .
RUN mkdir -p .state && chown node:node .state
USER node
# node with tsx's loader, not `npm start`: one process, so SIGTERM reaches the app's graceful stop
# (the batch in flight finishes and commits) without going through npm.
ENTRYPOINT ["node", "--import", "tsx", "bin/run.ts"]
CMD ["--topology", "user-pipeline", "--no-services"]
