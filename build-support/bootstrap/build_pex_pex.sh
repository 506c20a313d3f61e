#!/usr/bin/env bash
# Builds the `pex` CLI as a PEX file from PyPI's pex wheel, byte-for-byte reproducibly.
#
# Usage: build_pex_pex.sh PYTHON OUTPUT [PEX_VERSION]
#   PYTHON       an interpreter that can `import pex` at PEX_VERSION (./pants uses its venv's)
#   OUTPUT       where to write the PEX (written atomically)
#   PEX_VERSION  default 2.1.137 (what Pants 2.17.1 expects)
# Prints "<sha256> <size>" of the result on stdout.
#
# Pants 2.17.1 normally downloads this file from GitHub; pants.toml's [pex-cli] points it at
# our build instead, and its known_versions pins the sha256/size printed here. What makes the
# build reproducible:
#   - pex zips with fixed timestamps (1980-01-01) and sorted entries, and no .pyc files;
#   - --python-shebang is pinned, else the shebang names the building interpreter's path;
#   - umask 022, because zip entries record file modes;
#   - a private, fresh PEX_ROOT, and PIP_CONFIG_FILE=/dev/null so no machine pip config leaks in.
set -euo pipefail

python="${1:?usage: build_pex_pex.sh PYTHON OUTPUT [PEX_VERSION]}"
output="${2:?usage: build_pex_pex.sh PYTHON OUTPUT [PEX_VERSION]}"
pex_version="${3:-2.1.137}"

umask 022
work="$(mktemp -d "$(dirname "${output}")/.pex-build.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# Downloading the wheel uses the machine's normal pip config (index, certs, proxies).
"${python}" -m pip download --quiet --no-deps --only-binary=:all: \
  --dest "${work}/wheels" "pex==${pex_version}" </dev/null >&2

PEX_ROOT="${work}/pex_root" PIP_CONFIG_FILE=/dev/null "${python}" -m pex \
  --no-pypi --find-links "${work}/wheels" \
  --python-shebang "/usr/bin/env python3" \
  --entry-point pex \
  --output-file "${work}/pex.pex" \
  "pex==${pex_version}" </dev/null >&2

sha="$(sha256sum "${work}/pex.pex" | cut -d' ' -f1)"
size="$(wc -c <"${work}/pex.pex" | tr -d '[:space:]')"
mv -f "${work}/pex.pex" "${output}"
echo "${sha} ${size}"
