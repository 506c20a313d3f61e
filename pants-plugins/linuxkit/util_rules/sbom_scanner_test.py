from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.subsystems.syft import SyftSubsystem
from linuxkit.pkglib.scanner_layout import write_layout
from linuxkit.util_rules.pkglib_process import PkglibProcess
from linuxkit.util_rules.buildkit_tools import packaged_script
from linuxkit.util_rules.buildkit_tools_test import buildkit, process_mocks, tools
from linuxkit.util_rules.sbom_generator import SbomGenerator, check_scanner_reference
from linuxkit.util_rules.sbom_scanner import (
    SbomScannerBinaries,
    SbomScannerImage,
    sbom_generator,
    sbom_scanner_binaries,
    sbom_scanner_image,
)
from linuxkit.util_rules.testing import ok_result
from pants.engine.fs import EMPTY_DIGEST, AddPrefix, Digest, MergeDigests, RemovePrefix
from pants.engine.platform import Platform
from pants.engine.process import Process, ProcessResult
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks

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


def assemble(stdout: bytes):
    seen: list = []

    def make_process(request: PkglibProcess) -> Process:
        seen.append(request)
        return Process(argv=("python", *request.args), description=request.description)

    image = run_rule_with_mocks(
        sbom_scanner_image,
        rule_args=[Platform.linux_arm64],
        mock_gets=[
            MockGet(output_type=SbomScannerBinaries, input_types=(), mock=lambda: SbomScannerBinaries(EMPTY_DIGEST)),
            MockGet(output_type=Digest, input_types=(AddPrefix,), mock=lambda _: EMPTY_DIGEST),
            MockGet(output_type=Digest, input_types=(RemovePrefix,), mock=lambda _: LAYOUT),
            MockGet(output_type=Process, input_types=(PkglibProcess,), mock=make_process),
            MockGet(output_type=ProcessResult, input_types=(Process,), mock=lambda _: ok_result(stdout)),
        ],
    )  # fmt: skip
    return image, seen


def build_binaries(*present: str) -> list[Process]:
    processes: list[Process] = []
    syft = create_subsystem(SyftSubsystem, version="v1.57.1", module="github.com/anchore/syft")
    run_rule_with_mocks(
        sbom_scanner_binaries,
        rule_args=[syft, buildkit()],
        mock_gets=[tools(*present), *process_mocks(processes),
                   MockGet(output_type=Digest, input_types=(MergeDigests,), mock=lambda _: EMPTY_DIGEST)],
    )  # fmt: skip
    return processes


def test_syft_and_lk_sbom_scan_are_built_by_cacheable_go_processes() -> None:
    syft, wrapper = build_binaries("go")
    assert syft.argv[:2] == ("/usr/bin/go", "install") and syft.argv[-1] == "github.com/anchore/syft/cmd/syft@v1.57.1"
    assert "-X main.version=1.57.1" in syft.argv[-2]
    assert wrapper.argv[:2] == ("/usr/bin/go", "build") and wrapper.argv[-1] == "sbom_scanner.go"
    assert syft.env["GOPROXY"] == wrapper.env["GOPROXY"] == "https://proxy.golang.org"


def test_the_default_generator_without_go_is_one_line() -> None:
    with pytest.raises(LinuxkitError) as error:
        build_binaries()
    assert str(error.value) == (
        "[linuxkit].sbom_scanner: the default SBOM generator, built from syft's Go module "
        "(github.com/anchore/syft v1.57.1), needs `go` on [buildkit].search_path (/usr/bin:/bin); "
        "set it to an image reference, or to `false`"
    )


def test_the_image_is_assembled_for_this_machine_without_a_builder() -> None:
    image, (process,) = assemble(f"{MANIFEST}\n".encode())
    assert image == SbomScannerImage(LAYOUT, MANIFEST)
    assert (process.module, process.args, process.output_directories) == ("scanner_layout", ("bin", "arm64", "layout"), ("layout",))
    with pytest.raises(LinuxkitError, match=r"^\[linuxkit\].sbom_scanner: assembling the SBOM generator image printed 'oops', not a digest$"):
        assemble(b"oops")


def test_the_layout_is_reproducible_and_runs_lk_sbom_scan(tmp_path: Path) -> None:
    for name, content in (("syft", b"syft binary"), ("lk-sbom-scan", b"scanner binary")):
        (tmp_path / name).write_bytes(content)
        (tmp_path / name).chmod(0o700)
    first = write_layout(tmp_path, "amd64", tmp_path / "one")
    os.utime(tmp_path / "syft", (1, 1))  # mtimes and modes of the inputs do not matter
    (tmp_path / "syft").chmod(0o755)
    assert write_layout(tmp_path, "amd64", tmp_path / "two") == first
    assert sorted(p.name for p in (tmp_path / "one/blobs/sha256").iterdir()) == sorted(
        p.name for p in (tmp_path / "two/blobs/sha256").iterdir())  # fmt: skip
    blob = lambda d: (tmp_path / "one/blobs/sha256" / d[7:]).read_bytes()  # noqa: E731
    (entry,) = json.loads((tmp_path / "one/index.json").read_text())["manifests"]
    assert entry["digest"] == first and entry["platform"] == {"architecture": "amd64", "os": "linux"}
    assert hashlib.sha256(blob(first)).hexdigest() == first[7:]
    manifest = json.loads(blob(first))
    config = json.loads(blob(manifest["config"]["digest"]))
    assert config["config"]["Entrypoint"] == ["/lk-sbom-scan"] and "HOME=/tmp" in config["config"]["Env"]
    (layer,) = manifest["layers"]
    assert config["rootfs"]["diff_ids"] == [layer["digest"]]
    with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"]))) as tar:
        members = tar.getmembers()
        assert [(m.name, m.mode, m.mtime, m.uid) for m in members] == [("lk-sbom-scan", 0o755, 0, 0), ("syft", 0o755, 0, 0)]
        assert tar.extractfile("syft").read() == b"syft binary"
    assert (tmp_path / "one/oci-layout").read_bytes() == b'{"imageLayoutVersion":"1.0.0"}'


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
