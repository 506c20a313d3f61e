#!/usr/bin/env bash
# Checks that the pex PEX build is reproducible and matches ./pants and pants.toml:
# builds it twice (different dirs, different caller umasks) with the venv ./pants bootstrapped,
# and prints the [pex-cli].known_versions lines to paste when bumping pex.
#
# Usage: build-support/bootstrap/verify_pex_pex.sh   (run ./pants --version once first)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
cache_root="${LINUXKIT_PANTS_HOME:-${HOME}/.cache/pants-linuxkit}"
venv_python="${cache_root}/bootstrap/pants-2.17.1-py39/venv/bin/python"
[[ -x "${venv_python}" ]] || { echo "Run ./pants --version first (no ${venv_python})." >&2; exit 1; }

expected_sha="$(sed -n 's/^readonly PEX_SHA256="\(.*\)"$/\1/p' "${root}/pants")"
expected_size="$(sed -n 's/^readonly PEX_SIZE="\(.*\)"$/\1/p' "${root}/pants")"

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
mkdir -p "${tmp}/a" "${tmp}/b"
first="$(umask 077 && "${here}/build_pex_pex.sh" "${venv_python}" "${tmp}/a/pex")"
second="$(umask 002 && "${here}/build_pex_pex.sh" "${venv_python}" "${tmp}/b/pex")"
echo "build 1: ${first}"
echo "build 2: ${second}"
echo "./pants: ${expected_sha} ${expected_size}"
read -r sha size <<<"${first}"
echo "known_versions = ["
for plat in linux_x86_64 linux_arm64 macos_x86_64 macos_arm64; do
  echo "  \"v2.1.137|${plat}|${sha}|${size}\","
done
echo "]"
if [[ "${first}" != "${second}" ]]; then
  echo "FAIL: the two builds differ." >&2
  exit 1
fi
if [[ "${first}" != "${expected_sha} ${expected_size}" ]]; then
  echo "FAIL: the build differs from PEX_SHA256/PEX_SIZE in ./pants." >&2
  exit 1
fi
if ! grep -q "|${sha}|${size}\"" "${root}/pants.toml"; then
  echo "FAIL: pants.toml's [pex-cli].known_versions lacks ${sha}|${size}." >&2
  exit 1
fi
echo "OK: reproducible, and matches ./pants and pants.toml."
