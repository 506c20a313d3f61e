#!/usr/bin/env bash
# Smoke test of the installed tools (run after install.sh, as root): starts a
# registry and buildkitd in a temp dir, builds a 3-arch busybox image with a RUN
# step (qemu via binfmt), pushes it, reads it back with skopeo, then cleans up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$("$here/install.sh" 2>/dev/null | tail -n1)
tools=$(dirname "$bin")
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -rf "$tmp"' EXIT
port=$((20000 + RANDOM % 20000))

cat > "$tmp/registry.yml" <<EOC
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $tmp/registry}}
http: {addr: 127.0.0.1:$port}
EOC
docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 & pids+=($!)
"$bin/buildkitd" --oci-worker=true --containerd-worker=false --root "$tmp/bk" \
  --addr "unix://$tmp/bk.sock" >"$tmp/buildkitd.log" 2>&1 & pids+=($!)
bctl() { "$bin/buildctl" --addr "unix://$tmp/bk.sock" "$@"; }
for _ in $(seq 50); do bctl debug workers >/dev/null 2>&1 && break; sleep 0.2; done
bctl debug workers

mkdir -p "$tmp/ctx" && cp -r "$tools/busybox" "$tmp/ctx/bb"
# shellcheck disable=SC2016  # ${TARGETARCH} is for the Dockerfile
printf '%s\n' 'FROM scratch' 'ARG TARGETARCH' 'COPY bb/${TARGETARCH}/busybox /bin/busybox' \
  'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox uname -m > /arch"]' > "$tmp/ctx/Dockerfile"
img=127.0.0.1:$port/smoke/busybox:1
bctl build --progress=plain --frontend dockerfile.v0 --local "context=$tmp/ctx" --local "dockerfile=$tmp/ctx" \
  --opt platform=linux/amd64,linux/arm64,linux/s390x \
  --output "type=image,name=$img,push=true,registry.insecure=true" 2>"$tmp/build.log" \
  || { cat "$tmp/build.log" >&2; exit 1; }
skopeo inspect --raw --tls-verify=false "docker://$img" | grep -o '"architecture": *"[a-z0-9]*"'
if [ -x "$bin/linuxkit" ]; then "$bin/linuxkit" version; else echo "linuxkit: not installed"; fi
echo "smoke: OK"
