"""buildctl, buildkitd and runc, built from their Go modules by a cacheable process, plus the
`lk-buildctl` wrapper that runs buildctl against the backend's own buildkitd (started on demand)."""

from __future__ import annotations

from dataclasses import dataclass

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.buildkit import BuildkitSubsystem
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.core.util_rules.external_tool import DownloadedExternalTool, ExternalToolRequest
from pants.engine.fs import (
    AddPrefix,
    CreateDigest,
    Digest,
    DigestSubset,
    DownloadFile,
    FileContent,
    FileDigest,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
)
from pants.engine.platform import Platform
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.core.util_rules.system_binaries import (
    BinaryPathRequest,
    BinaryPaths,
    BinaryPathTest,
)
from pants.util.logging import LogLevel

TOOLS_DIR = "__buildkit"
BUILDKITD_CACHE = "linuxkit_buildkitd"
BUILDKITD_CACHE_DIR = ".buildkitd"  # where the named cache appears in a sandbox
STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_BUILD_SCRIPT = r"""
set -euo pipefail
build() {  # <module> <version> <cgo> <ldflags> <packages>...
  local mod=$1 ver=$2 cgo=$3 ldflags=$4 dir; shift 4
  dir=$("$GO" mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "cannot download $mod@$ver from $GOPROXY" >&2; exit 1; }
  (cd "$dir" && CGO_ENABLED=$cgo "$GO" build -mod=readonly -trimpath -ldflags "-s -w $ldflags" \
     -o "$OUT/" "$@")
}
mkdir -p "$OUT"
if [ -n "${BUILDKIT_VERSION:-}" ]; then
  build "$BUILDKIT_MODULE" "$BUILDKIT_VERSION" 0 "-X $BUILDKIT_MODULE/version.Version=$BUILDKIT_VERSION" \
    ./cmd/buildkitd ./cmd/buildctl
fi
if [ -n "${RUNC_VERSION:-}" ]; then
  build github.com/opencontainers/runc "$RUNC_VERSION" 1 "-X main.version=${RUNC_VERSION#v}" .
fi
"""

# Runs buildctl. Without an explicit --addr it uses the backend's own buildkitd, starting it when
# it is not running or not the pinned version. Its state lives in a Pants named cache, so the
# daemon outlives this sandbox and is shared by every build; a lock serialises the start.
LK_BUILDCTL = r"""#!/usr/bin/env bash
set -euo pipefail
tools=$(cd "$(dirname "$0")" && pwd)
if [ -n "${LINUXKIT_BUILDKIT_ADDR:-}" ]; then
  exec "$tools/buildctl" --addr "$LINUXKIT_BUILDKIT_ADDR" \
    ${LINUXKIT_BUILDKIT_TLS_DIR:+--tlsdir "$LINUXKIT_BUILDKIT_TLS_DIR"} "$@"
fi
state=$(realpath "$LINUXKIT_BUILDKITD_STATE")
addr="unix://$state/buildkitd.sock"
up() { "$state/bin/buildctl" --addr "$addr" debug workers >/dev/null 2>&1; }
exec 8>"$state/.lock"
flock 8
if [ "$(cat "$state/version" 2>/dev/null)" != "$BUILDKIT_VERSION" ] || ! up; then
  if [ -f "$state/pid" ]; then
    kill "$(cat "$state/pid")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$state/pid")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$state/bin" && mkdir -p "$state/bin" "$state/root"
  cp "$tools"/buildkitd "$tools"/buildctl "$state/bin/"
  [ ! -x "$tools/runc" ] || cp "$tools/runc" "$state/bin/"
  # Other architectures run under qemu-user-static through binfmt_misc (root only; best effort).
  if [ "$(id -u)" = 0 ] && [ -d /proc/sys/fs/binfmt_misc ]; then
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
    for conf in /usr/lib/binfmt.d/qemu-*.conf; do
      [ -e "$conf" ] || continue
      name=$(basename "$conf" .conf)
      [ -e "/proc/sys/fs/binfmt_misc/$name" ] || cat "$conf" > /proc/sys/fs/binfmt_misc/register 2>/dev/null || true
    done
  fi
  rm -f "$state/buildkitd.sock"
  PATH="$state/bin:$PATH" setsid "$state/bin/buildkitd" --root "$state/root" --addr "$addr" \
    --oci-worker=true --containerd-worker=false </dev/null >"$state/buildkitd.log" 2>&1 &
  echo $! > "$state/pid"
  for _ in $(seq 300); do up && break; sleep 0.1; done
  if ! up; then
    echo "buildkitd did not start; its log ($state/buildkitd.log) ends with:" >&2
    tail -n 5 "$state/buildkitd.log" >&2
    exit 1
  fi
  echo "$BUILDKIT_VERSION" > "$state/version"
fi
flock -u 8
exec "$state/bin/buildctl" --addr "$addr" "$@"
"""


@dataclass(frozen=True)
class BuildkitTools:
    """buildctl, buildkitd, lk-buildctl (and runc when the system has none), mounted at
    `__buildkit/` through `immutable_input_digests`."""

    digest: Digest
    version: str
    path: str  # PATH for processes that run the tools

    @property
    def buildctl(self) -> str:
        return f"{TOOLS_DIR}/lk-buildctl"

    @property
    def env(self) -> dict[str, str]:
        return {
            "PATH": self.path,
            "BUILDKIT_VERSION": self.version,
            "LINUXKIT_BUILDKITD_STATE": BUILDKITD_CACHE_DIR,
        }

    @property
    def append_only_caches(self) -> dict[str, str]:
        return {BUILDKITD_CACHE: BUILDKITD_CACHE_DIR}


@dataclass(frozen=True)
class SearchPaths:
    paths: tuple[str, ...]


@rule
async def buildkit_search_path(buildkit: BuildkitSubsystem) -> SearchPaths:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["PATH"]))
    paths: list[str] = []
    for entry in buildkit.search_path:
        paths.extend(env.get("PATH", "").split(":") if entry == "<PATH>" else [entry])
    return SearchPaths(tuple(p for p in paths if p))


async def find_binary(name: str, search: SearchPaths, *, test_args=("--version",)) -> str | None:
    paths = await Get(
        BinaryPaths,
        BinaryPathRequest(
            binary_name=name,
            search_path=search.paths,
            test=BinaryPathTest(test_args, fingerprint_stdout=False),
        ),
    )
    return paths.first_path.path if paths.first_path else None


@dataclass(frozen=True)
class ToolRequest:
    name: str
    purpose: str  # completes "<purpose> needs `<name>`" in the error when it is missing


@dataclass(frozen=True)
class Tool:
    path: str


@rule(desc="Find a tool", level=LogLevel.DEBUG)
async def find_tool(request: ToolRequest, search: SearchPaths) -> Tool:
    path = await find_binary(request.name, search)
    if path is None:
        raise LinuxkitError(
            f"{request.purpose} needs `{request.name}` on [buildkit].search_path "
            f"({':'.join(search.paths)})"
        )
    return Tool(path)


def _release_archive(buildkit: BuildkitSubsystem, platform: Platform) -> DownloadFile | None:
    for entry in buildkit.known_versions:
        version, plat, sha256, size = (part.strip() for part in entry.split("|"))
        if version == buildkit.version and plat == platform.value:
            url = buildkit.url_template.format(
                version=version, platform=buildkit.url_platform_mapping.get(plat, plat)
            )
            return DownloadFile(url, FileDigest(sha256, int(size)))
    return None


@rule(desc="Provision BuildKit", level=LogLevel.DEBUG)
async def buildkit_tools(
    buildkit: BuildkitSubsystem, search: SearchPaths, platform: Platform
) -> BuildkitTools:
    release = _release_archive(buildkit, platform)
    runc = await find_binary("runc", search)
    parts = []
    if release is not None:
        downloaded = await Get(
            DownloadedExternalTool, ExternalToolRequest(release, exe="bin/buildctl")
        )
        binaries = await Get(Digest, DigestSubset(downloaded.digest, PathGlobs(["bin/buildctl", "bin/buildkitd"])))
        parts.append(await Get(Digest, AddPrefix(await Get(Digest, RemovePrefix(binaries, "bin")), TOOLS_DIR)))
    if release is None or runc is None:
        go = await find_binary("go", search, test_args=("version",))
        if go is None:
            raise LinuxkitError(
                f"[buildkit]: no `go` on [buildkit].search_path ({':'.join(search.paths)}): it "
                f"builds {'runc' if release else f'buildctl and buildkitd {buildkit.version}'} "
                f"from its Go module"
            )
        built = await Get(
            ProcessResult,
            Process(
                argv=["/bin/bash", "-c", _BUILD_SCRIPT],
                env={
                    "GO": go,
                    "OUT": f"{{chroot}}/{TOOLS_DIR}",
                    "GOPROXY": buildkit.goproxy,
                    "GOFLAGS": "-buildvcs=false",
                    "HOME": "{chroot}/.home",
                    "GOPATH": "{chroot}/.gopath",
                    "GOMODCACHE": "{chroot}/.gomodcache",
                    "GOCACHE": "{chroot}/.gocache",
                    "PATH": STANDARD_PATH,
                    "BUILDKIT_MODULE": buildkit.module,
                    **({} if release else {"BUILDKIT_VERSION": buildkit.version}),
                    **({} if runc else {"RUNC_VERSION": buildkit.runc_version}),
                },
                append_only_caches={"linuxkit_go_mod": ".gomodcache", "linuxkit_go_build": ".gocache"},
                output_directories=(TOOLS_DIR,),
                description=(
                    f"Build runc {buildkit.runc_version} from its Go module" if release
                    else f"Build BuildKit {buildkit.version} from its Go module"
                ),
                level=LogLevel.INFO,
                timeout_seconds=1800,
            ),
        )
        parts.append(built.output_digest)
    wrapper = await Get(
        Digest,
        CreateDigest([FileContent(f"{TOOLS_DIR}/lk-buildctl", LK_BUILDCTL.encode(), is_executable=True)]),
    )
    merged = await Get(Digest, MergeDigests([*parts, wrapper]))
    digest = await Get(Digest, RemovePrefix(merged, TOOLS_DIR))
    path = ":".join(dict.fromkeys([*([runc.rsplit("/", 1)[0]] if runc else []), STANDARD_PATH]))
    return BuildkitTools(digest=digest, version=buildkit.version, path=path)


def rules():
    return collect_rules()
