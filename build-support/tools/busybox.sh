#!/usr/bin/env bash
# Usage: busybox.sh <outdir>
# Leaves a static busybox at <outdir>/<arch>/busybox for each of $BUSYBOX_ARCHES
# (Debian's busybox-static). Uses a private apt state dir with extra architectures,
# so the system's dpkg/apt architecture configuration is left untouched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
out=${1:?usage: busybox.sh <outdir>}

missing=()
for a in $BUSYBOX_ARCHES; do [ -x "$out/$a/busybox" ] || missing+=("$a"); done
[ ${#missing[@]} -eq 0 ] && exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs"
apt_opts=(-qq -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Sandbox::User=root)
for a in $(dpkg --print-architecture) "${missing[@]}"; do apt_opts+=(-o "APT::Architectures::=$a"); done

apt-get "${apt_opts[@]}" update
(cd "$tmp/debs" && apt-get "${apt_opts[@]}" download "${missing[@]/#/busybox-static:}")
for a in "${missing[@]}"; do
  dpkg-deb -x "$tmp"/debs/busybox-static_*_"$a".deb "$tmp/x-$a"
  mkdir -p "$out/$a"
  install -m 0755 "$tmp/x-$a/bin/busybox" "$out/$a/busybox"
done
