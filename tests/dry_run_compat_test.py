"""`pants package --linuxkit-dry-run` on the sample packages: it builds nothing, prints the CLI's
`docker buildx build` lines, and (where the linuxkit CLI is installed, `LINUXKIT_BIN`) gives the
same build args and labels as `linuxkit pkg build --dry-run`. Departures, by design: GOPKGVERSION
(ours is a real Go pseudo-version), the `org.mobyproject.linuxkit.*` labels (the CLI's own
version) and, unless `--no-linuxkit-reproducible`, the SOURCE_DATE_EPOCH build arg."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from gitrepo import git, init_repo
from linuxkit_reference import linuxkit_binary
from pants_run import kill_pantsd, pants_toml, run_pants

SAMPLES = Path("pkg")  # pkg:samples, copied into the sandbox
PACKAGES = ["init", "chained", "build-args", "config-label", "extra-sources", "network", "base"]
LINE = re.compile(
    r"^docker buildx build --platform (?P<platform>\S+) -t (?P<tag>\S+) -f (?P<dockerfile>\S+) "
    r"(?P<rest>.*) --network=(?P<network>\S+) (?P<dir>\S+)$"
)
CLI_VERSION_LABELS = ("org.mobyproject.linuxkit.version", "org.mobyproject.linuxkit.revision")


@pytest.fixture
def repo(tmp_path: Path):
    files = {}
    for name in [*PACKAGES, "shared"]:
        for path in (SAMPLES / name).rglob("*"):
            if path.is_file():
                files[str(path)] = path.read_text()
        if (SAMPLES / name / "build.yml").exists():
            files[f"pkg/{name}/BUILD"] = "linuxkit_package()\n"
    files["pants.toml"] = pants_toml(f'[linuxkit]\ncache = "{tmp_path / "cache"}"\n')
    files["ci/args"] = "FROM_FILE = from-file \nOVERRIDDEN=from-file\n"
    root = init_repo(tmp_path / "repo", files)
    yield root
    kill_pantsd(root)


def parse(line: str) -> dict:
    m = LINE.match(line)
    assert m, line
    rest = f" {m['rest']} "
    return {
        **{k: m[k] for k in ("platform", "tag", "dockerfile", "network", "dir")},
        "args": dict(a.split("=", 1) for a in re.findall(r" --build-arg=(.*?)(?= --build-arg=| --label=| $)", rest)),
        "labels": dict(a.split("=", 1) for a in re.findall(r" --label=(.*?)(?= --label=| $)", rest)),
    }


def our_lines(root: Path, *args: str) -> list[str]:
    result = run_pants(root, "package", "--linuxkit-dry-run", *args, "pkg::").assert_success()
    assert "Starting: Building" not in result.stderr  # no BuildKit solve
    assert not list((root / "dist").rglob("*.oci.tar"))
    return [line for line in result.stderr.splitlines() if line.startswith("docker buildx build ")]


def test_dry_run_lines_and_the_options_they_show(repo: Path) -> None:
    lines = [parse(line) for line in our_lines(repo)]
    by_tag = {line["tag"].split(":")[0].split("/")[-1] + "-" + line["platform"]: line for line in lines}
    build_args = by_tag["build-args-linux/amd64"]
    assert build_args["dir"] == str(repo / "pkg/build-args")
    assert build_args["dockerfile"] == str(repo / "pkg/build-args/Dockerfile")
    assert build_args["network"] == "none"
    assert build_args["args"]["SOURCE"] == "overridden-in-build-yml"
    assert build_args["labels"]["org.opencontainers.image.source"] == "https://example.com/sample.git"
    written = (repo / "dist/pkg.build-args/build-args.dry-run.txt").read_text().splitlines()
    assert [parse(line) for line in written] == [build_args]

    assert by_tag["network-linux/amd64"]["network"] == "default"  # build.yml `network: true`
    # Reproducible by default: the package's last commit time (rewrite-timestamp is not in the line).
    last_commit = git(repo, "log", "-1", "--format=%ct", "--", "pkg/build-args").strip()
    assert build_args["args"]["SOURCE_DATE_EPOCH"] == last_commit

    again = [parse(line) for line in our_lines(repo, "--linuxkit-network", "--linuxkit-build-arg-file=ci/args")]
    changed = next(line for line in again if line["tag"] == build_args["tag"])
    assert changed["network"] == "default"
    assert changed["args"]["FROM_FILE"] == "from-file" and changed["args"]["OVERRIDDEN"] == "from-file"
    off = [parse(line) for line in our_lines(repo, "--no-linuxkit-network", "--no-linuxkit-reproducible")]
    assert {line["network"] for line in off} == {"none"}
    assert not any("SOURCE_DATE_EPOCH" in line["args"] for line in off)


@pytest.mark.skipif(linuxkit_binary() is None, reason="the linuxkit CLI is not installed (set LINUXKIT_BIN)")
def test_same_build_args_and_labels_as_the_cli(repo: Path, tmp_path: Path) -> None:
    # The CLI builds with build-time timestamps: compare with our departure (SOURCE_DATE_EPOCH) off.
    lines = our_lines(repo, "--no-linuxkit-reproducible")
    ours = {(line["tag"], line["platform"]): line for line in map(parse, lines)}
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    for name in PACKAGES:
        out = subprocess.run(
            [linuxkit_binary(), "pkg", "build", "--dry-run", "--force", "--cache", str(tmp_path / "lk"),
             str(repo / "pkg" / name)],
            cwd=repo, capture_output=True, text=True, env=env, check=True,
        ).stdout  # fmt: skip
        theirs = [parse(line) for line in out.splitlines() if line.startswith("docker buildx build ")]
        assert theirs, out
        for cli in theirs:
            mine = ours[(cli["tag"], cli["platform"])]
            for line in (mine, cli):
                line["args"].pop("GOPKGVERSION", None)
                for label in CLI_VERSION_LABELS:
                    line["labels"].pop(label, None)
            assert mine == cli
