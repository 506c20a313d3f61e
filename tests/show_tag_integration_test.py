"""`pants tailor` and `pants linuxkit-show-tag` in a real git repository, with and without pantsd."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitrepo import commit_all, git, init_repo, write
from linuxkit_reference import git_show_tag
from pants_run import kill_pantsd, pants_toml, run_pants

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


@pytest.fixture
def repo(tmp_path: Path):
    root = init_repo(tmp_path / "repo", {**PACKAGES, "pants.toml": pants_toml()})
    yield root
    kill_pantsd(root)


def expected_tags(root: Path, **kwargs) -> list[str]:
    dirs = ["pkg/init", "pkg/nested/outer", "pkg/nested/outer/inner", "pkg/tagged"]
    return [git_show_tag(str(root / d), **kwargs) for d in dirs]


def adopt(root: Path) -> None:
    """What a LinuxKit repo does to adopt the backend: tailor, then commit the BUILD files."""
    result = run_pants(root, "tailor", "::").assert_success()
    assert "Add linuxkit_package target init" in result.stdout + result.stderr
    assert (root / "pkg/init/BUILD").read_text() == "linuxkit_package()\n"
    commit_all(root, "adopt pants")


def show_tag(root: Path, *args: str, env=None) -> list[str]:
    result = run_pants(root, "linuxkit-show-tag", *args, "::", env=env).assert_success()
    return result.stdout.splitlines()


def test_tailor_then_show_tag_matches_linuxkit(repo: Path) -> None:
    adopt(repo)
    assert show_tag(repo) == expected_tags(repo)
    assert show_tag(repo, "--canonical") == expected_tags(repo, canonical=True)
    # A second tailor proposes nothing: build.yml is owned by its target.
    assert "linuxkit_package" not in run_pants(repo, "tailor", "--check", "::").assert_success().stdout


def test_org_and_tag_overrides(repo: Path) -> None:
    adopt(repo)
    assert show_tag(repo, "--linuxkit-org=acme") == expected_tags(repo, org="acme")
    assert show_tag(repo, env={"LINUXKIT_PKG_ORG": "fromenv"}) == expected_tags(repo, org="fromenv")
    assert show_tag(repo, "--linuxkit-tag={{.Hash}}-x") == expected_tags(repo, tag="{{.Hash}}-x")


def test_build_file_fields_override_build_yml(repo: Path) -> None:
    adopt(repo)
    write(repo, {"pkg/init/BUILD": 'linuxkit_package(org="override", image="renamed")\n'})
    commit_all(repo, "override")
    lines = show_tag(repo)
    tree = git(repo, "rev-parse", "HEAD:pkg/init").strip()
    assert lines[0] == f"override/renamed:{tree}"


def test_bad_build_yml_is_one_line(repo: Path) -> None:
    adopt(repo)
    write(repo, {"pkg/init/build.yml": "image: init\nunknownField: abc\n"})
    result = run_pants(repo, "linuxkit-show-tag", "::")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "unknownField" in line]
    assert errors == [
        'linuxkit-show-tag: pkg/init/build.yml:2: unknown field "unknownField" (known fields: '
        "image, org, tag, dockerfile, arches, extra-sources, gitrepo, network, disable-cache, "
        "disable-content-trust, "
        "config, buildArgs, depends)"
    ]
    assert "Traceback" not in result.stderr


def test_pantsd_sees_edits_untracked_files_and_commits(repo: Path) -> None:
    adopt(repo)
    write(repo, {"pants.toml": pants_toml().replace("pantsd = false", "pantsd = true")})
    commit_all(repo, "pantsd on")
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
