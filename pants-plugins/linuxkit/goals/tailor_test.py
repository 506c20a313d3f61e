"""`tailor`: a `linuxkit_package` beside each build.yml, a `linuxkit_image` for each LinuxKit
image yml, through the rule."""

from __future__ import annotations

from linuxkit import register
from linuxkit.dependency_inference import rules as dependency_inference
from linuxkit.goals import pins, tailor
from linuxkit.goals.tailor import PutativeLinuxkitPackageTargetsRequest
from linuxkit.util_rules import git_hash, package_info
from pants.core.goals.tailor import PutativeTarget, PutativeTargets
from pants.core.util_rules import environments
from pants.testutil.rule_runner import QueryRule, RuleRunner


def rule_runner_for(files: dict[str, str]) -> RuleRunner:
    rule_runner = RuleRunner(
        rules=[
            *pins.rules(),
            *tailor.rules(),
            *dependency_inference.rules(),
            *package_info.rules(),
            *git_hash.rules(),
            *environments.rules(),
            QueryRule(PutativeTargets, [PutativeLinuxkitPackageTargetsRequest]),
        ],
        target_types=register.target_types(),
    )
    rule_runner.write_files(files)
    return rule_runner


def test_tailor_adds_packages_and_image_ymls_only() -> None:
    rule_runner = rule_runner_for({
        "pkg/new/build.yml": "image: new\n",
        "pkg/new/Dockerfile": "FROM scratch\n",
        "examples/linuxkit.yml": "kernel:\n  image: linuxkit/kernel:6.6.71\ninit: []\n",
        "examples/compose.yml": "services:\n  web:\n    init: true\n",
        "examples/ci.yml": "init: x\non: push\n",  # a key linuxkit build does not know
        "examples/BUILD": "linuxkit_image(name='owned', source='owned.yml')",
        "examples/owned.yml": "init: []\n",
        # PyYAML cannot parse this (Go's yaml can): the top-level keys decide.
        "examples/static.yml": "init: []\nfiles:\n  - contents: |\n      a\n#  b\n      c\n",
    })  # fmt: skip
    result = rule_runner.request(
        PutativeTargets, [PutativeLinuxkitPackageTargetsRequest(("pkg/new", "examples"))]
    )
    assert sorted((t.path, t.name, t.type_alias, dict(t.kwargs)) for t in result) == [
        ("examples", "linuxkit", "linuxkit_image", {"source": "linuxkit.yml"}),
        ("examples", "static", "linuxkit_image", {"source": "static.yml"}),
        ("pkg/new", "new", "linuxkit_package", {}),
    ]
    assert all(isinstance(t, PutativeTarget) and t.owned_sources == () for t in result)
