#!/usr/bin/env bash
# build-tools.sh: builds from their Go modules, into $OUT,
#   buildctl and buildkitd $BUILDKIT_VERSION (when set), pure Go;
#   runc $RUNC_VERSION, static, with seccomp (libseccomp's headers and static library in $LIBSECCOMP).
set -euo pipefail
build() {  # <module> <version> <cgo> <ldflags> <tags> <packages>...
  local mod=$1 ver=$2 cgo=$3 ldflags=$4 tags=$5 dir; shift 5
  dir=$("$GO" mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "cannot download $mod@$ver from $GOPROXY" >&2; exit 1; }
  (cd "$dir" && CGO_ENABLED=$cgo "$GO" build -mod=readonly -trimpath -tags "$tags" \
     -ldflags "-s -w $ldflags" -o "$OUT/" "$@")
}
mkdir -p "$OUT"
if [ -n "${BUILDKIT_VERSION:-}" ]; then
  build "$BUILDKIT_MODULE" "$BUILDKIT_VERSION" 0 "-X $BUILDKIT_MODULE/version.Version=$BUILDKIT_VERSION" "" \
    ./cmd/buildkitd ./cmd/buildctl
fi
# cgo asks pkg-config for libseccomp's flags; they come from CGO_CFLAGS/CGO_LDFLAGS instead.
PKG_CONFIG=/bin/true CGO_CFLAGS="-I$LIBSECCOMP" CGO_LDFLAGS="-L$LIBSECCOMP -lseccomp" \
  build github.com/opencontainers/runc "$RUNC_VERSION" 1 "-X main.version=${RUNC_VERSION#v} -extldflags -static" \
  "seccomp netgo osusergo urfave_cli_no_docs" .
