# syntax=docker/dockerfile:1
# The redlet image. Stage `build` compiles isolated-vm's native addon (node-gyp:
# python3, make, g++) and the TypeScript, then drops the dev dependencies; stage
# `runtime` is a slim Node LTS image with only what runs, as a non-root user, and works
# with a read-only root filesystem (nothing is written outside /tmp).
#   docker build -t redlet .
#   docker run --rm -p 8080:8080 --read-only --tmpfs /tmp redlet
# test/dockerfile.test.ts replays this file without Docker; keep one step per RUN.
ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY sandbox ./sandbox
COPY ui ./ui
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

# Same Debian as the build stage: the addon links against its glibc and libstdc++.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production HOME=/tmp
WORKDIR /app
# Everything root-owned and read-only to the process.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The zero-setup demo function (when no Redis and no function are configured).
COPY examples/course-reference.js ./examples/course-reference.js
# The `node` user of the official image, numeric so runAsNonRoot can check it.
USER 1000:1000
EXPOSE 8080
# node itself is PID 1 (no npm, no shell): SIGTERM reaches redlet, which installs its
# handlers before anything else and drains, then exits 0. isolated-vm needs
# --no-node-snapshot on Node >= 20.
ENTRYPOINT ["node", "--no-node-snapshot", "dist/ui/entry.js"]
CMD ["start"]
