"""`pants package` of the sample packages with a real buildkitd, in a real git repository.

The images are checked with skopeo (a tool we did not write), the linuxkit cache by reading it
through skopeo's `oci:` transport."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitrepo import commit_all, git, write
from image_files import files_in
from pants_run import kill_pantsd, pants_toml, run_pants
from samples import init_samples_repo

NO_REGISTRY = ["base", "init", "chained", "build-args", "config-label", "extra-sources", "shared",
               "network", "network-none"]


def skopeo_json(*args: str) -> dict:
    out = subprocess.run(["skopeo", *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def builds_started(stderr: str) -> list[str]:
    return [line.split("Starting: ", 1)[1] for line in stderr.splitlines() if "Starting: Building " in line]


def samples_repo(tmp: Path) -> Path:
    cache = tmp / "linuxkit-cache"
    return init_samples_repo(tmp / "repo", NO_REGISTRY, pants_toml(f'[linuxkit]\ncache = "{cache}"\n'))


@pytest.fixture
def repo(tmp_path: Path):
    root = samples_repo(tmp_path)
    yield root
    kill_pantsd(root)


@dataclass(frozen=True)
class Built:
    repo: Path
    stderr: str


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """One `pants package pkg::` of every sample, as a repository builds them all; the tests below
    each check their part of it. pkg/config-label has an uncommitted file (a dirty tag), and a
    build arg is given on the command line (pkg/build-args shows which value wins)."""
    root = samples_repo(tmp_path_factory.mktemp("built"))
    write(root, {"pkg/config-label/motd": "uncommitted\n"})
    result = package(root, args=["--linuxkit-build-args=OVERRIDDEN = from-cli "])
    return Built(root, result.stderr)


def package(root: Path, *specs: str, args=()) -> subprocess.CompletedProcess:
    return run_pants(root, *args, "package", *(specs or ["pkg::"])).assert_success()


def image_config(archive: Path, arch: str) -> dict:
    return skopeo_json("inspect", "--config", f"--override-arch={arch}", f"oci-archive:{archive}")


def test_package_builds_every_platform_into_an_index(built: Built, tmp_path: Path) -> None:
    repo = built.repo
    archive = repo / "dist/pkg.init/init.oci.tar"
    # pkg/init is FROM pkg/base (an @lkt:pkg: reference) and RUNs `uname -m` on each platform.
    for arch, machine in [("amd64", b"x86_64\n"), ("arm64", b"aarch64\n"), ("s390x", b"s390x\n")]:
        assert files_in(archive, arch, tmp_path)["etc/machine"] == machine
    index = skopeo_json("inspect", "--raw", f"oci-archive:{archive}")
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    # Each platform's image, then its SBOM attestation (platform unknown/unknown), as linuxkit's.
    assert [m["platform"]["architecture"] for m in index["manifests"]] == [
        "amd64", "unknown", "arm64", "unknown", "s390x", "unknown"
    ]  # fmt: skip
    for arch in ("amd64", "arm64", "s390x"):
        config = image_config(archive, arch)
        assert config["architecture"] == arch
        assert config["config"]["Labels"]["org.opencontainers.image.revision"] == git(repo, "rev-parse", "HEAD").strip()
    tree = git(repo, "rev-parse", "HEAD:pkg/init").strip()
    assert f"docker.io/linuxkit/init:{tree}" in built.stderr

    # The linuxkit cache holds the index and each -arch image under linuxkit's names.
    cache = repo.parent / "linuxkit-cache"
    name = f"docker.io/linuxkit/init:{tree}"
    names = [m["annotations"]["org.opencontainers.image.ref.name"]
             for m in json.loads((cache / "index.json").read_text())["manifests"]]  # fmt: skip
    names = [n for n in names if n.startswith(name)]  # pkg/base, built for pkg/init, is there too
    assert sorted(names) == sorted([name, f"{name}-amd64", f"{name}-arm64", f"{name}-s390x"])
    cached = skopeo_json("inspect", "--raw", f"oci:{cache}:{name}")
    assert cached["manifests"] == index["manifests"]


def test_second_package_builds_nothing_and_one_edit_rebuilds_only_dependents(repo: Path) -> None:
    # A file no earlier run has seen gives new tags, so nothing comes from Pants' cache.
    write(repo, {"pkg/init/etc/nonce": uuid.uuid4().hex, "pkg/extra-sources/nonce": uuid.uuid4().hex})
    commit_all(repo, "nonce")
    first = package(repo, args=["--no-pantsd"])
    # init 3 + chained 2 + extra-sources 2; the other samples may come from Pants' cache
    changed = ("linuxkit/init:", "linuxkit/chained:", "linuxkit/extra-sources:")
    assert len([b for b in builds_started(first.stderr) if b.split(" ")[1].startswith(changed)]) == 7
    again = package(repo, args=["--no-pantsd"])
    assert builds_started(again.stderr) == []
    again_with_pantsd = package(repo, args=["--pantsd"])
    assert builds_started(again_with_pantsd.stderr) == []

    write(repo, {"pkg/init/etc/hostname": "edited\n"})
    commit_all(repo, "edit init")
    edited = package(repo, args=["--pantsd"])
    rebuilt = sorted({b.split(":")[0] for b in builds_started(edited.stderr)})
    assert rebuilt == ["Building linuxkit/chained", "Building linuxkit/init"]


def test_network_false_gives_run_steps_only_loopback_and_true_more(built: Built, tmp_path: Path) -> None:
    def interfaces(name: str) -> list[bytes]:
        net_dev = files_in(built.repo / f"dist/pkg.{name}/{name}.oci.tar", "amd64", tmp_path / name)["etc/net-dev"]
        return [line.split(b":")[0].strip() for line in net_dev.splitlines()[2:]]

    assert interfaces("network-none") == [b"lo"]
    assert len(interfaces("network")) > 1


def test_chained_build_uses_the_referenced_package(built: Built) -> None:
    repo = built.repo
    deps = run_pants(repo, "dependents", "pkg/init:").assert_success().stdout.split()
    assert deps == ["pkg/chained:chained"]
    chained = image_config(repo / "dist/pkg.chained/chained.oci.tar", "arm64")
    init = image_config(repo / "dist/pkg.init/init.oci.tar", "arm64")
    assert chained["rootfs"]["diff_ids"][:-1] == init["rootfs"]["diff_ids"]


def test_build_args_presets_and_precedence(built: Built) -> None:
    repo = built.repo
    labels = image_config(repo / "dist/pkg.build-args/build-args.oci.tar", "amd64")["config"]["Labels"]
    head = git(repo, "rev-parse", "HEAD").strip()
    assert labels["sample.from-yml"] == "from-build-yml"
    assert labels["sample.source"] == "overridden-in-build-yml"
    assert labels["sample.overridden"] == "from-cli"
    assert labels["sample.pkg-hash"] == git(repo, "rev-parse", "HEAD:pkg/build-args").strip()
    assert labels["sample.pkg-image"] == "linuxkit/build-args"
    assert labels["sample.revision"] == head
    assert labels["sample.gopkgversion"].startswith("v0.0.0-20260102030405-" + head[:12])
    assert labels["org.opencontainers.image.source"] == "https://example.com/sample.git"


def test_config_label_and_extra_sources(built: Built) -> None:
    repo = built.repo
    labels = image_config(repo / "dist/pkg.config-label/config-label.oci.tar", "amd64")["config"]["Labels"]
    assert labels["org.mobyproject.config"].startswith('{"capabilities":["CAP_SYS_ADMIN"],"binds":')
    extra = repo / "dist/pkg.extra-sources/extra-sources.oci.tar"
    out = repo.parent / "extra"
    subprocess.run(["skopeo", "copy", "--override-arch=arm64", f"oci-archive:{extra}", f"dir:{out}"],
                   check=True, capture_output=True)  # fmt: skip
    layers = [p for p in out.iterdir() if len(p.name) == 64]  # blobs; tar ignores the config
    listing = "".join(subprocess.run(["tar", "-tzf", str(p)], capture_output=True, text=True).stdout for p in layers)
    assert "vendor/README" in listing


def test_dirty_package_builds_with_a_dirty_tag_and_no_revision(built: Built) -> None:
    # pkg/config-label (FROM scratch: an image FROM pkg/base would inherit the base's revision
    # label) has an uncommitted file.
    tree = git(built.repo, "rev-parse", "HEAD:pkg/config-label").strip()
    assert "docker.io/linuxkit/config-label:" + tree + "-dirty-" in built.stderr
    config = image_config(built.repo / "dist/pkg.config-label/config-label.oci.tar", "amd64")
    assert "org.opencontainers.image.revision" not in config["config"]["Labels"]


# One case per way an error reaches the user (build.yml, an option, a builder); the other messages
# are checked by the rule and pkglib tests (build_context_test, platforms_test).
@pytest.mark.parametrize(
    "files, args, message",
    [
        ({"pkg/init/build.yml": "image: init\ndockerfile: Nope\n"}, [],
         "pkg/init/build.yml: dockerfile: Nope does not exist in pkg/init"),
        ({}, ["--linuxkit-builders=linux/amd64=nosuchcontext"],
         "[linuxkit].builders: linux/amd64: provided docker context 'nosuchcontext' not found"),
        ({}, ["--linuxkit-platforms=linux/amd64", "--linuxkit-skip-platforms=linux/arm64"],
         "[linuxkit].skip_platforms and [linuxkit].platforms may not be used together"),
    ],
)  # fmt: skip
def test_errors_are_one_line(repo: Path, files: dict, args: list, message: str) -> None:
    if files:
        write(repo, files)
        commit_all(repo, "break")
    result = run_pants(repo, *args, "package", "pkg/init:")
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_builder_and_failing_run_step(repo: Path) -> None:
    result = run_pants(repo, "--linuxkit-builders=linux/amd64=tcp://127.0.0.1:9", "package", "pkg/build-args:")
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if "cannot reach the builder" in line]
    assert len(lines) == 1
    assert "linuxkit/build-args" in lines[0] and "linux/amd64" in lines[0] and "tcp://127.0.0.1:9" in lines[0]
    assert "Traceback" not in result.stderr

    write(repo, {"pkg/build-args/Dockerfile": "FROM scratch\nRUN /bin/false\n"})
    commit_all(repo, "failing step")
    result = run_pants(repo, "package", "pkg/build-args:")
    assert result.exit_code != 0
    assert "linuxkit/build-args" in result.stderr and "linux/amd64: build failed" in result.stderr


def test_lkt_pkgs_build_args_dependencies_and_dockerignore(repo: Path) -> None:
    write(repo, {
        "pkg/tools/one/build.yml": "image: hashes-one\narches: [amd64]\n",
        "pkg/tools/one/Dockerfile": "FROM scratch\nCOPY build.yml /\n",
        "pkg/tools/one/BUILD": "linuxkit_package()\n",
        "pkg/tools/two/build.yml": "image: hashes-two\narches: [amd64]\n",
        "pkg/tools/two/Dockerfile": "FROM scratch\nCOPY build.yml /\n",
        "pkg/tools/two/BUILD": "linuxkit_package()\n",
        "pkg/uses/build.yml": "image: uses\narches: [amd64]\nbuildArgs:\n  - HASH_%=@lkt:pkgs:../tools/*\n",
        "pkg/uses/Dockerfile": (
            "FROM scratch\nARG HASH_LINUXKIT_HASHES_ONE\nARG HASH_LINUXKIT_HASHES_TWO\n"
            "LABEL one=$HASH_LINUXKIT_HASHES_ONE two=$HASH_LINUXKIT_HASHES_TWO\nCOPY . /ctx/\n"
        ),
        "pkg/uses/.dockerignore": "secret.txt\n",
        "pkg/uses/secret.txt": "not for the image\n",
        "pkg/uses/BUILD": "linuxkit_package()\n",
    })  # fmt: skip
    commit_all(repo, "pkgs")
    deps = run_pants(repo, "dependencies", "pkg/uses:").assert_success().stdout.split()
    assert deps == ["pkg/tools/one:one", "pkg/tools/two:two"]
    package(repo, "pkg/uses:")
    archive = repo / "dist/pkg.uses/uses.oci.tar"
    labels = image_config(archive, "amd64")["config"]["Labels"]
    assert labels["one"] == f"linuxkit/hashes-one:{git(repo, 'rev-parse', 'HEAD:pkg/tools/one').strip()}"
    assert labels["two"] == f"linuxkit/hashes-two:{git(repo, 'rev-parse', 'HEAD:pkg/tools/two').strip()}"
    out = repo.parent / "uses"
    subprocess.run(["skopeo", "copy", "-q", f"oci-archive:{archive}", f"dir:{out}"], check=True)
    listing = "".join(
        subprocess.run(["tar", "-tzf", str(p)], capture_output=True, text=True).stdout
        for p in out.iterdir() if len(p.name) == 64
    )  # fmt: skip
    assert "ctx/build.yml" in listing and "secret.txt" not in listing


def test_buildkit_from_a_release_archive_with_its_sha256(repo: Path, tmp_path: Path) -> None:
    binaries = Path.home() / ".cache/pants/named_caches/linuxkit_buildkitd/v0.32.2/bin"
    if not (binaries / "buildkitd").exists():
        package(repo, "pkg/config-label:")  # BuildKit built from the Go module, buildkitd started
    archive = tmp_path / "buildkit-v0.32.2.linux-amd64.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:  # ~100 MB of binaries: be quick
        for name in ("buildctl", "buildkitd"):
            tar.add(binaries / name, arcname=f"bin/{name}")
    sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
    options = [
        "--linuxkit-force",
        f"--buildkit-url-template=file://{tmp_path}/buildkit-{{version}}.{{platform}}.tar.gz",
    ]
    known = f"--buildkit-known-versions=['v0.32.2|linux_x86_64|{sha256}|{archive.stat().st_size}']"
    result = package(repo, "pkg/config-label:", args=[*options, known])
    assert "(built)" in result.stderr and "Build BuildKit" not in result.stderr

    wrong = known.replace(sha256, "0" * 64)
    failed = run_pants(repo, *options, wrong, "package", "pkg/config-label:")
    assert failed.exit_code != 0 and "0" * 64 in failed.stderr
