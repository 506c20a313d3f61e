"""The package git hash rule against a real git repository in the RuleRunner's build root."""

from __future__ import annotations

import hashlib
import re
import subprocess

import pytest

from linuxkit.pkglib.errors import GitError
from linuxkit.util_rules import testing
from linuxkit.util_rules.git_hash import (
    PackageGitHashRequest,
    PackageGitHashResult,
    SourceDateEpoch,
    SourceDateEpochRequest,
    rules,
)
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.rules import QueryRule
from pants.testutil.rule_runner import RuleRunner


def git(rule_runner: RuleRunner, *args: str) -> str:
    return testing.git(rule_runner.build_root, *args)


@pytest.fixture
def rule_runner() -> RuleRunner:
    rule_runner = RuleRunner(
        rules=[*rules(), QueryRule(PackageGitHashResult, [PackageGitHashRequest]),
               QueryRule(SourceDateEpoch, [SourceDateEpochRequest])]
    )  # fmt: skip
    rule_runner.write_files({"pkg/a/build.yml": "image: a\n", "src/x.c": "int x;\n"})
    testing.commit_build_root(rule_runner.build_root)
    return rule_runner


def pkg_hash(rule_runner: RuleRunner, **kwargs) -> str:
    request = PackageGitHashRequest(directory="pkg/a", **kwargs)
    return rule_runner.request(PackageGitHashResult, [request]).value.pkg_hash


def test_a_clean_package_is_its_tree_hash(rule_runner: RuleRunner) -> None:
    assert pkg_hash(rule_runner) == git(rule_runner, "rev-parse", "HEAD:pkg/a")


def test_an_edited_package_is_dirty(rule_runner: RuleRunner) -> None:
    tree = git(rule_runner, "rev-parse", "HEAD:pkg/a")
    rule_runner.write_files({"pkg/a/build.yml": "image: a\nnetwork: true\n"})
    assert re.fullmatch(f"{tree}-dirty-[0-9a-f]{{7}}", pkg_hash(rule_runner))


def test_an_edit_outside_the_package_leaves_it_clean(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"src/x.c": "int y;\n"})
    assert pkg_hash(rule_runner) == git(rule_runner, "rev-parse", "HEAD:pkg/a")


def test_force_dirty_and_hash_override(rule_runner: RuleRunner) -> None:
    tree = git(rule_runner, "rev-parse", "HEAD:pkg/a")
    assert re.fullmatch(f"{tree}-dirty-[0-9a-f]{{7}}", pkg_hash(rule_runner, force_dirty=True))
    assert pkg_hash(rule_runner, hash_override="mine") == "mine"


def test_hash_commit_names_an_older_tree_and_ignores_the_work_tree(rule_runner: RuleRunner) -> None:
    old = git(rule_runner, "rev-parse", "HEAD:pkg/a")
    rule_runner.write_files({"pkg/a/build.yml": "image: b\n"})
    git(rule_runner, "commit", "-qam", "two")
    rule_runner.write_files({"pkg/a/build.yml": "image: c\n"})  # dirty, but not HEAD
    assert pkg_hash(rule_runner, hash_commit="HEAD~1") == old


def test_extra_sources_and_hash_path(rule_runner: RuleRunner) -> None:
    tree, src = (git(rule_runner, "rev-parse", f"HEAD:{p}") for p in ("pkg/a", "src"))
    assert pkg_hash(rule_runner, extra_source_dirs=("src",)) == hashlib.sha1((tree + src).encode()).hexdigest()
    assert pkg_hash(rule_runner, hash_path="pkg") == git(rule_runner, "rev-parse", "HEAD:pkg")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hash_path": "src"}, "is not a prefix of the package path"),
        ({"hash_commit": "nope"}, "nope"),
    ],
)
def test_bad_input_is_one_line(rule_runner: RuleRunner, kwargs, message: str) -> None:
    with pytest.raises(ExecutionError) as e:
        pkg_hash(rule_runner, **kwargs)
    (error,) = e.value.wrapped_exceptions
    assert isinstance(error, GitError)
    assert str(error).startswith("pkg/a: ") and message in str(error) and "\n" not in str(error)


def test_source_date_epoch_is_the_packages_last_commit_time(rule_runner: RuleRunner) -> None:
    def epoch() -> int:
        state = rule_runner.request(PackageGitHashResult, [PackageGitHashRequest(directory="pkg/a")]).value
        request = SourceDateEpochRequest(("pkg/a",), state.revision, state.pkg_hash)
        return rule_runner.request(SourceDateEpoch, [request]).seconds

    first = int(git(rule_runner, "log", "-1", "--format=%ct", "--", "pkg/a"))
    assert epoch() == first
    rule_runner.write_files({"pkg/a/build.yml": "image: b\n"})
    subprocess.run(["git", "-C", rule_runner.build_root, "commit", "-qam", "two"], check=True,
                   env={**testing.GIT_ENV, "GIT_COMMITTER_DATE": "@2000000000 +0000"})  # fmt: skip
    later = int(git(rule_runner, "log", "-1", "--format=%ct", "--", "pkg/a"))
    rule_runner.new_session("after the commit")  # as the next Pants run (also under pantsd)
    assert later != first and epoch() == later


def test_each_session_reads_git_afresh(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"pkg/b/build.yml": "image: b\n"})
    git(rule_runner, "add", "-A")
    git(rule_runner, "commit", "-qm", "b")
    before = pkg_hash(rule_runner)
    assert before == git(rule_runner, "rev-parse", "HEAD:pkg/a")
    rule_runner.write_files({"pkg/a/build.yml": "image: a\nnetwork: true\n"})
    git(rule_runner, "commit", "-qam", "edit a")
    assert pkg_hash(rule_runner) == before  # the same session: git was read once
    rule_runner.new_session("after the commit")  # as the next `pants` run under pantsd
    assert pkg_hash(rule_runner) == git(rule_runner, "rev-parse", "HEAD:pkg/a") != before
    other = rule_runner.request(PackageGitHashResult, [PackageGitHashRequest(directory="pkg/b")])
    assert other.value.pkg_hash == git(rule_runner, "rev-parse", "HEAD:pkg/b")
