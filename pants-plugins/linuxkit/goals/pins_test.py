"""`pants lint` / `pants fix` of pins, through their rules."""

from __future__ import annotations

import subprocess

from linuxkit import register
from linuxkit.dependency_inference import rules as dependency_inference
from linuxkit.goals import pins
from linuxkit.goals.pins import LinuxkitPinsLintRequest, LinuxkitRepinRequest
from linuxkit.util_rules import git_hash, package_info
from pants.core.goals.fix import FixResult
from pants.core.goals.lint import LintResult
from pants.core.util_rules import environments
from pants.engine.fs import DigestContents, PathGlobs, Snapshot
from pants.testutil.rule_runner import QueryRule, RuleRunner

A = "a" * 40
GIT = ["-c", "user.name=t", "-c", "user.email=t@e"]


def rule_runner_for(files: dict[str, str]) -> RuleRunner:
    rule_runner = RuleRunner(
        rules=[
            *pins.rules(),
            *dependency_inference.rules(),
            *package_info.rules(),
            *git_hash.rules(),
            *environments.rules(),
            QueryRule(LintResult, [LinuxkitPinsLintRequest.Batch]),
            QueryRule(FixResult, [LinuxkitRepinRequest.Batch]),
            QueryRule(Snapshot, [PathGlobs]),
        ],
        target_types=register.target_types(),
    )
    rule_runner.write_files(files)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*GIT, "commit", "-qm", "init"]):
        subprocess.run(["git", "-C", rule_runner.build_root, *args], check=True)
    return rule_runner


def tree(rule_runner: RuleRunner, path: str) -> str:
    return subprocess.run(["git", "-C", rule_runner.build_root, "rev-parse", f"HEAD:{path}"],
                          check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip


FILES = {
    "pkg/a/BUILD": "linuxkit_package()",
    "pkg/a/build.yml": "image: a\n",
    "pkg/a/Dockerfile": "FROM scratch\n",
    "pkg/b/BUILD": "linuxkit_package()",
    "pkg/b/build.yml": "image: b\n",
    "pkg/b/Dockerfile": f"FROM linuxkit/a:{A}-amd64\n",
    "examples/BUILD": "linuxkit_image(name='img', source='img.yml')",
    "examples/img.yml": f"init:\n  - linuxkit/b:{A}\n  - other/x:{A}-dirty-1234567\n",
    "tools/Makefile": f"X=linuxkit/a:{A}\n",  # `=` before the name: the sed script leaves it, so do we
}


def test_lint_lists_every_stale_pin_and_dirty_tag_then_fix_makes_it_clean() -> None:
    rule_runner = rule_runner_for(FILES)
    files = ("examples/img.yml", "pkg/b/Dockerfile", "tools/Makefile")
    lint = rule_runner.request(LintResult, [LinuxkitPinsLintRequest.Batch("linuxkit-pins", files, None)])
    a_tag = tree(rule_runner, "pkg/a")
    assert lint.exit_code == 1
    lines = lint.stdout.splitlines()
    assert lines[0].startswith(f"examples/img.yml:2: linuxkit/b:{A} is stale; current: linuxkit/b:")
    assert lines[1] == f"pkg/b/Dockerfile:1: linuxkit/a:{A}-amd64 is stale; current: linuxkit/a:{a_tag}-amd64"
    assert lines[3] == f"examples/img.yml:3: other/x:{A}-dirty-1234567 is a committed -dirty- tag (never pushed)"
    assert len(lines) == 4

    snapshot = rule_runner.request(Snapshot, [PathGlobs(files)])
    fixed = rule_runner.request(FixResult, [LinuxkitRepinRequest.Batch("linuxkit-repin", files, None, snapshot)])
    contents = {c.path: c.content.decode() for c in rule_runner.request(DigestContents, [fixed.output.digest])}
    assert contents["tools/Makefile"] == FILES["tools/Makefile"]
    assert contents["pkg/b/Dockerfile"] == f"FROM linuxkit/a:{a_tag}-amd64\n"
    rule_runner.write_files(contents)
    subprocess.run(["git", "-C", rule_runner.build_root, "commit", *GIT[4:], "-qam", "fix"],
                   check=True, env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e",
                                    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"})  # fmt: skip
    # pkg/b changed with its pin, and the yml already carries b's tag after that commit.
    assert f"linuxkit/b:{tree(rule_runner, 'pkg/b')}\n" in contents["examples/img.yml"]
    lint = rule_runner.request(LintResult, [LinuxkitPinsLintRequest.Batch("linuxkit-pins", files, None)])
    assert lint.stdout.splitlines() == [lines[3]]

