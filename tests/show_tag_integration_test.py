"""`pants tailor` and `pants linuxkit-show-tag` in a real git repository, through pantsd (and once
without it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitrepo import commit_all, git, init_repo, write
from linuxkit_reference import git_show_tag
from pants_run import kill_pantsd, pants_toml, run_pants, start_pantsd

PACKAGES = {
    "pkg/init/build.yml": "image: init\narches: [amd64, arm64]\n",
    "pkg/init/Dockerfile": "FROM scratch\nCOPY . /\n",
    "pkg/tagged/build.yml": "image: tagged\norg: example\ntag: '{{.Hash}}-amd64'\n",
    "pkg/tagged/Dockerfile": "FROM scratch\n",
    "pkg/nested/outer/build.yml": "image: outer\nextra-sources: [../../../vendor:/vendor]\n",
    "pkg/nested/outer/Dockerfile": "FROM scratch\n",
    "pkg/nested/outer/inner/build.yml": "image: inner\n",
    "pkg/nested/outer/inner/Dockerfile": "FROM scratch\n",
    "vendor/lib.go": "package lib\n",
}


@pytest.fixture(scope="module")
def adopted(tmp_path_factory):
    """One repository for the whole module, adopted as a LinuxKit repo adopts the backend (tailor,
    then commit the BUILD files), with one pantsd serving every run: a test that edits the
    repository puts it back. `pants linuxkit-show-tag` must give the same tags with and without
    pantsd (the first test checks both)."""
    root = init_repo(tmp_path_factory.mktemp("show-tag") / "repo", {**PACKAGES, "pants.toml": pants_toml()})
    start_pantsd(root)
    tailor = pants(root, "tailor", "::").assert_success()
    commit_all(root, "adopt pants")
    yield root, tailor
    kill_pantsd(root)


def expected_tags(root: Path, **kwargs) -> list[str]:
    dirs = ["pkg/init", "pkg/nested/outer", "pkg/nested/outer/inner", "pkg/tagged"]
    return [git_show_tag(str(root / d), **kwargs) for d in dirs]


def pants(root: Path, *args: str, env=None):
    return run_pants(root, "--pantsd", *args, env=env)


def show_tag(root: Path, *args: str, env=None) -> list[str]:
    return pants(root, "linuxkit-show-tag", *args, "::", env=env).assert_success().stdout.splitlines()


def test_tailor_then_show_tag_matches_linuxkit(adopted) -> None:
    repo, tailor = adopted
    assert "Add linuxkit_package target init" in tailor.stdout + tailor.stderr
    assert (repo / "pkg/init/BUILD").read_text() == "linuxkit_package()\n"
    assert show_tag(repo) == expected_tags(repo)
    without_pantsd = run_pants(repo, "--no-pantsd", "linuxkit-show-tag", "::").assert_success()
    assert without_pantsd.stdout.splitlines() == expected_tags(repo)
    assert show_tag(repo, "--canonical") == expected_tags(repo, canonical=True)
    # A second tailor proposes nothing: build.yml is owned by its target.
    assert "linuxkit_package" not in pants(repo, "tailor", "--check", "::").assert_success().stdout


def test_org_and_tag_overrides(adopted) -> None:
    repo, _ = adopted
    assert show_tag(repo, "--linuxkit-org=acme") == expected_tags(repo, org="acme")
    assert show_tag(repo, env={"LINUXKIT_PKG_ORG": "fromenv"}) == expected_tags(repo, org="fromenv")
    assert show_tag(repo, "--linuxkit-tag={{.Hash}}-x") == expected_tags(repo, tag="{{.Hash}}-x")


def test_build_file_fields_override_build_yml(adopted) -> None:
    repo, _ = adopted
    write(repo, {"pkg/init/BUILD": 'linuxkit_package(org="override", image="renamed")\n'})
    commit_all(repo, "override")
    try:
        lines = show_tag(repo)
        tree = git(repo, "rev-parse", "HEAD:pkg/init").strip()
        assert lines[0] == f"override/renamed:{tree}"
    finally:
        write(repo, {"pkg/init/BUILD": "linuxkit_package()\n"})
        commit_all(repo, "no override")


def test_bad_build_yml_is_one_line(adopted) -> None:
    repo, _ = adopted
    write(repo, {"pkg/init/build.yml": "image: init\nunknownField: abc\n"})
    try:
        result = pants(repo, "linuxkit-show-tag", "::")
    finally:
        git(repo, "checkout", "--", "pkg/init/build.yml")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "unknownField" in line]
    assert errors == [
        'linuxkit-show-tag: pkg/init/build.yml:2: unknown field "unknownField" (known fields: '
        "image, org, tag, dockerfile, arches, extra-sources, gitrepo, network, disable-cache, "
        "disable-content-trust, "
        "config, buildArgs, depends)"
    ]
    assert "Traceback" not in result.stderr


def test_pantsd_sees_edits_untracked_files_and_commits(adopted) -> None:
    repo, _ = adopted
    seen = [show_tag(repo)]
    assert seen[-1] == expected_tags(repo)
    steps = [
        lambda: write(repo, {"pkg/init/Dockerfile": "FROM scratch\nCOPY . /x/\n"}),
        lambda: write(repo, {"pkg/tagged/new-file": "untracked\n"}),
        lambda: commit_all(repo, "commit both"),
        lambda: write(repo, {"vendor/lib.go": "package lib // extra sources are hashed at HEAD\n"}),
        lambda: commit_all(repo, "vendor"),
    ]
    for step in steps:
        step()
        seen.append(show_tag(repo))
        assert seen[-1] == expected_tags(repo)
    assert len({tuple(s) for s in seen}) == len(seen) - 1  # every step but the vendor edit changes a tag
