"""`pants lint` reports stale pins and committed `-dirty-` tags; `pants fix` rewrites stale pins.

Both work on the files `scripts/update-component-sha.sh` rewrites (`pins.PIN_FILE_PATTERNS`)
plus each package's Dockerfile, whether or not a target owns them. The tag a pin should carry is
the one its package will have once the work tree (with fix's edits) is committed, so one
`pants fix ::` and one commit leave `pants lint ::` clean, also when pins chain.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Tuple

from linuxkit.dependency_inference.rules import LinuxkitPackageIndex
from linuxkit.pkglib import pin_plan, pins
from linuxkit.util_rules.git_hash import GitRepos, GitReposRequest
from pants.base.build_root import BuildRoot
from pants.core.goals.fix import FixFilesRequest, FixResult
from pants.core.goals.lint import LintFilesRequest, LintResult
from pants.core.util_rules.partitions import Partitions
from pants.engine.engine_aware import EngineAwareReturnType
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent, PathGlobs, Paths, Snapshot
from pants.engine.rules import Get, collect_rules, rule
from pants.option.option_types import SkipOption
from pants.option.subsystem import Subsystem
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel
from pants.util.strutil import help_text


class LinuxkitPinsSubsystem(Subsystem):
    options_scope = "linuxkit-pins"
    name = "linuxkit-pins"
    help = help_text(
        """
        Pins of in-repo packages (`org/image:<tag>`) in Dockerfiles, LinuxKit yml files, Makefiles
        and test.sh: `pants lint` lists each stale pin (file:line, reference, current tag) and
        each committed `-dirty-` tag.
        """
    )
    skip = SkipOption("lint")


class LinuxkitRepinSubsystem(Subsystem):
    options_scope = "linuxkit-repin"
    name = "linuxkit-repin"
    help = help_text(
        """
        `pants fix` rewrites every stale pin of an in-repo package to the tag the package will
        have once the edits are committed, keeping any suffix (`-amd64`), never a `-dirty-` tag.
        """
    )
    skip = SkipOption("fix", "lint")


@dataclass(frozen=True)
class LinuxkitPinPlan(EngineAwareReturnType):
    files: Tuple[str, ...]  # every file scanned, relative to the build root
    edits: FrozenDict[str, str]
    stale: Tuple[pins.StalePin, ...]
    dirty: Tuple[Tuple[str, int, str], ...]  # (path, line, reference) of other images' -dirty- tags

    def cacheable(self) -> bool:
        return False  # the work tree (what a commit would record) changes outside Pants' view


@dataclass(frozen=True)
class LinuxkitPinPlanRequest:
    pass


@rule(desc="Plan pin updates", level=LogLevel.DEBUG)
async def linuxkit_pin_plan(
    _: LinuxkitPinPlanRequest, index: LinuxkitPackageIndex, build_root: BuildRoot
) -> LinuxkitPinPlan:
    dockerfiles = {os.path.normpath(os.path.join(i.directory, i.definition.dockerfile)) for i in index.infos}
    candidates = await Get(Paths, PathGlobs([*pins.PIN_FILE_GLOBS, *dockerfiles]))
    paths = sorted(p for p in candidates.files if pins.is_pin_file(p) or p in dockerfiles)
    contents = await Get(DigestContents, PathGlobs(paths))
    files = {c.path: c.content.decode("utf-8", "surrogateescape") for c in contents}

    git = await Get(GitRepos, GitReposRequest())
    with git.lock:
        repo = git.repos.find(build_root.path)
    plan = pin_plan.PinPlan({}, {}, ())
    if repo is not None and index.by_repository:
        prefix = os.path.relpath(build_root.path, repo.workdir)
        prefix = "" if prefix == "." else f"{prefix}/"
        by_address = {info.address: info for info in index.infos}
        packages = tuple(
            pin_plan.PinnedPackage(
                directory=prefix + by_address[address].directory,
                repository=repository,
                tag_template=by_address[address].definition.tag,
                extra_source_dirs=tuple(
                    prefix + os.path.normpath(os.path.join(by_address[address].directory, s.src))
                    for s in by_address[address].definition.extra_sources
                ),
            )
            for repository, address in sorted(index.by_repository.items())
        )
        with git.lock:
            plan = pin_plan.plan(repo, packages, files, prefix=prefix)

    in_repo = set(index.by_repository)
    dirty = tuple(
        (path, ref.line, ref.text)
        for path, text in sorted(files.items())
        for ref in pins.dirty_pins(text, path)
        if pins.short_repository(ref.repository) not in in_repo
    )
    return LinuxkitPinPlan(tuple(paths), FrozenDict(plan.edits), plan.stale, dirty)


def _describe(stale: pins.StalePin) -> str:
    what = "a committed -dirty- tag" if "-dirty-" in stale.reference else "stale"
    return f"{stale.path}:{stale.line}: {stale.reference} is {what}; current: {stale.current}"


class LinuxkitPinsLintRequest(LintFilesRequest):
    tool_subsystem = LinuxkitPinsSubsystem


class LinuxkitRepinRequest(FixFilesRequest):
    tool_subsystem = LinuxkitRepinSubsystem


def _partitions(files: Tuple[str, ...], plan: LinuxkitPinPlan) -> Partitions[Any]:
    mine = sorted(set(files) & set(plan.files))
    return Partitions.single_partition(mine) if mine else Partitions()


@rule
async def partition_pins_lint(
    request: LinuxkitPinsLintRequest.PartitionRequest, subsystem: LinuxkitPinsSubsystem
) -> Partitions[Any]:
    if subsystem.skip:
        return Partitions()
    return _partitions(request.files, await Get(LinuxkitPinPlan, LinuxkitPinPlanRequest()))


@rule
async def partition_repin(
    request: LinuxkitRepinRequest.PartitionRequest, subsystem: LinuxkitRepinSubsystem
) -> Partitions[Any]:
    if subsystem.skip:
        return Partitions()
    return _partitions(request.files, await Get(LinuxkitPinPlan, LinuxkitPinPlanRequest()))


@rule(desc="Check pins of linuxkit packages", level=LogLevel.DEBUG)
async def lint_pins(request: LinuxkitPinsLintRequest.Batch) -> LintResult:
    plan = await Get(LinuxkitPinPlan, LinuxkitPinPlanRequest())
    files = set(request.elements)
    lines = [_describe(s) for s in plan.stale if s.path in files]
    if lines:
        lines.append("(`pants fix` rewrites the stale pins.)")
    lines += [
        f"{path}:{line}: {ref} is a committed -dirty- tag (never pushed)"
        for path, line, ref in plan.dirty
        if path in files
    ]
    return LintResult(
        exit_code=1 if lines else 0,
        stdout="\n".join(lines),
        stderr="",
        linter_name=request.tool_name,
    )


@rule(desc="Update pins of linuxkit packages", level=LogLevel.DEBUG)
async def fix_pins(request: LinuxkitRepinRequest.Batch) -> FixResult:
    plan = await Get(LinuxkitPinPlan, LinuxkitPinPlanRequest())
    output = request.snapshot
    if any(p in plan.edits for p in request.files):
        contents = await Get(DigestContents, Digest, request.snapshot.digest)
        output = await Get(
            Snapshot,
            CreateDigest(
                FileContent(c.path, plan.edits[c.path].encode("utf-8", "surrogateescape"), c.is_executable)
                if c.path in plan.edits
                else c
                for c in contents
            ),
        )
    return FixResult(input=request.snapshot, output=output, stdout="", stderr="", tool_name=request.tool_name)


def rules():
    return [
        *collect_rules(),
        *LinuxkitPinsLintRequest.rules(),
        *LinuxkitRepinRequest.rules(),
    ]
