"""Inferred dependencies: Dockerfile pins, image yml pins, extra-sources owners."""

from __future__ import annotations

import subprocess

import pytest

from linuxkit import register
from linuxkit.dependency_inference import rules as dependency_inference
from linuxkit.dependency_inference.rules import (
    InferLinuxkitImageDependencies,
    InferLinuxkitPackageDependencies,
    LinuxkitDependenciesInferenceFieldSet,
    LinuxkitImageInferenceFieldSet,
)
from linuxkit.util_rules import package_info
from linuxkit.util_rules.package_info import LinuxkitPackageInfo, LinuxkitPackageInfoRequest
from pants.engine.internals.scheduler import ExecutionError
from pants.core.target_types import FileTarget
from pants.core.util_rules import environments
from pants.engine.addresses import Address
from pants.engine.target import InferredDependencies, SourcesField, SourcesPaths, SourcesPathsRequest
from pants.testutil.rule_runner import QueryRule, RuleRunner

H = "0" * 40


def rule_runner_for(files: dict[str, str]) -> RuleRunner:
    rule_runner = RuleRunner(
        rules=[
            *dependency_inference.rules(),
            *package_info.rules(),
            *environments.rules(),
            QueryRule(InferredDependencies, [InferLinuxkitPackageDependencies]),
            QueryRule(InferredDependencies, [InferLinuxkitImageDependencies]),
            QueryRule(SourcesPaths, [SourcesPathsRequest]),
            QueryRule(LinuxkitPackageInfo, [LinuxkitPackageInfoRequest]),
        ],
        target_types=[*register.target_types(), FileTarget],
    )
    rule_runner.write_files(files)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init"]):  # fmt: skip
        subprocess.run(["git", "-C", rule_runner.build_root, *args], check=True)
    return rule_runner


def package_deps(rule_runner: RuleRunner, address: Address) -> list[str]:
    target = rule_runner.get_target(address)
    result = rule_runner.request(
        InferredDependencies,
        [InferLinuxkitPackageDependencies(LinuxkitDependenciesInferenceFieldSet.create(target))],
    )
    return sorted(a.spec for a in result.include)


FILES = {
    "pkg/a/BUILD": "linuxkit_package()",
    "pkg/a/build.yml": "image: a\n",
    "pkg/a/Dockerfile": "FROM scratch\n",
    "pkg/b/BUILD": "linuxkit_package()",
    "pkg/b/build.yml": "image: b\norg: example\nextra-sources: ['../../shared:/shared']\n",
    "pkg/b/Dockerfile": f"FROM --platform=$BUILDPLATFORM linuxkit/a:{H}-amd64 AS build\n# FROM linuxkit/c:{H}\n",
    "pkg/c/BUILD": "linuxkit_package()",
    "pkg/c/build.yml": "image: c\n",
    "pkg/c/Dockerfile": (
        f"ARG BASE=example/b:{H}\nFROM $BASE\nCOPY --from=docker.io/linuxkit/a:{H} / /\n"
        f"RUN --mount=type=bind,from=linuxkit/dup:{H},target=/d true\n"
    ),
    # Two packages produce linuxkit/dup: pins to it are ambiguous, so none is inferred.
    "pkg/dup1/BUILD": "linuxkit_package()",
    "pkg/dup1/build.yml": "image: dup\n",
    "pkg/dup2/BUILD": "linuxkit_package()",
    "pkg/dup2/build.yml": "image: dup\n",
    # An invalid build.yml does not stop inference for the others.
    "pkg/broken/BUILD": "linuxkit_package()",
    "pkg/broken/build.yml": "image: broken\nunknownField: 1\n",
    "shared/BUILD": "file(name='shared', source='lib.c')",
    "shared/lib.c": "int x;\n",
    "examples/BUILD": "linuxkit_image(name='img', source='img.yml')",
    "examples/img.yml": f"kernel:\n  image: linuxkit/kernel:6.6.71\ninit:\n  - linuxkit/a:{H}\n"
    f"services:\n  - name: c\n    image: linuxkit/c:{H}-dirty-1234567\n",
}


@pytest.fixture(scope="module")
def rule_runner() -> RuleRunner:
    return rule_runner_for(FILES)


def test_dockerfile_pins_are_dependencies(rule_runner: RuleRunner) -> None:
    # FROM with --platform, a suffix and AS; a commented FROM is not a dependency.
    assert package_deps(rule_runner, Address("pkg/b")) == ["pkg/a:a", "shared:shared"]
    # An ARG default used by FROM, COPY --from= with a registry; the ambiguous pin is skipped.
    assert package_deps(rule_runner, Address("pkg/c")) == ["pkg/a:a", "pkg/b:b"]


def test_image_yml_depends_on_the_packages_it_pins(rule_runner: RuleRunner) -> None:
    target = rule_runner.get_target(Address("examples", target_name="img"))
    result = rule_runner.request(
        InferredDependencies,
        [InferLinuxkitImageDependencies(LinuxkitImageInferenceFieldSet.create(target))],
    )
    assert sorted(a.spec for a in result.include) == ["pkg/a:a", "pkg/c:c"]


def test_package_owns_every_file_of_its_directory() -> None:
    rule_runner = rule_runner_for({**FILES, "pkg/a/etc/deep/id": "1\n", "pkg/a/BUILD.extra": "\n"})
    target = rule_runner.get_target(Address("pkg/a"))
    paths = rule_runner.request(SourcesPaths, [SourcesPathsRequest(target[SourcesField])])
    assert paths.files == ("pkg/a/Dockerfile", "pkg/a/build.yml", "pkg/a/etc/deep/id")


def test_a_missing_build_yml_is_one_line_naming_the_build_file() -> None:
    rule_runner = rule_runner_for({"pkg/x/BUILD": "linuxkit_package(build_yml='nope.yml')", "pkg/x/Dockerfile": ""})
    with pytest.raises(ExecutionError) as e:
        rule_runner.request(LinuxkitPackageInfo, [LinuxkitPackageInfoRequest(Address("pkg/x"))])
    assert "LinuxkitError: pkg/x/BUILD: build_yml: pkg/x/nope.yml does not exist\n" in str(e.value)
