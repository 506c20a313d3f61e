"""The tools of the backend's own BuildKit, provisioned by cacheable processes: buildctl and
buildkitd (release archive or Go module), runc (Go module, static, with seccomp), qemu emulators
for foreign platforms (Debian's qemu-user-static), and the `lk-buildctl` wrapper
(`scripts/lk-buildctl.sh`) that runs buildctl against that buildkitd, started on demand."""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.buildkit import BuildkitSubsystem
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.core.util_rules.external_tool import DownloadedExternalTool, ExternalToolRequest
from pants.engine.fs import (
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

# The native platform needs no emulator; every other one a linuxkit package may name does.
_QEMU_ARCHES = {"linux_x86_64": ("aarch64", "s390x", "riscv64"), "linux_arm64": ("x86_64", "s390x", "riscv64")}


def packaged_script(name: str) -> bytes:
    data = pkgutil.get_data(__name__.rsplit(".", 1)[0], f"scripts/{name}")
    assert data is not None, name
    return data


@dataclass(frozen=True)
class BuildkitTools:
    """buildctl, buildkitd, runc, the qemu emulators and lk-buildctl, mounted at `__buildkit/`
    through `immutable_input_digests`."""

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


GO_TEST = ("version",)  # `go` has no --version


@dataclass(frozen=True)
class ToolRequest:
    name: str
    purpose: str  # completes "<purpose> needs `<name>`" in the error when it is missing
    test_args: tuple[str, ...] = ("--version",)  # a candidate that fails these is passed over
    hint: str = ""  # ends that error: what to do instead


@dataclass(frozen=True)
class Tool:
    path: str


@rule(desc="Find a tool", level=LogLevel.DEBUG)
async def find_tool(request: ToolRequest, search: SearchPaths) -> Tool:
    path = await find_binary(request.name, search, test_args=request.test_args)
    if path is None:
        raise LinuxkitError(
            f"{request.purpose} needs `{request.name}` on [buildkit].search_path "
            f"({':'.join(search.paths)}){request.hint}"
        )
    return Tool(path)


# Go's module and build caches, shared by every process that builds a tool from its Go module.
GO_CACHES = {"linuxkit_go_mod": ".gomodcache", "linuxkit_go_build": ".gocache"}


def go_env(buildkit: BuildkitSubsystem) -> dict[str, str]:
    """The environment of a process that builds a tool from its Go module (with GO_CACHES)."""
    return {
        "GOPROXY": buildkit.goproxy,
        "GOFLAGS": "-buildvcs=false",
        # The compiler collects garbage less often: syft builds in 105 s instead of 120 s on two
        # cores (the same binary), for at most ~1.3 GB per compile.
        "GOGC": "400",
        "HOME": "{chroot}/.home",
        "GOPATH": "{chroot}/.gopath",
        "GOMODCACHE": "{chroot}/.gomodcache",
        "GOCACHE": "{chroot}/.gocache",
        "PATH": STANDARD_PATH,
    }


def go_install(
    go: str, buildkit: BuildkitSubsystem, package: str, ldflags: str, description: str, timeout: int
) -> Process:
    """`go install <package>@<version>` (a main package of a Go module) into `out/`, static, with
    GO_CACHES: one cacheable process."""
    return Process(
        argv=(go, "install", "-trimpath", f"-ldflags=-s -w -buildid= {ldflags}", package),
        env={**go_env(buildkit), "GOBIN": "{chroot}/out", "CGO_ENABLED": "0"},
        append_only_caches=GO_CACHES,
        output_directories=("out",),
        description=description,
        level=LogLevel.INFO,
        timeout_seconds=timeout,
    )


def _release_archive(buildkit: BuildkitSubsystem, platform: Platform) -> DownloadFile | None:
    for entry in buildkit.known_versions:
        version, plat, sha256, size = (part.strip() for part in entry.split("|"))
        if version == buildkit.version and plat == platform.value:
            url = buildkit.url_template.format(
                version=version, platform=buildkit.url_platform_mapping.get(plat, plat)
            )
            return DownloadFile(url, FileDigest(sha256, int(size)))
    return None


@dataclass(frozen=True)
class DebianTools:
    """libseccomp (`libseccomp/`: headers, static library) and the qemu emulators with their
    binfmt_misc entries (`qemu/`), from Debian's packages."""

    digest: Digest


@rule(desc="Fetch libseccomp and qemu-user-static", level=LogLevel.DEBUG)
async def debian_tools(search: SearchPaths, platform: Platform) -> DebianTools:
    # One search after the other: two `find_binary.sh` written and spawned at once can hit Pants
    # 2.17's ETXTBSY spawn failure (pantsbuild/pants#19318), seen here on a loaded machine.
    apt_get = await Get(BinaryPaths, BinaryPathRequest(binary_name="apt-get", search_path=search.paths))
    dpkg_deb = await Get(BinaryPaths, BinaryPathRequest(binary_name="dpkg-deb", search_path=search.paths))
    if not apt_get.first_path or not dpkg_deb.first_path:
        raise LinuxkitError(
            "[buildkit]: the backend's buildkitd needs runc with seccomp and qemu-user-static, "
            "fetched with `apt-get download` (Debian's libseccomp-dev and qemu-user-static), and "
            f"[buildkit].search_path ({':'.join(search.paths)}) has no `apt-get` or `dpkg-deb`: "
            "on other systems, configure a builder ([linuxkit].builders)"
        )
    script = await Get(Digest, CreateDigest([FileContent("fetch-debs.sh", packaged_script("fetch-debs.sh"))]))
    result = await Get(
        ProcessResult,
        Process(
            argv=["/bin/bash", "fetch-debs.sh", "out", *_QEMU_ARCHES.get(platform.value, ())],
            env={"PATH": STANDARD_PATH},
            input_digest=script,
            output_directories=("out",),
            description="Fetch Debian's libseccomp-dev and qemu-user-static",
            level=LogLevel.INFO,
            timeout_seconds=900,
        ),
    )
    return DebianTools(await Get(Digest, RemovePrefix(result.output_digest, "out")))


@rule(desc="Provision BuildKit", level=LogLevel.DEBUG)
async def buildkit_tools(
    buildkit: BuildkitSubsystem, search: SearchPaths, platform: Platform
) -> BuildkitTools:
    release = _release_archive(buildkit, platform)
    # One after the other, as in debian_tools (pantsbuild/pants#19318).
    go = await find_binary("go", search, test_args=GO_TEST)  # the search cosign and syft share
    cc = await find_binary("gcc", search)
    if not go or not cc:
        raise LinuxkitError(
            f"[buildkit]: building runc {buildkit.runc_version} (and BuildKit, without a release "
            f"archive) from its Go module needs `go` and `gcc` (with a static libc: Debian's "
            f"libc6-dev) on [buildkit].search_path ({':'.join(search.paths)})"
        )
    debian = await Get(DebianTools)
    parts = []
    if release is not None:
        downloaded = await Get(
            DownloadedExternalTool, ExternalToolRequest(release, exe="bin/buildctl")
        )
        binaries = await Get(Digest, DigestSubset(downloaded.digest, PathGlobs(["bin/buildctl", "bin/buildkitd"])))
        parts.append(await Get(Digest, RemovePrefix(binaries, "bin")))
    build_input = await Get(
        Digest,
        MergeDigests([
            debian.digest,
            await Get(Digest, CreateDigest([FileContent("build-tools.sh", packaged_script("build-tools.sh"))])),
        ]),
    )  # fmt: skip
    built = await Get(
        ProcessResult,
        Process(
            argv=["/bin/bash", "build-tools.sh"],
            input_digest=build_input,
            env={
                **go_env(buildkit),
                "GO": go,
                "CC": cc,
                "OUT": "{chroot}/out",
                "LIBSECCOMP": "{chroot}/libseccomp",
                "BUILDKIT_MODULE": buildkit.module,
                "RUNC_VERSION": buildkit.runc_version,
                **({} if release else {"BUILDKIT_VERSION": buildkit.version}),
            },
            append_only_caches=GO_CACHES,
            output_directories=("out",),
            description=(
                f"Build runc {buildkit.runc_version} from its Go module" if release
                else f"Build BuildKit {buildkit.version} and runc {buildkit.runc_version} from their Go modules"
            ),
            level=LogLevel.INFO,
            timeout_seconds=1800,
        ),
    )
    parts.append(await Get(Digest, RemovePrefix(built.output_digest, "out")))
    parts.append(await Get(Digest, RemovePrefix(
        await Get(Digest, DigestSubset(debian.digest, PathGlobs(["qemu/*"]))), "qemu")))  # fmt: skip
    binaries = await Get(Digest, MergeDigests(parts))
    wrapper = await Get(
        Digest,
        CreateDigest([
            FileContent("lk-buildctl", packaged_script("lk-buildctl.sh"), is_executable=True),
            # What lk-buildctl compares with its running daemon's, to restart it on a change.
            FileContent("fingerprint", f"{binaries.fingerprint}\n".encode()),
        ]),
    )  # fmt: skip
    digest = await Get(Digest, MergeDigests([binaries, wrapper]))
    return BuildkitTools(digest=digest, version=buildkit.version, path=STANDARD_PATH)


def rules():
    return collect_rules()
