#!/usr/bin/env bash
# Installs the tools the tests need and prints the bin dir (last line of stdout).
#   tools dir: ${LINUXKIT_PANTS_TOOLS:-$HOME/.cache/pants-linuxkit/tools}
#   <tools>/<name>-<version>/   one dir per pinned version (see versions.env)
#   <tools>/bin/                symlinks to the pinned binaries
#   <tools>/busybox/<arch>/busybox
#   <tools>/cosign-<version>/cosign   (cosign.sh, for the signing tests)
#   <tools>/buildgrid-<version>/  a venv with BuildGrid (bin/bgd), an REAPI server
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

# A CPython >= 3.13 (BuildGrid needs it): pyenv's newest, else python3.13 on PATH.
find_python313() {
  local p
  for p in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3 2>/dev/null | sort -rV) \
           "$(command -v python3.13 || true)"; do
    [ -x "$p" ] && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null \
      && { echo "$p"; return 0; }
  done
  return 1
}

install_buildgrid() {
  local dir=$tools/buildgrid-$BUILDGRID_VERSION python
  if [ ! -e "$dir/.installed" ]; then
    python=$(find_python313) || { log "BuildGrid needs a CPython >= 3.13 (pyenv or python3.13 on PATH)"; exit 1; }
    log "BuildGrid $BUILDGRID_VERSION into $dir (with $python)"
    rm -rf "$dir"
    "$python" -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check -c "$here/buildgrid-constraints.txt" \
      "buildgrid==$BUILDGRID_VERSION" >&2
    touch "$dir/.installed"
  fi
  ln -sfn "$dir/bin/bgd" "$bin/bgd"
}

install_apt_packages
"$here/busybox.sh" "$tools/busybox"
"$here/cosign.sh" "$tools" >/dev/null
install_buildgrid
echo "$bin"
