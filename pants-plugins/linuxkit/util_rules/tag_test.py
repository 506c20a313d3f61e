"""The tag rule: a package's name and `linuxkit pkg show-tag` tag, from a real git repository."""

from __future__ import annotations

import re

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.target_types import LinuxkitPackageTarget
from linuxkit.util_rules import git_hash, package_info, tag, testing
from linuxkit.util_rules.tag import LinuxkitTag, LinuxkitTagRequest
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.rules import QueryRule
from pants.testutil.rule_runner import RuleRunner


def git(rule_runner: RuleRunner, *args: str) -> str:
    return testing.git(rule_runner.build_root, *args)


def runner(build_yml: str, *options: str, env: dict[str, str] | None = None) -> RuleRunner:
    rule_runner = RuleRunner(
        rules=[*tag.rules(), *git_hash.rules(), *package_info.rules(),
               QueryRule(LinuxkitTag, [LinuxkitTagRequest])],  # fmt: skip
        target_types=[LinuxkitPackageTarget],
    )
    rule_runner.set_options(list(options), env=env or {})
    rule_runner.write_files({"pkg/a/BUILD": "linuxkit_package()\n", "pkg/a/build.yml": build_yml})
    testing.commit_build_root(rule_runner.build_root)
    return rule_runner


def resolve(rule_runner: RuleRunner, with_overrides: bool = True) -> LinuxkitTag:
    return rule_runner.request(LinuxkitTag, [LinuxkitTagRequest(Address("pkg/a"), with_overrides)])


def tree(rule_runner: RuleRunner) -> str:
    return git(rule_runner, "rev-parse", "HEAD:pkg/a")


def test_a_clean_package_is_tagged_with_its_tree_hash() -> None:
    rule_runner = runner("image: a\norg: me\n")
    resolved = resolve(rule_runner)
    assert resolved.name.short == f"me/a:{tree(rule_runner)}"
    assert resolved.name.canonical == f"docker.io/me/a:{tree(rule_runner)}"
    assert (resolved.git.dirty, resolved.git.revision) == (False, git(rule_runner, "rev-parse", "HEAD"))


def test_an_edited_package_gets_a_dirty_tag() -> None:
    rule_runner = runner("image: a\n")
    rule_runner.write_files({"pkg/a/Dockerfile": "FROM scratch\n"})  # untracked counts
    resolved = resolve(rule_runner)
    assert re.fullmatch(f"linuxkit/a:{tree(rule_runner)}-dirty-[0-9a-f]{{7}}", resolved.name.short)
    assert resolved.git.dirty


def test_options_and_environment_override_build_yml() -> None:
    rule_runner = runner("image: a\norg: me\ntag: '{{.Hash}}-yml'\n", "--linuxkit-org=opt",
                         "--linuxkit-tag={{.Hash}}-opt", "--linuxkit-hash=h1")  # fmt: skip
    assert resolve(rule_runner).name.short == "opt/a:h1-opt"
    # `@lkt:pkg:` references read build.yml alone.
    assert resolve(rule_runner, with_overrides=False).name.short == f"me/a:{tree(rule_runner)}-yml"

    assert resolve(runner("image: a\n", env={"LINUXKIT_PKG_ORG": "envorg"})).name.org == "envorg"
    dev = resolve(runner("image: a\n", "--linuxkit-dev", env={"USER": "alice"})).name
    assert dev.short == "alice/a:dev"


@pytest.mark.parametrize(
    "build_yml, options, message",
    [
        ("image: a\norg: Me\n", (), 'pkg/a/build.yml:2: org: "Me" is not a valid org'),
        ("image: A\n", (), 'pkg/a/build.yml:1: image: "A" is not a valid image name'),
        ("image: a\ntag: '-{{.Hash}}'\n", (), "pkg/a/build.yml: tag: rendered tag"),
        # build.yml's own fields are checked as it is read; rendered tags and options, here.
        ("image: a\n", ("--linuxkit-tag={{.Nope",), "[linuxkit].tag: invalid tag template"),
        ("image: a\n", ("--linuxkit-org=Bad",), '[linuxkit].org (or LINUXKIT_PKG_ORG, or $USER with --dev): "Bad"'),
    ],
)
def test_a_bad_name_is_one_line_naming_its_source(build_yml: str, options, message: str) -> None:
    with pytest.raises(ExecutionError) as e:
        resolve(runner(build_yml, *options))
    (error,) = e.value.wrapped_exceptions
    assert isinstance(error, LinuxkitError)
    assert str(error).startswith(message) and "\n" not in str(error)
