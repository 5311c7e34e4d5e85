# The redlet image. Stage `build` compiles isolated-vm's native addon from its sources
# (node-gyp: python3, make, g++) against the base image's own Node headers, and the
# TypeScript, then drops the dev dependencies; stage `runtime` is the same slim Node LTS
# image with only what runs, without npm/npx/corepack, as a non-root user, and works
# with a read-only root filesystem (nothing is written outside /tmp).
#   docker build -t redlet:0.1.0 .          # tag it with package.json's version
#   docker run --rm -p 8080:8080 --read-only --tmpfs /tmp redlet:0.1.0
# No `# syntax=` line: the builder's own Dockerfile frontend is used, none is downloaded.
# test/dockerfile.test.ts checks this file; test/image.redis.test.ts replays it without
# Docker (keep one step per RUN).
#
# The base image is pinned by digest, so a build months from now starts from the same
# bytes. To move to the newest Node 22 image of the same Debian, look its digest up and
# put it below:
#   docker buildx imagetools inspect node:22-bookworm-slim --format '{{json .Manifest.Digest}}'
# (or `docker pull node:22-bookworm-slim` then
#  `docker inspect --format '{{index .RepoDigests 0}}' node:22-bookworm-slim`).
ARG NODE_IMAGE=node:22-bookworm-slim@sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46
ARG REDLET_VERSION=0.1.0

FROM ${NODE_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# isolated-vm from source (no prebuilt binary is downloaded), against the headers this
# image's Node was built with (/usr/local/include/node; no header tarball is
# downloaded): the addon matches the runtime's Node exactly, and the build needs no
# network beyond the npm registry (or your mirror: npm_config_registry) and apt.
ENV npm_config_build_from_source=isolated-vm npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY sandbox ./sandbox
COPY ui ./ui
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

# Same image as the build stage: the addon links against its glibc and libstdc++, and
# was compiled for its Node.
FROM ${NODE_IMAGE} AS runtime
ARG REDLET_VERSION
LABEL org.opencontainers.image.title=redlet \
      org.opencontainers.image.description="A sandboxed serverless runtime: JavaScript/TypeScript functions in V8 isolates, triggered by Redis." \
      org.opencontainers.image.version=${REDLET_VERSION} \
      org.opencontainers.image.licenses=MIT \
      org.opencontainers.image.base.name=node:22-bookworm-slim
# Nothing in the image installs or fetches packages at run time: no package managers.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
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
