#!/usr/bin/env bash
# Usage: cosign.sh <tools dir>
# Builds cosign $COSIGN_VERSION (versions.env) from its Go module into <tools dir>/cosign-<version>/
# unless it is there, and prints the binary's path. Needs `go` and the Go module proxy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
out=${1:?usage: cosign.sh <tools dir>}/cosign-$COSIGN_VERSION
if [ ! -x "$out/cosign" ]; then
  command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
  mkdir -p "$out"
  GOBIN=$out CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION" \
    "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION" >&2
fi
echo "$out/cosign"
