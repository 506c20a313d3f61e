"""The index assembly rule, run for real by pkglib's runner (a local process, no daemon)."""

from __future__ import annotations

import json

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.oci_archive_test import buildctl_tar, digest, make_image
from linuxkit.util_rules import oci_index, pkglib_process
from linuxkit.util_rules.oci_index import OciIndex, OciIndexRequest
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

NAME = "docker.io/linuxkit/foo:abc"


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(
        rules=[
            *oci_index.rules(),
            *pkglib_process.rules(),
            QueryRule(OciIndex, [OciIndexRequest]),
            QueryRule(Digest, [CreateDigest]),
            QueryRule(DigestContents, [Digest]),
        ]
    )


def tars(rule_runner: RuleRunner, files: dict[str, bytes]) -> Digest:
    return rule_runner.request(Digest, [CreateDigest([FileContent(p, c) for p, c in files.items()])])


def test_assembles_one_index_over_every_platform(rule_runner: RuleRunner) -> None:
    arm, amd = make_image("arm64"), make_image("amd64", b"other-layer")
    digest_in = tars(rule_runner, {
        "arm64.tar": buildctl_tar(arm, name=f"{NAME}-arm64"),
        "amd64.tar": buildctl_tar(amd, name=f"{NAME}-amd64"),
    })  # fmt: skip
    index = rule_runner.request(OciIndex, [OciIndexRequest(NAME, ("linux/amd64", "linux/arm64"), digest_in)])
    assert dict(index.manifests) == {"linux/amd64": digest(amd["manifest"]), "linux/arm64": digest(arm["manifest"])}
    (archive,) = rule_runner.request(DigestContents, [index.archive])
    assert archive.path == "image.oci.tar"
    layout = {c.path: c.content for c in rule_runner.request(DigestContents, [index.layout])}
    root = json.loads(layout["layout/index.json"])["manifests"]
    assert index.digest in [d["digest"] for d in root]  # beside each `<name>-<arch>`


def test_a_broken_platform_tar_is_one_line(rule_runner: RuleRunner) -> None:
    digest_in = tars(rule_runner, {"arm64.tar": b"not a tar"})
    with pytest.raises(ExecutionError) as e:
        rule_runner.request(OciIndex, [OciIndexRequest(NAME, ("linux/arm64",), digest_in)])
    assert f"LinuxkitError: {NAME}: cannot assemble the index: " in str(e.value)
    assert "Traceback" not in str(e.value).split("LinuxkitError")[1]
