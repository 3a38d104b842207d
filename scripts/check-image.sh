#!/usr/bin/env bash
# Builds the repository's Dockerfile and runs what it built (issue 14), on a machine with no Docker engine and no
# registry: podman builds it (as root, --isolation chroot) with both base images swapped for local ones through
# the Dockerfile's build arguments, and the image's own entrypoint is started in a chroot of the image's file system,
# in a PID and mount namespace of its own (so tini is PID 1, as in a container), as the image's user, on the host's
# network. See ../shared/notes/containers.md for what this machine can and cannot do, and docs/deploy.md.
#
# Checks: the image's configuration (user, volume, port, health check, entrypoint); no compiler and no source in it;
# its size; the server refuses to start on all interfaces without a token; with tokens it serves /healthz and the
# image's HEALTHCHECK command passes; a task runs end to end on a worker started from the same image (a built-in
# and an --exec command); an orphan an --exec command leaves behind is reaped by PID 1 (and, as a control, stays a
# zombie when taskgate itself is PID 1); SIGTERM stops server and worker with exit status 0; the stopped server
# fails the HEALTHCHECK.
#
# Usage (root): scripts/check-image.sh. Local base images are made once and kept (podman images
# localhost/taskgate-bookworm:local-N and localhost/taskgate-swift:local-N); IMAGE_REBUILD_BASES=1 makes them again.
#
# The image_* variables are set by an eval of the image's configuration (SC2154); the single-quoted scripts run in
# the image's shell and expand there (SC2016).
# shellcheck disable=SC2154,SC2016
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  # CI runs as root; a developer's make test without root says what it left out rather than failing.
  echo "check-image: SKIPPED: needs root (podman build --isolation chroot, chroot, unshare); run it with sudo"
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi

missing=""
for package in podman debootstrap curl; do dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"; done
if [ -n "$missing" ]; then
  echo "check-image: installing$missing"
  # shellcheck disable=SC2086
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
fi

work=.build/image
mkdir -p "$work"
# The tags name the recipe's version: a change to how a base is made bumps it, so a machine that kept an older base
# makes it again.
base=localhost/taskgate-bookworm:local-2
builder=localhost/taskgate-swift:local-2
image=localhost/taskgate:check
started=$(date +%s)
step() { echo "check-image: [$(($(date +%s) - started)) s] $*"; }
fail() { echo "check-image: FAILED: $*"; exit 1; }

# The runtime base: Debian bookworm from Debian's archive (what debian:bookworm-slim is made from).
if [ -n "${IMAGE_REBUILD_BASES:-}" ] || ! podman image exists "$base"; then
  step "debootstrap bookworm (minbase) -> $base"
  rm -rf "$work/rootfs"
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
  # Trimmed as Debian's -slim images are: no documentation, manuals or translations, no apt lists or caches; and
  # configured as Debian's official images are, so what a Dockerfile installs leaves no package files, package
  # caches, translations or documentation behind either.
  rm -rf "$work"/rootfs/usr/share/{doc,man,info,locale}/* "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*
  clean='rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true'
  printf 'DPkg::Post-Invoke { "%s"; };\nAPT::Update::Post-Invoke { "%s"; };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' \
    "$clean" "$clean" >"$work/rootfs/etc/apt/apt.conf.d/docker-clean"
  echo 'Acquire::Languages "none";' >"$work/rootfs/etc/apt/apt.conf.d/docker-no-languages"
  printf 'path-exclude /usr/share/%s/*\n' doc man info locale groff lintian linda >"$work/rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
  echo 'path-include /usr/share/doc/*/copyright' >>"$work/rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
  tar -C "$work/rootfs" -c . | podman import -q - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi

# The build base: that plus what the official Swift image installs for its toolchain. The toolchain itself and the
# package mirror are this machine's, mounted into the build (podman build --volume), not copied.
toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
[ -x "$toolchain/usr/bin/swift" ] || fail "no Swift toolchain found (swift is $(command -v swift))"
context="$work/builder-context"
rm -rf "$context"
mkdir -p "$context"
cp scripts/image/swift-builder.Containerfile "$context/Containerfile"
: >"$context/gitconfig"
mounts=(-v "$toolchain:/opt/swift:ro")
mount_points=(/opt/swift)
while read -r key value; do
  prefix=${key#url.}
  prefix=${prefix%.insteadof}
  git config --file "$context/gitconfig" --add "url.$prefix.insteadOf" "$value"
  [ -d "$prefix" ] && mounts+=(-v "$prefix:$prefix:ro") && mount_points+=("$prefix")
done < <(git config --get-regexp '^url\..*\.insteadof$' || true)
if [ -n "${IMAGE_REBUILD_BASES:-}" ] || ! podman image exists "$builder"; then
  step "swift builder base -> $builder"
  podman build --isolation chroot --format docker --build-arg BASE_IMAGE="$base" -t "$builder" "$context" >"$work/builder.log" 2>&1 \
    || { tail -20 "$work/builder.log"; fail "building $builder"; }
fi

step "podman build Dockerfile -> $image"
# The docker format keeps HEALTHCHECK and SHELL (the OCI format has neither).
podman build --isolation chroot --format docker --build-arg SWIFT_IMAGE="$builder" --build-arg RUNTIME_IMAGE="$base" \
  "${mounts[@]}" -t "$image" . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail "podman build"; }
step "built"
# Earlier runs' images that this build replaced (untagged now) are removed, so repeated runs do not fill the disk.
podman image prune -f --filter "until=$(date -u -d "@$started" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null 2>&1 || true

# The image's configuration, as a container runtime would read it.
podman image inspect "$image" >"$work/inspect.json"
eval "$(python3 - "$work/inspect.json" <<'EOF'
import json, shlex, sys
image = json.load(open(sys.argv[1]))[0]
config = image["Config"]
def out(name, value): print(f"{name}={shlex.quote(value)}")
out("image_user", config.get("User", ""))
out("image_workdir", config.get("WorkingDir", ""))
out("image_entrypoint", "\n".join(config.get("Entrypoint") or []))
out("image_cmd", "\n".join(config.get("Cmd") or []))
out("image_env", "\n".join(config.get("Env") or []))
out("image_volumes", " ".join(sorted(config.get("Volumes") or {})))
out("image_ports", " ".join(sorted(config.get("ExposedPorts") or {})))
health = image.get("Healthcheck") or image.get("HealthCheck") or config.get("Healthcheck") or {}
test = health.get("Test") or []
if test and test[0] == "CMD": test = test[1:]
out("image_health", "\n".join(test))
out("image_size", str(image["Size"]))
EOF
)"
[ "$image_user" = "10001:10001" ] || fail "the image's user is '$image_user', not 10001:10001"
[ "$image_volumes" = "/var/lib/taskgate" ] || fail "the image's volumes are '$image_volumes'"
[ "$image_ports" = "8080/tcp" ] || fail "the image exposes '$image_ports'"
[ -n "$image_health" ] || fail "the image has no HEALTHCHECK"
[ "$(head -1 <<<"$image_entrypoint")" = /usr/bin/tini ] || fail "the entrypoint does not start with tini"
echo "check-image: image $image, $((image_size / 1024 / 1024)) MiB; user $image_user; entrypoint $(tr '\n' ' ' <<<"$image_entrypoint")"

root=$(podman image mount "$image")
data=$(mktemp -d)
chmod 0755 "$data"
pids=()
cleanup() {
  # Each namespace's PID 1 first (its end kills everything in the namespace; it outlives unshare otherwise, and a
  # parent-death signal would not reach it: chroot --userspec's change of user clears it), then unshare.
  for pid in "${pids[@]}"; do
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  podman image unmount "$image" >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT

# Nothing to build with and nothing built from: no compiler, no toolchain, no source.
for tool in swift swiftc swift-build clang gcc cc c++ g++ ld as; do
  for dir in usr/bin usr/local/bin bin; do
    [ ! -e "$root/$dir/$tool" ] || fail "the image contains /$dir/$tool"
  done
done
# The build's --volume mounts leave their empty mount points in every stage (podman creates them); only an empty one
# is allowed.
for dir in "${mount_points[@]}"; do
  [ -z "$(find "$root$dir" -mindepth 1 -print -quit 2>/dev/null)" ] || fail "the image contains files under $dir"
done
[ ! -e "$root/src" ] || fail "the image contains /src"
sources=$(find "$root" -xdev \( -name '*.swift' -o -name 'Package.swift' -o -name '*.c' -o -name '*.h' \) -print -quit)
[ -z "$sources" ] || fail "the image contains source: ${sources#"$root"}"
echo "check-image: no compiler and no source in the image"

port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# run_image LOG ENV... -- ARGS...: the image's entrypoint with ARGS as its command (or CMD when none), as the image's
# user, in the image's working directory and environment (plus ENV), in new PID and mount namespaces; the data
# directory is a fresh host directory bound on the image's volume. Sets $ran (the unshare process).
run_image() {
  local log="$1"
  shift
  local env=()
  while IFS= read -r line; do [ -n "$line" ] && env+=("$line"); done <<<"$image_env"
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  local command=()
  while IFS= read -r line; do [ -n "$line" ] && command+=("$line"); done <<<"$image_entrypoint"
  if [ $# -gt 0 ]; then
    command+=("$@")
  else
    while IFS= read -r line; do [ -n "$line" ] && command+=("$line"); done <<<"$image_cmd"
  fi
  unshare --mount --pid --fork --mount-proc="$root/proc" \
    sh -c 'root=$1; data=$2; shift 2
      mount --rbind /dev "$root/dev" && mount --bind "$data" "$root/var/lib/taskgate" || exit 125
      exec "$@"' sh "$root" "$data" \
    chroot --userspec="$image_user" "$root" /usr/bin/env -i "${env[@]}" sh -c 'cd "$0" && exec "$@"' "$image_workdir" \
    "${command[@]}" >"$log" 2>&1 &
  ran=$!
  pids+=("$ran")
}

# The namespace's PID 1 (as the host sees it): the child of unshare.
pid1() { for _ in $(seq 1 50); do local p; p=$(pgrep -P "$1" | head -1); [ -n "$p" ] && { echo "$p"; return; }; sleep 0.1; done; }

# Zombies among the children of host process $1.
zombies() { for stat in /proc/[0-9]*/stat; do awk -v parent="$1" '$4 == parent && $3 == "Z" {print $1}' "$stat" 2>/dev/null; done | wc -l; }

chown 10001:10001 "$data"
server_port=$(port)

# All interfaces without a token: refused.
run_image "$work/refused.log" TASKGATE_PORT="$server_port" -- serve
wait "$ran" && fail "the server started on 0.0.0.0 without a token"
grep -qi "token" "$work/refused.log" || { cat "$work/refused.log"; fail "the refusal does not say why"; }
echo "check-image: without a token the server refuses to start: $(head -1 "$work/refused.log")"

client_token=client-$RANDOM$RANDOM
worker_token=worker-$RANDOM$RANDOM
metrics_token=metrics-$RANDOM$RANDOM
run_image "$work/server.log" TASKGATE_PORT="$server_port" TASKGATE_TOKEN="$client_token" \
  TASKGATE_WORKER_TOKEN="$worker_token" TASKGATE_METRICS_TOKEN="$metrics_token" -- serve --workers 0
server=$ran
url="http://127.0.0.1:$server_port"
for _ in $(seq 1 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$url/healthz" >/dev/null || { cat "$work/server.log"; fail "the server does not answer /healthz"; }
echo "check-image: serving $url: /healthz $(curl -s "$url/healthz" | head -c 200)"

# The image's HEALTHCHECK command, run as the runtime would: in the container, as its user, with its environment,
# with /proc mounted (every container has it; without it the image's taskgate sees no arguments and runs its default
# command, serve).
health() {
  local command=()
  while IFS= read -r line; do [ -n "$line" ] && command+=("$line"); done <<<"$image_health"
  local env=()
  while IFS= read -r line; do [ -n "$line" ] && env+=("$line"); done <<<"$image_env"
  unshare --mount --pid --fork --mount-proc="$root/proc" \
    chroot --userspec="$image_user" "$root" /usr/bin/env -i "${env[@]}" TASKGATE_PORT="$server_port" "${command[@]}"
}
health >/dev/null || fail "the HEALTHCHECK command fails against a running server"
echo "check-image: the HEALTHCHECK command passes"

# A worker from the same image: the built-ins, an --exec command, and one whose command leaves an orphan behind.
run_image "$work/worker.log" TASKGATE_URL="$url" TASKGATE_WORKER_TOKEN="$worker_token" -- \
  worker --builtins --name image-worker --exec 'text.bytes=wc -c' \
  --exec 'orphan=sleep 1 >/dev/null 2>&1 </dev/null & echo "\"left a child\""'
worker=$ran
submit() { # submit FUNCTION ARGS_JSON -> the task as JSON once finished (Prefer: wait)
  curl -sf -H "Authorization: Bearer $client_token" -H "Content-Type: application/json" -H "Prefer: wait=20" \
    -d "{\"function\":\"$1\",\"args\":$2}" "$url/tasks"
}
for _ in $(seq 1 100); do
  curl -sf -H "Authorization: Bearer $client_token" "$url/workers" | grep -q image-worker && break
  sleep 0.1
done
field() { python3 -c "import json, sys; task = json.load(sys.stdin); print(json.dumps(task.get('$1')))"; }
echo_task=$(submit echo '{"from":"the image"}') || { cat "$work/worker.log"; fail "submitting echo"; }
[ "$(field result <<<"$echo_task")" = '{"from": "the image"}' ] || fail "echo through the image's worker: $echo_task"
bytes_task=$(submit text.bytes '"hello"') || fail "submitting text.bytes"
[ "$(field result <<<"$bytes_task")" = 7 ] || fail "text.bytes ('\"hello\"' is 7 bytes): $bytes_task"
echo "check-image: tasks ran end to end on the image's worker: echo and an --exec command (wc -c)"

worker_pid1=$(pid1 "$worker")
orphan_task=$(submit orphan null) || fail "submitting orphan"
[ "$(field state <<<"$orphan_task")" = '"succeeded"' ] || fail "the orphan task: $orphan_task"
sleep 2.5
[ "$(zombies "$worker_pid1")" = 0 ] || fail "an orphan of an --exec command stayed a zombie under tini"
echo "check-image: the orphan an --exec command left was reaped by PID 1 (tini)"

# What KEDA's metrics-api scaler reads: /metrics is refused without a token, and with the metrics token (which may
# read nothing else) it serves the Prometheus text in which the ScaledObject's valueLocation must be found (the
# manifests check-deploy.sh rendered, through scripts/validate-keda.py --metrics).
status=$(curl -s -o /dev/null -w '%{http_code}' "$url/metrics")
[ "$status" = 401 ] || fail "/metrics without a token answered $status, not 401"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $metrics_token" "$url/tasks")
[ "$status" = 403 ] || fail "/tasks with the metrics token answered $status, not 403"
curl -sf -H "Authorization: Bearer $metrics_token" "$url/metrics" >"$work/metrics.txt" || fail "scraping /metrics"
venv=.build/deploy-venv
manifests=.build/deploy/manifests.yaml
[ -x "$venv/bin/python" ] && [ -f "$manifests" ] || fail "no $venv or $manifests: run scripts/check-deploy.sh first (make test does)"
"$venv/bin/python" scripts/validate-keda.py "$manifests" --metrics "$work/metrics.txt" \
  || fail "the ScaledObject's metric against the image's /metrics"
echo "check-image: /metrics: 401 without a token; the metrics token reads it (and gets 403 on /tasks), with what the ScaledObject reads"

# Stop the worker and the server as a runtime would (SIGTERM to PID 1): both drain and exit 0.
kill -TERM "$worker_pid1"
wait "$worker" || fail "the worker exited with $? on SIGTERM"
kill -TERM "$(pid1 "$server")"
wait "$server" || { tail -5 "$work/server.log"; fail "the server exited with $? on SIGTERM"; }
echo "check-image: SIGTERM: the worker and the server drained and exited 0"
health >/dev/null 2>&1 && fail "the HEALTHCHECK command passes with the server stopped"
echo "check-image: with the server stopped the HEALTHCHECK command fails"

# The control: the same orphan with taskgate itself as PID 1 (no tini) stays a zombie, so the check above can fail.
run_image "$work/control-server.log" TASKGATE_PORT="$server_port" TASKGATE_TOKEN="$client_token" \
  TASKGATE_WORKER_TOKEN="$worker_token" -- serve --workers 0
server=$ran
for _ in $(seq 1 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
image_entrypoint_saved=$image_entrypoint
image_entrypoint=/usr/local/bin/taskgate
run_image "$work/control-worker.log" TASKGATE_URL="$url" TASKGATE_WORKER_TOKEN="$worker_token" -- \
  worker --name control-worker --exec 'orphan=sleep 1 >/dev/null 2>&1 </dev/null & echo "\"left a child\""'
control=$ran
image_entrypoint=$image_entrypoint_saved
for _ in $(seq 1 100); do
  curl -sf -H "Authorization: Bearer $client_token" "$url/workers" | grep -q control-worker && break
  sleep 0.1
done
submit orphan null >/dev/null || fail "submitting orphan to the control"
sleep 2.5
[ "$(zombies "$(pid1 "$control")")" -ge 1 ] || fail "control: no zombie with taskgate as PID 1 (the reaping check proves nothing)"
echo "check-image: control: with taskgate itself as PID 1 the orphan stays a zombie"
# Killed on purpose: disowned first, so the shell does not report it.
control_pid1=$(pid1 "$control")
disown "$control"
kill -KILL "$control_pid1" "$control" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$control" 2>/dev/null || break; sleep 0.1; done
kill -TERM "$(pid1 "$server")"
wait "$server" || true

step "passed"
