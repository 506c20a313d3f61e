from __future__ import annotations

from types import SimpleNamespace

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.buildkit import BuildkitSubsystem
from linuxkit.util_rules.buildkit_tools import (
    BuildkitTools,
    DebianTools,
    SearchPaths,
    Tool,
    ToolRequest,
    buildkit_tools,
    debian_tools,
    find_tool,
)
from pants.core.util_rules.external_tool import DownloadedExternalTool, ExternalToolRequest
from pants.core.util_rules.system_binaries import BinaryPath, BinaryPathRequest, BinaryPaths
from pants.engine.fs import (
    EMPTY_DIGEST,
    CreateDigest,
    Digest,
    DigestSubset,
    MergeDigests,
    RemovePrefix,
)
from pants.engine.platform import Platform
from pants.engine.process import Process, ProcessResult
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks

SEARCH = SearchPaths(("/usr/bin", "/bin"))


def binaries(*present: str):
    def find(request: BinaryPathRequest) -> BinaryPaths:
        found = [BinaryPath(f"/usr/bin/{request.binary_name}")] if request.binary_name in present else []
        return BinaryPaths(request.binary_name, found)

    return MockGet(output_type=BinaryPaths, input_types=(BinaryPathRequest,), mock=find)


def tools(*present: str):
    """Get(Tool, ToolRequest) answered by the real `find_tool`, with only `present` on the path."""

    def find(request: ToolRequest) -> Tool:
        return run_rule_with_mocks(find_tool, rule_args=[request, SEARCH], mock_gets=[binaries(*present)])

    return MockGet(output_type=Tool, input_types=(ToolRequest,), mock=find)


def process_mocks(processes: list[Process]):
    def run(process: Process):
        processes.append(process)
        return SimpleNamespace(output_digest=EMPTY_DIGEST)

    return [
        MockGet(output_type=Digest, input_types=(CreateDigest,), mock=lambda _: EMPTY_DIGEST),
        MockGet(output_type=Digest, input_types=(RemovePrefix,), mock=lambda _: EMPTY_DIGEST),
        MockGet(output_type=ProcessResult, input_types=(Process,), mock=run),
    ]


def tools_mocks(processes: list[Process]):
    return [
        *process_mocks(processes),
        MockGet(output_type=Digest, input_types=(MergeDigests,), mock=lambda _: EMPTY_DIGEST),
        MockGet(output_type=Digest, input_types=(DigestSubset,), mock=lambda _: EMPTY_DIGEST),
        MockGet(output_type=DebianTools, input_types=(), mock=lambda: DebianTools(EMPTY_DIGEST)),
        MockGet(output_type=DownloadedExternalTool, input_types=(ExternalToolRequest,), mock=None),
    ]


def buildkit(**options) -> BuildkitSubsystem:
    defaults = dict(version="v0.32.2", runc_version="v1.2.6", module="github.com/moby/buildkit",
                    goproxy="https://proxy.golang.org", known_versions=[], url_template="",
                    url_platform_mapping={}, search_path=[])  # fmt: skip
    return create_subsystem(BuildkitSubsystem, **{**defaults, **options})


def test_debian_tools_without_apt_get_is_one_line() -> None:
    with pytest.raises(LinuxkitError) as error:
        run_rule_with_mocks(
            debian_tools,
            rule_args=[SEARCH, Platform.linux_x86_64],
            mock_gets=[binaries("dpkg-deb"), *process_mocks([])],
        )
    assert "\n" not in str(error.value)
    assert "`apt-get download`" in str(error.value) and "/usr/bin:/bin" in str(error.value)


def test_debian_tools_fetches_the_foreign_emulators() -> None:
    processes: list[Process] = []
    run_rule_with_mocks(
        debian_tools,
        rule_args=[SEARCH, Platform.linux_x86_64],
        mock_gets=[binaries("apt-get", "dpkg-deb"), *process_mocks(processes)],
    )
    (process,) = processes
    assert process.argv == ("/bin/bash", "fetch-debs.sh", "out", "aarch64", "s390x", "riscv64")


def test_buildkit_tools_without_a_c_compiler_is_one_line() -> None:
    with pytest.raises(LinuxkitError) as error:
        run_rule_with_mocks(
            buildkit_tools,
            rule_args=[buildkit(), SEARCH, Platform.linux_x86_64],
            mock_gets=[binaries("go"), *tools_mocks([])],
        )
    assert "\n" not in str(error.value) and "`gcc`" in str(error.value)


def test_buildkit_tools_builds_buildkit_and_a_static_runc() -> None:
    processes: list[Process] = []
    tools = run_rule_with_mocks(
        buildkit_tools,
        rule_args=[buildkit(), SEARCH, Platform.linux_x86_64],
        mock_gets=[binaries("go", "gcc"), *tools_mocks(processes)],
    )
    assert isinstance(tools, BuildkitTools) and tools.version == "v0.32.2"
    (build,) = processes
    assert build.argv == ("/bin/bash", "build-tools.sh")
    assert build.env["BUILDKIT_VERSION"] == "v0.32.2" and build.env["RUNC_VERSION"] == "v1.2.6"
    assert build.env["GO"] == "/usr/bin/go" and build.env["CC"] == "/usr/bin/gcc"
    # Nothing machine-specific beyond the tools' paths: the sandbox's own paths are {chroot}.
    assert all(v.startswith("{chroot}") for k, v in build.env.items() if k in ("OUT", "LIBSECCOMP", "GOCACHE"))
    assert tools.append_only_caches == {"linuxkit_buildkitd": ".buildkitd"}
