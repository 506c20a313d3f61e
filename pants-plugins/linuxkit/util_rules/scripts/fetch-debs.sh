#!/usr/bin/env bash
# fetch-debs.sh <out> <arch>...
# Debian's libseccomp-dev (headers and static library, for a runc with seccomp) and, from
# qemu-user-static, the emulators and binfmt_misc entries for each <arch> (qemu names: aarch64,
# s390x, ...). apt-get downloads into a private state: nothing is installed on the system.
set -euo pipefail
out=${1:?usage: fetch-debs.sh <out> <arch>...}
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs" "$out/libseccomp" "$out/qemu"
apt=(-qq -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Sandbox::User=root)
apt-get "${apt[@]}" update >&2
(cd "$tmp/debs" && apt-get "${apt[@]}" download libseccomp-dev qemu-user-static >&2)

dpkg-deb -x "$tmp"/debs/libseccomp-dev_*.deb "$tmp/seccomp"
cp "$tmp"/seccomp/usr/include/seccomp*.h "$out/libseccomp/"
cp "$tmp"/seccomp/usr/lib/*/libseccomp.a "$out/libseccomp/"

members=()
for arch in "$@"; do
  members+=("./usr/bin/qemu-$arch-static" "./usr/lib/binfmt.d/qemu-$arch.conf")
done
dpkg-deb --fsys-tarfile "$tmp"/debs/qemu-user-static_*.deb | tar -x -C "$tmp" "${members[@]}"
for arch in "$@"; do
  mv "$tmp/usr/bin/qemu-$arch-static" "$tmp/usr/lib/binfmt.d/qemu-$arch.conf" "$out/qemu/"
done
