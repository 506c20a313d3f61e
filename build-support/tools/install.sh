#!/usr/bin/env bash
# Installs the tools the tests need and prints the bin dir (last line of stdout).
#   tools dir: ${LINUXKIT_PANTS_TOOLS:-$HOME/.cache/pants-linuxkit/tools}
#   <tools>/<name>-<version>/   one dir per pinned version (see versions.env)
#   <tools>/bin/                symlinks to the pinned binaries
#   <tools>/busybox/<arch>/busybox
#   <tools>/cosign-<version>/cosign   (cosign.sh, for the signing tests)
# Idempotent; needs root for apt-get. The linuxkit CLI is not installed (the Go
# module proxy refuses it): tests that compare with it run where LINUXKIT_BIN or PATH names one.
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

install_apt_packages
"$here/busybox.sh" "$tools/busybox"
"$here/cosign.sh" "$tools" >/dev/null
echo "$bin"
