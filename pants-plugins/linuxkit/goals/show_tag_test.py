"""`pants linuxkit-show-tag` through its goal rule, against a real git repository."""

from __future__ import annotations

from linuxkit.goals import show_tag
from linuxkit.goals.show_tag import ShowTag
from linuxkit.target_types import LinuxkitPackageTarget
from linuxkit.util_rules import git_hash, package_info, tag, testing
from pants.testutil.rule_runner import RuleRunner


def runner(files: dict[str, str]) -> RuleRunner:
    rule_runner = RuleRunner(
        rules=[*show_tag.rules(), *tag.rules(), *git_hash.rules(), *package_info.rules()],
        target_types=[LinuxkitPackageTarget],
    )
    rule_runner.write_files(files)
    testing.commit_build_root(rule_runner.build_root)
    return rule_runner


PACKAGES = {
    "pkg/a/BUILD": "linuxkit_package()\n",
    "pkg/a/build.yml": "image: a\n",
    "pkg/b/BUILD": "linuxkit_package()\n",
    "pkg/b/build.yml": "image: b\norg: me\n",
}


def test_prints_each_tag_like_linuxkit_pkg_show_tag() -> None:
    rule_runner = runner(PACKAGES)
    a, b = (testing.git(rule_runner.build_root, "rev-parse", f"HEAD:pkg/{p}") for p in "ab")
    result = rule_runner.run_goal_rule(ShowTag, args=["pkg::"])
    assert (result.exit_code, result.stdout) == (0, f"linuxkit/a:{a}\nme/b:{b}\n")
    result = rule_runner.run_goal_rule(ShowTag, args=["--canonical", "--with-address", "pkg/b"])
    assert result.stdout == f"pkg/b:b docker.io/me/b:{b}\n"  # the address as `pants list` prints it


def test_a_bad_tag_is_one_line_and_exit_code_1() -> None:
    rule_runner = runner({**PACKAGES, "pkg/b/build.yml": "image: b\ntag: '-x'\n"})
    result = rule_runner.run_goal_rule(ShowTag, args=["pkg::"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (
        'linuxkit-show-tag: pkg/b/build.yml: tag: rendered tag "-x" is not a valid tag '
        "(up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)\n"
    )
