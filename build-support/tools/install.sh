#!/usr/bin/env bash
# Installs the tools the tests need and prints the bin dir (last line of stdout).
#   tools dir: ${LINUXKIT_PANTS_TOOLS:-$HOME/.cache/pants-linuxkit/tools}
#   <tools>/<name>-<version>/   one dir per pinned version (see versions.env)
#   <tools>/bin/                symlinks to the pinned binaries
#   <tools>/busybox/<arch>/busybox
# Idempotent; needs root for apt-get and binfmt_misc. LINUXKIT_REQUIRED=1 makes a
# failed linuxkit install fatal (by default it only warns: the proxy may refuse it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
tools=${LINUXKIT_PANTS_TOOLS:-$HOME/.cache/pants-linuxkit/tools}
bin=$tools/bin
mkdir -p "$bin"
exec 9>"$tools/.lock" && flock 9  # one install at a time
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
log() { echo "install.sh: $*" >&2; }

install_apt_packages() {
  local missing=() p
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# go_build <module> <version> <dest-dir> <ldflags> <pkg>...
# Builds inside the downloaded module (as main module) rather than with
# `go install pkg@version`, which refuses modules whose go.mod has
# replace/exclude directives (buildkit has).
go_build() {
  local mod=$1 ver=$2 dest=$3 ldflags=$4 dir start=$SECONDS; shift 4
  [ -d "$dest" ] && return 0
  log "building $mod@$ver"
  dir=$(go mod download -json "$mod@$ver" | grep '"Dir"' | cut -d'"' -f4) || true
  [ -n "$dir" ] || { go mod download "$mod@$ver" >&2 || true; return 1; }
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  (cd "$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "-s -w $ldflags" -o "$dest.tmp/" "$@") >&2 || return 1
  mv "$dest.tmp" "$dest"
  log "built $mod@$ver in $((SECONDS - start))s"
}

link() { ln -sfn "$1" "$bin/$(basename "$1")"; }

install_linuxkit() {
  local d=$tools/linuxkit-$LINUXKIT_VERSION v=$LINUXKIT_MODULE/version
  go_build "$LINUXKIT_MODULE" "$LINUXKIT_VERSION" "$d" \
    "-X $v.Version=$LINUXKIT_VERSION -X $v.GitCommit=$LINUXKIT_VERSION" . || return 1
  link "$d/linuxkit"
}

# Register qemu-user-static's aarch64/s390x handlers (with the F flag, so they
# also work inside buildkitd's runc sandboxes) without systemd or binfmt-support.
setup_binfmt() {
  local d=/proc/sys/fs/binfmt_misc a
  [ -e "$d/register" ] || mount -t binfmt_misc binfmt_misc "$d"
  for a in aarch64 s390x; do
    [ -e "$d/qemu-$a" ] || cat "/usr/lib/binfmt.d/qemu-$a.conf" > "$d/register"
  done
}

install_apt_packages
if ! install_linuxkit; then
  [ "${LINUXKIT_REQUIRED:-0}" = 1 ] && { log "linuxkit install failed"; exit 1; }
  log "WARNING: linuxkit $LINUXKIT_VERSION not installed; tests needing it should skip"
fi
"$here/busybox.sh" "$tools/busybox"
setup_binfmt || log "WARNING: binfmt_misc setup failed; foreign-arch RUN steps will fail"
echo "$bin"
