from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.buildctl import BuildctlProcess
from linuxkit.util_rules.builders import PlatformBuilder, PlatformBuilderRequest
from linuxkit.util_rules.buildkit_tools import packaged_script
from linuxkit.util_rules.sbom_generator import SbomGenerator, check_scanner_reference
from linuxkit.util_rules.sbom_scanner import (
    SbomScannerBinaries,
    SbomScannerImage,
    layout_manifest,
    sbom_generator,
    sbom_scanner_image,
)
from linuxkit.util_rules.testing import ok_result
from pants.engine.fs import (
    EMPTY_DIGEST,
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    MergeDigests,
    RemovePrefix,
)
from pants.engine.platform import Platform
from pants.engine.process import Process, ProcessResult
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

MANIFEST = "sha256:" + "e" * 64
LAYOUT = Digest("f" * 64, 3)


def choose(value: str) -> SbomGenerator:
    image = SbomScannerImage(LAYOUT, MANIFEST)
    return run_rule_with_mocks(
        sbom_generator,
        rule_args=[create_subsystem(LinuxkitSubsystem, sbom_scanner=value)],
        mock_gets=[MockGet(output_type=SbomScannerImage, input_types=(), mock=lambda: image)],
    )


def test_default_is_the_backends_own_image_by_digest() -> None:
    generator = choose("")
    assert generator.reference == f"localhost/pants-linuxkit/sbom-scanner@{MANIFEST}"
    assert dict(generator.immutable_inputs) == {"__sbom_scanner": LAYOUT}
    assert dict(generator.env) == {
        "LINUXKIT_SBOM_SCANNER_IMAGE": generator.reference, "LINUXKIT_SBOM_SCANNER_LAYOUT": "__sbom_scanner"
    }  # fmt: skip


@pytest.mark.parametrize("value", ["false", "FALSE", " false "])
def test_false_turns_sboms_off(value: str) -> None:
    assert choose(value) == SbomGenerator("")


@pytest.mark.parametrize("value", ["docker/buildkit-syft-scanner:stable-1", f"r.example:5000/s/c@{MANIFEST}"])
def test_another_image_is_named_and_nothing_is_loaded(value: str) -> None:
    generator = choose(value)
    assert generator == SbomGenerator(value) and dict(generator.env) == {}


@pytest.mark.parametrize(
    "value, why",
    [("Upper/Case", "must be lowercase"), ("a/b@sha256:zz", "invalid digest"), ("a b", "invalid"),
     ("x:bad tag!", "invalid tag")],
)  # fmt: skip
def test_a_bad_reference_is_one_line_naming_the_option(value: str, why: str) -> None:
    with pytest.raises(LinuxkitError) as e:
        check_scanner_reference(value)
    message = str(e.value)
    assert message.startswith(f"[linuxkit].sbom_scanner: {value!r} is neither `false` nor an image reference")
    assert why in message and "\n" not in message


def test_layout_manifest_reads_the_single_image_and_refuses_anything_else() -> None:
    index = {"schemaVersion": 2, "manifests": [{"digest": MANIFEST, "mediaType": "m", "size": 1}]}
    assert layout_manifest(json.dumps(index).encode()) == MANIFEST
    for bad in (b"", b"{}", b'{"manifests": []}', b'{"manifests": [{"digest": "sha256:x"}]}'):
        with pytest.raises(LinuxkitError, match="^the SBOM generator image's OCI layout has a malformed index.json"):
            layout_manifest(bad)


def test_the_image_is_assembled_reproducibly_by_the_hosts_builder() -> None:
    seen: list = []
    builder = PlatformBuilder("", FrozenDict())

    def make_process(request: BuildctlProcess) -> Process:
        seen.append(request)
        return Process(argv=("buildctl", *request.args), description=request.description)

    index = json.dumps({"manifests": [{"digest": MANIFEST}]}).encode()
    image = run_rule_with_mocks(
        sbom_scanner_image,
        rule_args=[Platform.linux_arm64],
        mock_gets=[
            MockGet(output_type=SbomScannerBinaries, input_types=(), mock=lambda: SbomScannerBinaries(EMPTY_DIGEST)),
            MockGet(output_type=Digest, input_types=(CreateDigest,), mock=lambda _: EMPTY_DIGEST),
            MockGet(output_type=Digest, input_types=(MergeDigests,), mock=lambda _: EMPTY_DIGEST),
            MockGet(output_type=Digest, input_types=(AddPrefix,), mock=lambda _: EMPTY_DIGEST),
            MockGet(output_type=Digest, input_types=(RemovePrefix,), mock=lambda _: LAYOUT),
            MockGet(output_type=PlatformBuilder, input_types=(PlatformBuilderRequest,),
                    mock=lambda r: seen.append(r) or builder),
            MockGet(output_type=Process, input_types=(BuildctlProcess,), mock=make_process),
            MockGet(output_type=ProcessResult, input_types=(Process,), mock=lambda _: ok_result()),
            MockGet(output_type=DigestContents, input_types=(DigestSubset,),
                    mock=lambda _: DigestContents([FileContent("index.json", index)])),
        ],
    )  # fmt: skip
    assert image == SbomScannerImage(LAYOUT, MANIFEST)
    platform_request, process = seen
    assert platform_request == PlatformBuilderRequest("linux/arm64")
    assert "build-arg:SOURCE_DATE_EPOCH=0" in process.args
    assert process.args[-1] == "type=oci,dest=layout,tar=false,rewrite-timestamp=true"
    assert process.output_directories == ("layout",)


# lk-sbom-scan itself, built with this machine's `go` and run against a stand-in for syft that
# writes what syft writes (a random namespace UUID and the wall clock in `created`).
FAKE_SYFT = """#!/bin/sh
out=$(echo "$@" | sed -n 's/.*spdx-json=\\([^ ]*\\).*/\\1/p')
cat >"$out" <<EOF
{"spdxVersion":"SPDX-2.3","name":"sbom","documentNamespace":"https://anchore.com/syft/dir/sbom-$(cat /proc/sys/kernel/random/uuid)",
 "creationInfo":{"created":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","creators":["Tool: syft-1.57.1"]},
 "files":[{"fileName":"etc/hello","size":12345678901234567890}]}
EOF
echo "$*" >"$SYFT_ARGS"
"""


@pytest.fixture(scope="module")
def scanner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.access(go, os.X_OK):
        pytest.skip("no `go` to build lk-sbom-scan with")
    work = tmp_path_factory.mktemp("scanner")
    (work / "sbom_scanner.go").write_bytes(packaged_script("sbom_scanner.go"))
    (work / "syft").write_text(FAKE_SYFT)
    (work / "syft").chmod(0o755)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", "GOCACHE": str(work / "gocache"),
           "HOME": str(work)}  # fmt: skip
    subprocess.run([go, "build", "-o", "lk-sbom-scan", "sbom_scanner.go"], cwd=work, env=env, check=True)
    return work


def scan(scanner: Path, out: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(scanner / "lk-sbom-scan")], capture_output=True, text=True, timeout=60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LK_SYFT": str(scanner / "syft"), "BUILDKIT_SCAN_SOURCE": "/run/src/core/sbom",
             "BUILDKIT_SCAN_DESTINATION": str(out), "SYFT_ARGS": str(out) + ".args", **env},
    )  # fmt: skip


def test_lk_sbom_scan_writes_a_reproducible_spdx_statement(scanner: Path, tmp_path: Path) -> None:
    outputs = []
    for run in ("1", "2"):
        result = scan(scanner, tmp_path / run)
        assert result.returncode == 0, result.stderr
        outputs.append((tmp_path / run / "sbom.spdx.json").read_bytes())
    assert outputs[0] == outputs[1]  # no clock, no random UUID
    statement = json.loads(outputs[0])
    assert statement["_type"] == "https://in-toto.io/Statement/v0.1"
    assert statement["predicateType"] == "https://spdx.dev/Document" and statement["subject"] == []
    spdx = statement["predicate"]
    assert spdx["creationInfo"]["created"] == "1970-01-01T00:00:00Z"
    assert spdx["documentNamespace"].startswith("https://anchore.com/syft/dir/sbom-")
    namespace = spdx["documentNamespace"]  # a name-based UUID: version 5, RFC 4122 variant
    assert namespace[-23:-21] == "-5" and namespace[-18:-16] in {"-8", "-9", "-a", "-b"}
    assert b'"size":12345678901234567890' in outputs[0]  # numbers are kept as written
    args = (tmp_path / "1.args").read_text()
    assert args.startswith("scan --quiet --source-name sbom --output spdx-json=")
    assert args.endswith(" dir:/run/src/core/sbom\n")


@pytest.mark.parametrize("name", ["BUILDKIT_SCAN_SOURCE_DATE_EPOCH", "SOURCE_DATE_EPOCH"])
def test_lk_sbom_scan_takes_source_date_epoch(scanner: Path, tmp_path: Path, name: str) -> None:
    result = scan(scanner, tmp_path, **{name: "1700000000"})
    assert result.returncode == 0, result.stderr
    spdx = json.loads((tmp_path / "sbom.spdx.json").read_text())["predicate"]
    assert spdx["creationInfo"]["created"] == "2023-11-14T22:13:20Z"


@pytest.mark.parametrize(
    "env, message",
    [({"SOURCE_DATE_EPOCH": "soon"}, 'SOURCE_DATE_EPOCH="soon" is not a non-negative number of seconds'),
     ({"LK_SYFT": "/nonexistent/syft"}, "/nonexistent/syft scan /run/src/core/sbom:"),
     ({"BUILDKIT_SCAN_SOURCE": ""}, "must be set (run by BuildKit as an SBOM generator)")],
)  # fmt: skip
def test_lk_sbom_scan_fails_with_one_line(scanner: Path, tmp_path: Path, env: dict, message: str) -> None:
    result = scan(scanner, tmp_path, **env)
    assert result.returncode == 1
    assert result.stderr.startswith("lk-sbom-scan: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "sbom.spdx.json").exists()
