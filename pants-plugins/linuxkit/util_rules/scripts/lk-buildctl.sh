#!/usr/bin/env bash
# lk-buildctl <buildctl args>: buildctl against $LINUXKIT_BUILDKIT_ADDR or, without one, against the
# backend's own buildkitd, started when it is not running or runs other tools.
#
# Its state lives in the Pants named cache $LINUXKIT_BUILDKITD_STATE, one directory per BuildKit
# version, so checkouts that pin other versions keep their own daemons. A lock (never held by the
# daemon, waited on for at most $LOCK_WAIT seconds) serialises starts; a restart waits (at most
# $BUSY_WAIT seconds) for the builds using the daemon; a pid is only signalled when /proc shows it
# is this state's buildkitd.
#
# A proxy build arg whose credentials Pants holds masked (`--opt build-arg:http_proxy=http://u:***@h`)
# gets its real value from the private file the backend wrote, named by the masked value's sha256
# (pkglib/private_files.py), so the password is in no Pants process definition, cache or log.
#
# With $LINUXKIT_SBOM_SCANNER_IMAGE (`<name>@<digest>`) set, the backend's SBOM generator image
# is first loaded into the builder from the OCI layout $LINUXKIT_SBOM_SCANNER_LAYOUT, under that
# name, so BuildKit finds it by digest without a registry (util_rules/sbom_scanner.py).
set -euo pipefail
tools=$(cd "$(dirname "$0")" && pwd)
secrets=/tmp/linuxkit-secrets-$(id -u)
args=()
for arg in "$@"; do
  lower=${arg,,}
  if [[ $lower =~ ^build-arg:(http|https|ftp|all|no)_proxy= && $arg == *'***@'* ]]; then
    file=$secrets/$(printf '%s' "$arg" | sha256sum | cut -c1-64)
    real=
    if [ -L "$secrets" ] || [ ! -O "$secrets" ] || [ ! -f "$file" ] || ! IFS= read -r -d '' real <"$file"; then
      echo "lk-buildctl: no credentials for $arg in $secrets: run the build again" >&2
      exit 1
    fi
    arg=$real
  fi
  args+=("$arg")
done
set -- "${args[@]}"

# run_buildctl <buildctl and its address options>: the load above (if asked), then the command.
run_buildctl() {
  if [ -n "${LINUXKIT_SBOM_SCANNER_IMAGE:-}" ]; then
    local name=${LINUXKIT_SBOM_SCANNER_IMAGE%@*} digest=${LINUXKIT_SBOM_SCANNER_IMAGE#*@}
    local layout ctx=.lk-sbom-load attempt
    layout=$(realpath "$LINUXKIT_SBOM_SCANNER_LAYOUT")
    mkdir -p "$ctx"
    # COPY makes BuildKit fetch the layers too, not only the manifest and config.
    printf 'FROM scratch\nCOPY --from=%s /lk-sbom-scan /\n' "$name" >"$ctx/Dockerfile"
    for attempt in 1 2 3; do  # two builds loading it at once may race in the content store
      "$@" build --progress=plain --frontend=dockerfile.v0 --local "context=$ctx" --local "dockerfile=$ctx" \
        --oci-layout "lk-sbom-scanner=$layout" --opt "context:$name=oci-layout://lk-sbom-scanner@$digest" \
        >"$ctx/log" 2>&1 && break
      if [ "$attempt" = 3 ]; then
        echo "lk-buildctl: cannot load the SBOM generator image into the builder; buildctl's log ends with:" >&2
        tail -n 5 "$ctx/log" >&2
        exit 1
      fi
    done
    rm -rf "$ctx"
  fi
  exec "$@" "${args[@]}"
}

if [ -n "${LINUXKIT_BUILDKIT_ADDR:-}" ]; then
  run_buildctl "$tools/buildctl" --addr "$LINUXKIT_BUILDKIT_ADDR" \
    ${LINUXKIT_BUILDKIT_TLS_DIR:+--tlsdir "$LINUXKIT_BUILDKIT_TLS_DIR"}
fi
LOCK_WAIT=${LINUXKIT_BUILDKITD_LOCK_WAIT:-300}
BUSY_WAIT=${LINUXKIT_BUILDKITD_BUSY_WAIT:-3600}
warn() { echo "lk-buildctl: warning: $*" >&2; }
state=$(realpath "$LINUXKIT_BUILDKITD_STATE")/$BUILDKIT_VERSION
mkdir -p "$state"
addr="unix://$state/buildkitd.sock"
if [ $((${#state} + 15)) -gt 107 ]; then
  echo "lk-buildctl: $state/buildkitd.sock is longer than a unix socket path may be (107 bytes):" \
    "use a shorter [GLOBAL].named_caches_dir" >&2
  exit 1
fi
daemon=("$state/bin/buildkitd" --root "$state/root" --addr "$addr" --oci-worker=true --containerd-worker=false)
fingerprint=$(cat "$tools/fingerprint")

up() { "$state/bin/buildctl" --addr "$addr" debug workers >/dev/null 2>&1; }

# The pid in $state/pid, when it is the buildkitd this state started (its command line matches).
our_pid() {
  local pid cmdline
  pid=$(cat "$state/pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"${daemon[*]} " ]] || return 1
  echo "$pid"
}

stop_daemon() {
  local pid
  pid=$(our_pid) || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# Foreign platforms run under the provisioned qemu through binfmt_misc (root only). The F flag
# makes the kernel open the emulator now, so it works inside every container whatever its root.
register_emulators() {
  local d=/proc/sys/fs/binfmt_misc conf name type offset magic mask
  compgen -G "$tools/qemu-*.conf" >/dev/null || return 0
  if [ "$(id -u)" != 0 ]; then
    for conf in "$tools"/qemu-*.conf; do
      name=$(basename "$conf" .conf)
      [ -e "$d/$name" ] || warn "$name is not registered in binfmt_misc and only root can register it"
    done
    return 0
  fi
  [ -e "$d/register" ] || mount -t binfmt_misc binfmt_misc "$d" 2>/dev/null \
    || { warn "cannot mount binfmt_misc at $d: foreign platforms cannot run RUN steps"; return 0; }
  for conf in "$tools"/qemu-*.conf; do
    name=$(basename "$conf" .conf)
    [ ! -e "$d/$name" ] || continue
    cp "$tools/$name-static" "$state/bin/"
    IFS=: read -r _ _ type offset magic mask _ _ <"$conf"
    printf ':%s:%s:%s:%s:%s:%s:F\n' "$name" "$type" "$offset" "$magic" "$mask" "$state/bin/$name-static" \
      >"$d/register" 2>/dev/null || warn "cannot register $name in binfmt_misc"
  done
}

exec 8>"$state/.lock"
flock -w "$LOCK_WAIT" 8 || { echo "lk-buildctl: waited ${LOCK_WAIT}s for $state/.lock" >&2; exit 1; }
# Every buildctl holds .inuse shared while it runs, so a restart (another checkout's tools) waits
# for the builds in flight instead of killing their daemon under them.
exec 9>"$state/.inuse"
if [ "$(cat "$state/fingerprint" 2>/dev/null)" != "$fingerprint" ] || ! up; then
  flock -x -w "$BUSY_WAIT" 9 || {
    echo "lk-buildctl: builds with other tools (another checkout?) still use $state's buildkitd after ${BUSY_WAIT}s" >&2
    exit 1
  }
  stop_daemon
  rm -rf "$state/bin" && mkdir -p "$state/bin" "$state/root"
  cp "$tools/buildkitd" "$tools/buildctl" "$tools/runc" "$state/bin/"
  register_emulators
  rm -f "$state/buildkitd.sock" "$state/fingerprint"
  PATH="$state/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    setsid "${daemon[@]}" </dev/null >"$state/buildkitd.log" 2>&1 8>&- 9>&- &
  echo $! >"$state/pid"
  for _ in $(seq 300); do up && break; sleep 0.1; done
  if ! up; then
    echo "lk-buildctl: buildkitd did not start; its log ($state/buildkitd.log) ends with:" >&2
    tail -n 5 "$state/buildkitd.log" >&2
    exit 1
  fi
  echo "$fingerprint" >"$state/fingerprint"
fi
flock -s 9
exec 8>&-
run_buildctl "$state/bin/buildctl" --addr "$addr"
