"""`pants tailor` adds `linuxkit_package()` beside every build.yml that no package target owns, and
`linuxkit_image(source=...)` for every LinuxKit image yml no image target owns.

An image yml is a `.yml`/`.yaml` file whose top level is a mapping with a `kernel` or `init` key
and no key `linuxkit build` does not know (its moby config keys), so a compose file or a CI
workflow is never taken for one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import yaml

from linuxkit.dependency_inference.rules import AllLinuxkitPackages
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.target_types import BUILD_YML, LinuxkitImageSourceField, LinuxkitImageTarget, LinuxkitPackageTarget
from pants.core.goals.tailor import PutativeTarget, PutativeTargets, PutativeTargetsRequest
from pants.engine.fs import DigestContents, PathGlobs, Paths
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import AllTargets
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

# The top-level keys of a LinuxKit image yml (linuxkit's moby.Moby).
IMAGE_YML_KEYS = frozenset({"kernel", "init", "onboot", "onshutdown", "services", "files", "volumes", "trust"})


def is_image_yml(text: str) -> bool:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        # PyYAML rejects some files Go's yaml reads (a comment at column 0 inside a block
        # scalar, as in linuxkit's examples/static-ip.yml): then the top-level keys as written.
        document = {m.group(1): None for m in re.finditer(r"(?m)^([A-Za-z][\w-]*):", text)}
    return (
        isinstance(document, dict)
        and bool({"kernel", "init"} & set(document))
        and set(document) <= IMAGE_YML_KEYS
    )


@dataclass(frozen=True)
class PutativeLinuxkitPackageTargetsRequest(PutativeTargetsRequest):
    pass


@rule(desc="Determine candidate linuxkit targets to create", level=LogLevel.DEBUG)
async def find_putative_linuxkit_targets(
    request: PutativeLinuxkitPackageTargetsRequest,
    packages: AllLinuxkitPackages,
    all_targets: AllTargets,
    linuxkit: LinuxkitSubsystem,
) -> PutativeTargets:
    if not linuxkit.tailor:
        return PutativeTargets()
    build_ymls = await Get(Paths, PathGlobs, request.path_globs(BUILD_YML))
    # Files may also be owned by, say, a `files` target of test fixtures: a package owns its
    # directory all the same, so no source is claimed here (tailor would restrict `sources`).
    putative = [
        PutativeTarget(os.path.dirname(path), os.path.basename(os.path.dirname(path)),
                       LinuxkitPackageTarget.alias, triggering_sources=[BUILD_YML], owned_sources=())
        for path in sorted(build_ymls.files)
        if os.path.dirname(path) not in packages.by_directory
    ]  # fmt: skip

    owned_images = {
        t[LinuxkitImageSourceField].file_path for t in all_targets if t.has_field(LinuxkitImageSourceField)
    }
    candidates = await Get(DigestContents, PathGlobs, request.path_globs("*.yml", "*.yaml"))
    for entry in candidates:
        name = os.path.basename(entry.path)
        if entry.path in owned_images or name == BUILD_YML:
            continue
        if not is_image_yml(entry.content.decode("utf-8", "replace")):
            continue
        putative.append(
            PutativeTarget(os.path.dirname(entry.path), name.rsplit(".", 1)[0], LinuxkitImageTarget.alias,
                           triggering_sources=[name], owned_sources=(), kwargs={"source": name})
        )  # fmt: skip
    return PutativeTargets(putative)


def rules():
    return [
        *collect_rules(),
        UnionRule(PutativeTargetsRequest, PutativeLinuxkitPackageTargetsRequest),
    ]
