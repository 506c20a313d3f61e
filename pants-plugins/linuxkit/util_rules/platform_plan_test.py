from __future__ import annotations

from linuxkit.util_rules.linuxkit_cache import (
    CachedPlatform,
    CachedPlatformRequest,
    ExportedFromCache,
    ExportFromCacheRequest,
)
from linuxkit.util_rules.platform_plan import PlatformPlan, PlatformPlanRequest, platform_plan
from linuxkit.util_rules.remote_image import RemotePlatform, RemotePlatformRequest
from pants.engine.fs import EMPTY_DIGEST
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks

PLATFORMS = ("linux/amd64", "linux/arm64", "linux/s390x")


def plan(request: PlatformPlanRequest, cached: dict, remote: dict, unusable=()) -> tuple[PlatformPlan, list]:
    asked_remote: list[str] = []

    def export(r: ExportFromCacheRequest) -> ExportedFromCache:
        assert r.digest == cached[r.arch] and r.output == f"{r.arch}.tar"
        return ExportedFromCache(None, "blob corrupt") if r.arch in unusable else ExportedFromCache(EMPTY_DIGEST)

    def remote_lookup(r: RemotePlatformRequest) -> RemotePlatform:
        asked_remote.append(r.arch)
        return RemotePlatform(remote.get(r.arch))

    result = run_rule_with_mocks(
        platform_plan,
        rule_args=[request],
        mock_gets=[
            MockGet(output_type=CachedPlatform, input_types=(CachedPlatformRequest,),
                    mock=lambda r: CachedPlatform(cached.get(r.arch))),  # fmt: skip
            MockGet(output_type=RemotePlatform, input_types=(RemotePlatformRequest,), mock=remote_lookup),
            MockGet(output_type=ExportedFromCache, input_types=(ExportFromCacheRequest,), mock=export),
        ],
    )
    return result, asked_remote


def test_cache_then_registry_then_build() -> None:
    result, asked = plan(
        PlatformPlanRequest("docker.io/x/y:t", PLATFORMS, "", False),
        cached={"amd64": "sha256:c"}, remote={"arm64": "sha256:r"},
    )  # fmt: skip
    assert dict(result.from_cache) == {"linux/amd64": EMPTY_DIGEST}
    assert dict(result.published) == {"linux/arm64": "sha256:r"}
    assert result.to_build == ("linux/s390x",)
    assert asked == ["arm64", "s390x"]


def test_force_builds_everything_and_looks_nowhere() -> None:
    result, asked = plan(
        PlatformPlanRequest("docker.io/x/y:t", PLATFORMS, "", True),
        cached={"amd64": "sha256:c"}, remote={"arm64": "sha256:r"},
    )  # fmt: skip
    assert result.to_build == PLATFORMS and not result.from_cache and not asked


def test_packages_with_inputs_never_come_from_the_registry() -> None:
    result, asked = plan(
        PlatformPlanRequest("docker.io/x/y:t", PLATFORMS, "f1ng3r", False),
        cached={"amd64": "sha256:c"}, remote={"arm64": "sha256:r"},
    )  # fmt: skip
    assert not asked and result.to_build == ("linux/arm64", "linux/s390x")


def test_an_unusable_cache_entry_is_built() -> None:
    result, asked = plan(
        PlatformPlanRequest("docker.io/x/y:t", PLATFORMS, "f1ng3r", False),
        cached={"amd64": "sha256:c", "arm64": "sha256:d"}, remote={}, unusable={"arm64"},
    )  # fmt: skip
    assert dict(result.from_cache) == {"linux/amd64": EMPTY_DIGEST}
    assert result.to_build == ("linux/arm64", "linux/s390x")
