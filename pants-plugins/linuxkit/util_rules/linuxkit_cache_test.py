from __future__ import annotations

from pathlib import Path

import pytest

from linuxkit.pkglib import cache_lookup
from linuxkit.pkglib import linuxkit_cache as lc
from linuxkit.pkglib.oci_fixtures import NAME, Image, buildctl_tar, digest
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules import linuxkit_cache, pkglib_process
from linuxkit.util_rules.linuxkit_cache import CachedPlatform, CachedPlatformRequest
from pants.testutil.rule_runner import QueryRule, RuleRunner


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(
        rules=[
            *linuxkit_cache.rules(),
            *pkglib_process.rules(),
            *LinuxkitSubsystem.rules(),
            QueryRule(CachedPlatform, [CachedPlatformRequest]),
        ]
    )


def store(cache: lc.LinuxkitCache, tmp_path: Path, inputs: str, *images: Image) -> None:
    tars = []
    for image in images:
        tar = tmp_path / f"{image.arch}-{digest(image.manifest)[7:15]}.tar"
        tar.write_bytes(buildctl_tar(image))
        tars.append(str(tar))
    cache_lookup.store_build(cache, NAME, inputs, tars)


def lookup(rule_runner: RuleRunner, arch: str, inputs: str = "") -> str | None:
    # A new session, as each run under pantsd is one: the graph keeps what did not change.
    rule_runner.set_options([f"--linuxkit-cache={rule_runner.build_root}/cache"])
    return rule_runner.request(CachedPlatform, [CachedPlatformRequest(NAME, arch, inputs)]).digest


def test_lookups_follow_the_cache_from_run_to_run(rule_runner: RuleRunner, tmp_path: Path) -> None:
    cache_dir = Path(rule_runner.build_root, "cache")
    assert lookup(rule_runner, "amd64") is None  # no cache yet

    cache = lc.open_cache(cache_dir)
    first, second = Image("amd64", "1"), Image("amd64", "2")
    store(cache, tmp_path, "", first)
    assert lookup(rule_runner, "amd64") == digest(first.manifest)
    assert lookup(rule_runner, "amd64") == digest(first.manifest)

    store(cache, tmp_path, "", second)  # another writer replaced the platform
    assert lookup(rule_runner, "amd64") == digest(second.manifest)

    store(cache, tmp_path, "X", Image("arm64"))
    assert lookup(rule_runner, "amd64", "X") is None  # built before the inputs were recorded
    assert lookup(rule_runner, "arm64", "X") == digest(Image("arm64").manifest)

    cache.index_path.write_text("{not json")
    assert lookup(rule_runner, "arm64", "X") is None  # unreadable: nothing comes from the cache
