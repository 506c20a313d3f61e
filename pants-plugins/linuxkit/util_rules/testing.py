"""Fake process results and build settings for rule tests (`run_rule_with_mocks`), and a real git
repo for RuleRunners."""

from __future__ import annotations

import subprocess

from pants.engine.fs import EMPTY_DIGEST, EMPTY_FILE_DIGEST, Digest
from pants.engine.process import FallibleProcessResult


def process_result(exit_code: int, stdout: bytes = b"", stderr: bytes = b"", output: Digest = EMPTY_DIGEST):
    return FallibleProcessResult(
        stdout=stdout, stdout_digest=EMPTY_FILE_DIGEST, stderr=stderr, stderr_digest=EMPTY_FILE_DIGEST,
        exit_code=exit_code, output_digest=output, metadata=None,  # type: ignore[arg-type]
    )  # fmt: skip


def ok_result(stdout: bytes = b"", output: Digest = EMPTY_DIGEST) -> FallibleProcessResult:
    return process_result(0, stdout=stdout, output=output)


def failed_result(stderr: str) -> FallibleProcessResult:
    return process_result(1, stderr=stderr.encode())


def package_tag(directory: str = "pkg/foo", **build_yml) -> "LinuxkitTag":
    """A resolved package as the tag rule gives it: in git, clean, hash `abc`."""
    from linuxkit.pkglib.build_yml import BuildYml
    from linuxkit.pkglib.git_state import PackageGitHash
    from linuxkit.pkglib.names import package_name
    from linuxkit.util_rules.package_info import LinuxkitPackageInfo
    from linuxkit.util_rules.tag import LinuxkitTag
    from pants.engine.addresses import Address

    definition = BuildYml(**{"image": "foo", "org": "linuxkit", **build_yml})
    info = LinuxkitPackageInfo(Address(directory), directory, f"{directory}/build.yml", definition)
    git = PackageGitHash(in_git=True, pkg_hash="abc", dirty=False, revision="c0ffee",
                         go_pkg_version="v0.0.0-20260101000000-c0ffee000000")  # fmt: skip
    return LinuxkitTag(info, package_name(definition.org, definition.image, definition.tag, "abc"), git)


GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}


def git(build_root: str, *args: str) -> str:
    """`git -C build_root args`: stdout, stripped."""
    return subprocess.run(["git", "-C", build_root, *args], env=GIT_ENV, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip


def commit_build_root(build_root: str) -> None:
    """Make `build_root` (a RuleRunner's) a git repository with everything in it committed."""
    git(build_root, "init", "-q", "-b", "main")
    git(build_root, "add", "-A")
    git(build_root, "commit", "-qm", "one")


EPOCH = 1767225600  # 2026-01-01T00:00:00Z: the SOURCE_DATE_EPOCH build_settings_for gives


def build_settings_for(tag: "LinuxkitTag", *, env=None, names=None, files=None, epochs=None, overrides=None,
                       **options) -> "BuildSettings":  # fmt: skip
    """What the build settings rule makes of `tag`, this environment, referenced package names
    (directory -> (`org/image`, `org/image:tag`)), build arg files (path -> args) and options.
    The package's SOURCE_DATE_EPOCH is EPOCH; `epochs` collects the requests for it."""
    from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
    from linuxkit.util_rules.build_settings import (
        BuildArgFile, BuildArgFileRequest, BuildSettingsRequest, ReferencedPackages,
        ReferencedPackagesRequest, build_settings,
    )  # fmt: skip
    from linuxkit.util_rules.git_hash import SourceDateEpoch, SourceDateEpochRequest
    from linuxkit.util_rules.tag import LinuxkitOverrides, LinuxkitTag, LinuxkitTagRequest
    from pants.engine.addresses import Address
    from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
    from pants.testutil.option_util import create_subsystem
    from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
    from pants.util.frozendict import FrozenDict

    defaults = {"build_args": [], "build_arg_file": list(files or {}), "network": None,
                "disable_cache": None, "ssh": [], "reproducible": True}  # fmt: skip
    asked = epochs if epochs is not None else []
    return run_rule_with_mocks(
        build_settings,
        rule_args=[BuildSettingsRequest(Address("pkg/foo")), create_subsystem(LinuxkitSubsystem, **{**defaults, **options}),
                   overrides or LinuxkitOverrides(None, None, None, "HEAD", None, False)],
        mock_gets=[
            MockGet(output_type=SourceDateEpoch, input_types=(SourceDateEpochRequest,),
                    mock=lambda r: asked.append(r) or SourceDateEpoch(EPOCH)),
            MockGet(output_type=BuildArgFile, input_types=(BuildArgFileRequest,),
                    mock=lambda r: BuildArgFile(FrozenDict(files[r.path]))),
            MockGet(output_type=LinuxkitTag, input_types=(LinuxkitTagRequest,), mock=lambda _: tag),
            MockGet(output_type=ReferencedPackages, input_types=(ReferencedPackagesRequest,),
                    mock=lambda _: ReferencedPackages(FrozenDict(names or {}), FrozenDict())),
            MockGet(output_type=EnvironmentVars, input_types=(EnvironmentVarsRequest,),
                    mock=lambda _: EnvironmentVars(env or {})),
        ],
    )  # fmt: skip
