# taskgate's image: one image runs both `taskgate serve` (the default command) and `taskgate worker`.
#
#   docker build -t taskgate .
#   docker run -p 8080:8080 -v taskgate-data:/var/lib/taskgate -e TASKGATE_TOKEN=... taskgate
#
# Stage 1 builds a release binary in the official Swift image, with the Swift runtime linked in statically and the
# symbols stripped. Stage 2 is a slim Debian with only what that binary loads (libmicrohttpd and its GnuTLS, SQLite,
# CA certificates) and tini as PID 1: tini passes signals on to taskgate and reaps every process that ends up
# orphaned in the container, such as what a command run by `taskgate worker --exec` left behind. No compiler, no
# source. Both base images are build arguments, so a build without a registry can swap in local ones (see
# scripts/check-image.sh and docs/deploy.md).
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# checkov:skip=CKV_DOCKER_7: both base images are build arguments whose defaults name versions (above); checkov
# cannot see through the argument
FROM ${SWIFT_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Unpinned on purpose: Debian's stable archive changes a package only for fixes, and a pinned version stops
# installing once the fix lands (see .hadolint.yaml).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmicrohttpd-dev libsqlite3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The dependencies first, in a step of their own that a change to the sources does not repeat; the build directory is
# a cache mount, so a rebuild on the same machine compiles only what changed.
COPY Package.swift ./
RUN --mount=type=cache,target=/src/.build swift package resolve
# Tests/ and Benchmarks/ only because Package.swift declares their targets; they are not built.
COPY Sources ./Sources
COPY Tests ./Tests
COPY Benchmarks ./Benchmarks
RUN --mount=type=cache,target=/src/.build swift build -c release --product taskgate --static-swift-stdlib -Xlinker --strip-all \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/taskgate" /out/taskgate

FROM ${RUNTIME_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmicrohttpd12 libsqlite3-0 ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 taskgate \
    && useradd --system --uid 10001 --gid taskgate --home-dir /var/lib/taskgate --shell /usr/sbin/nologin taskgate \
    && install -d -o taskgate -g taskgate -m 0750 /var/lib/taskgate
COPY --from=build /out/taskgate /usr/local/bin/taskgate
# Listens on every interface of the container; the server refuses to start so unless a token is set
# (TASKGATE_TOKEN, TASKGATE_WORKER_TOKEN or TASKGATE_TOKEN_FILE), or --insecure is given.
ENV TASKGATE_HOST=0.0.0.0 \
    TASKGATE_PORT=8080 \
    TASKGATE_DATA_DIR=/var/lib/taskgate
USER 10001:10001
WORKDIR /var/lib/taskgate
VOLUME ["/var/lib/taskgate"]
EXPOSE 8080
# The probe needs no token and no curl: `taskgate health` GETs /healthz on 127.0.0.1 at TASKGATE_PORT.
HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/taskgate", "health", "--timeout", "3"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/taskgate"]
CMD ["serve"]
