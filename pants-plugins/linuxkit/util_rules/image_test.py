"""The package build rule, with every step mocked: what it asks BuildKit, the cache and the
registry for, and what it assembles."""

from __future__ import annotations

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.build_context import BuildContext, BuildContextRequest
from linuxkit.util_rules.build_settings import BuildSettings, BuildSettingsRequest, ReferencedPackages
from linuxkit.util_rules.buildctl import BaseImage, BuiltPlatform, PlatformBuildRequest, buildctl_build_argv
from linuxkit.util_rules.image import LinuxkitImage, LinuxkitImageRequest, build_linuxkit_image
from linuxkit.util_rules.linuxkit_cache import (
    ExportedFromCache,
    ExportFromCacheRequest,
    WriteToCacheRequest,
    WrittenToCache,
)
from linuxkit.util_rules.oci_index import OciIndex, OciIndexRequest
from linuxkit.util_rules.platform_plan import PlatformPlan, PlatformPlanRequest
from linuxkit.pkglib.mirrors import parse_mirrors
from linuxkit.util_rules.registry_mirrors import RegistryMirrors
from linuxkit.util_rules.remote_image import PullAttestationsRequest, PullPlatformRequest
from linuxkit.util_rules.tag import LinuxkitOverrides
from linuxkit.util_rules.testing import package_tag
from pants.engine.addresses import Address
from pants.engine.fs import EMPTY_DIGEST, AddPrefix, Digest, MergeDigests
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

OVERRIDES = LinuxkitOverrides(None, None, None, "HEAD", None, False)


def build(plan: PlatformPlan, *, overrides=OVERRIDES, dockerfile="FROM scratch\n", referenced=None,
          mirrors=RegistryMirrors(FrozenDict()), base_image=None, rewrite_timestamp=False, **options):  # fmt: skip
    tag = package_tag(arches=("amd64", "arm64", "s390x"))
    seen: dict[str, list] = {"plan": [], "builds": [], "exports": [], "pulls": [], "attestation pulls": [],
                             "writes": [], "index": []}  # fmt: skip

    def record(key, value):
        seen[key].append(value)
        return value

    settings = BuildSettings(
        tag=tag, referenced=referenced or ReferencedPackages(FrozenDict(), FrozenDict()),
        build_args=FrozenDict({"A": "1"}), labels=FrozenDict({"l": "v"}), network=True, no_cache=False,
        rewrite_timestamp=rewrite_timestamp,
    )  # fmt: skip
    image = run_rule_with_mocks(
        build_linuxkit_image,
        rule_args=[LinuxkitImageRequest(Address("pkg/foo")),
                   create_subsystem(LinuxkitSubsystem, **{"platforms": [], "skip_platforms": [], "force": False, **options}),
                   overrides, mirrors],
        mock_gets=[
            MockGet(output_type=BuildSettings, input_types=(BuildSettingsRequest,), mock=lambda _: settings),
            MockGet(output_type=BuildContext, input_types=(BuildContextRequest,),
                    mock=lambda _: BuildContext(EMPTY_DIGEST, "Dockerfile", dockerfile)),
            MockGet(output_type=LinuxkitImage, input_types=(LinuxkitImageRequest,), mock=lambda r: base_image or pytest.fail(r)),
            MockGet(output_type=PlatformPlan, input_types=(PlatformPlanRequest,),
                    mock=lambda r: record("plan", r) and plan),
            MockGet(output_type=Digest, input_types=(AddPrefix,), mock=lambda _: EMPTY_DIGEST),
            MockGet(output_type=Digest, input_types=(MergeDigests,), mock=lambda _: EMPTY_DIGEST),
            MockGet(output_type=BuiltPlatform, input_types=(PlatformBuildRequest,),
                    mock=lambda r: record("builds", r) and BuiltPlatform(EMPTY_DIGEST)),
            MockGet(output_type=ExportedFromCache, input_types=(ExportFromCacheRequest,),
                    mock=lambda r: record("exports", r) and ExportedFromCache(EMPTY_DIGEST)),
            MockGet(output_type=Digest, input_types=(PullPlatformRequest,),
                    mock=lambda r: record("pulls", r) and EMPTY_DIGEST),
            MockGet(output_type=Digest, input_types=(PullAttestationsRequest,),
                    mock=lambda r: record("attestation pulls", r) and EMPTY_DIGEST),
            MockGet(output_type=WrittenToCache, input_types=(WriteToCacheRequest,),
                    mock=lambda r: record("writes", r) and WrittenToCache("sha256:w", FrozenDict({t: f"sha256:{t}" for t in r.tars}))),
            MockGet(output_type=OciIndex, input_types=(OciIndexRequest,),
                    mock=lambda r: record("index", r) and OciIndex(EMPTY_DIGEST, EMPTY_DIGEST, "sha256:i", FrozenDict())),
        ],
    )  # fmt: skip
    return image, seen


def test_builds_only_what_the_plan_says_and_indexes_every_platform() -> None:
    plan = PlatformPlan(FrozenDict({"linux/amd64": EMPTY_DIGEST}), FrozenDict({"linux/arm64": "sha256:r"}), ("linux/s390x",))
    image, seen = build(plan)
    (plan_request,) = seen["plan"]
    assert plan_request == PlatformPlanRequest(
        "docker.io/linuxkit/foo:abc", ("linux/amd64", "linux/arm64", "linux/s390x"), "", False
    )
    (build_request,) = seen["builds"]
    assert (build_request.platform, build_request.network, dict(build_request.build_args)) == (
        "linux/s390x", True, {"A": "1"},
    )
    assert build_request.force == "" and build_request.bases == ()
    # The built platform is taken back out of the cache, as the next run will take it.
    assert [(e.arch, e.digest, e.output) for e in seen["exports"]] == [("s390x", "sha256:s390x.tar", "s390x.tar")]
    assert [(p.arch, p.digest) for p in seen["pulls"]] == [("arm64", "sha256:r")]
    # with its SBOM attestations, which the index assembly adds to arm64.tar
    assert [(p.arch, p.digest, p.output) for p in seen["attestation pulls"]] == [("arm64", "sha256:r", "arm64.att.tar")]
    assert [w.tars for w in seen["writes"]] == [("s390x.tar",)]
    assert seen["index"][0].platforms == ("linux/amd64", "linux/arm64", "linux/s390x")
    assert (image.built, image.pulled, image.index_digest) == (("linux/s390x",), ("linux/arm64",), "sha256:i")


def test_nothing_to_build_writes_nothing_to_the_cache() -> None:
    plan = PlatformPlan(FrozenDict({p: EMPTY_DIGEST for p in ("linux/amd64", "linux/arm64", "linux/s390x")}), FrozenDict(), ())
    _, seen = build(plan)
    assert not seen["builds"] and not seen["writes"] and not seen["exports"]


def test_force_gives_every_build_a_fresh_token() -> None:
    plan = PlatformPlan(FrozenDict(), FrozenDict(), ("linux/amd64",))
    _, seen = build(plan, force=True)
    assert seen["plan"][0].force is True and len(seen["builds"][0].force) == 32


def test_a_hash_commit_other_than_head_cannot_build() -> None:
    with pytest.raises(LinuxkitError, match="cannot build from commit hash != HEAD"):
        build(PlatformPlan(FrozenDict(), FrozenDict(), ()), overrides=OVERRIDES.__class__(None, None, None, "HEAD~1", None, False))


def test_base_images_buildkit_pulls_go_through_the_mirror() -> None:
    mirrors = RegistryMirrors(FrozenDict(parse_mirrors([("docker.io=http://127.0.0.1:5001", "m")])))
    dockerfile = "FROM alpine:3.20 AS a\nFROM a\nFROM quay.io/x/y:1\nFROM scratch\n"
    _, seen = build(PlatformPlan(FrozenDict(), FrozenDict(), ("linux/amd64",)), dockerfile=dockerfile, mirrors=mirrors)
    assert seen["builds"][0].mirrored_bases == (("alpine:3.20", "127.0.0.1:5001/library/alpine:3.20"),)


def test_pins_of_a_referenced_package_come_from_its_build_a_per_arch_pin_by_its_manifest() -> None:
    base = Address("pkg/base")
    referenced = ReferencedPackages(FrozenDict(), FrozenDict({
        "docker.io/linuxkit/base:t": (base, ""), "docker.io/linuxkit/base:t-arm64": (base, "arm64")}))  # fmt: skip
    base_image = LinuxkitImage(
        tag=package_tag(), platforms=("linux/amd64", "linux/arm64"), built=(), pulled=(),
        layout=EMPTY_DIGEST, archive=EMPTY_DIGEST, index_digest="sha256:bi",
        manifests=FrozenDict({"linux/amd64": "sha256:bamd", "linux/arm64": "sha256:barm"}),
    )
    dockerfile = ("FROM linuxkit/base:t\nCOPY --from=linuxkit/base:t-arm64 /x /x\n"
                  "RUN --mount=from=alpine:3.20,target=/a true\n")  # fmt: skip
    _, seen = build(PlatformPlan(FrozenDict(), FrozenDict(), ("linux/amd64",)), dockerfile=dockerfile,
                    referenced=referenced, base_image=base_image)  # fmt: skip
    assert seen["builds"][0].bases == (
        BaseImage("linuxkit/base:t", "__bases/0/layout", "sha256:bi"),
        BaseImage("linuxkit/base:t-arm64", "__bases/1/layout", "sha256:barm"),
    )


@pytest.mark.parametrize("rewrite", [True, False])
def test_the_settings_rewrite_timestamp_reaches_every_buildctl_output(rewrite: bool) -> None:
    _, seen = build(PlatformPlan(FrozenDict(), FrozenDict(), ("linux/amd64", "linux/s390x")), rewrite_timestamp=rewrite)
    outputs = [buildctl_build_argv(r)[-1] for r in seen["builds"]]
    assert len(outputs) == 2 and all(o.endswith(",rewrite-timestamp=true") == rewrite for o in outputs)
