"""A source tree of the build context (the package directory, or an extra source) as a snapshot,
refused when a symlink in it leads outside it.

Pants snapshots follow symlinks, so `cfg -> ../../secrets.env` would put the content of a file
outside the package into the image. linuxkit's build context sends a symlink as a symlink (a tar
link header from `os.Readlink`), never the content it points to; we refuse such a link instead.
A symlink that stays inside the tree is followed: the image gets a copy of its target."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.symlinks import escaping_link
from pants.base.build_root import BuildRoot
from pants.engine.fs import PathGlobs, Snapshot
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel

# How the engine reports an absolute symlink it cannot snapshot (pants 2.17's fs crate).
_ABSOLUTE = re.compile(r'Failed to read link "([^"]+)": Absolute symlink: "([^"]+)"')


@dataclass(frozen=True)
class SourceTreeRequest:
    directory: str  # relative to the build root; "" is the build root
    where: str  # for errors: the file and field that put this tree in the context


@dataclass(frozen=True)
class SourceTree:
    snapshot: Snapshot


def _refuse(where: str, link: str, target: str, why: str) -> LinuxkitError:
    return LinuxkitError(
        f"{where}: symlink {link} -> {target} {why}; the build context takes no content through "
        "such a link (linuxkit sends it as a link): replace it with a copy"
    )


@rule(desc="Snapshot a linuxkit source tree", level=LogLevel.DEBUG)
async def source_tree(request: SourceTreeRequest, build_root: BuildRoot) -> SourceTree:
    directory = request.directory
    try:
        snapshot = await Get(Snapshot, PathGlobs([f"{directory}/**" if directory else "**"]))
    except Exception as e:
        absolute = _ABSOLUTE.search(str(e))
        if not absolute:
            raise
        link = os.path.relpath(absolute.group(1), build_root.path)
        raise _refuse(request.where, link, absolute.group(2), "is absolute")
    # The snapshot's digest is this rule's input: a link retargeted at other content reruns it.
    escaping = escaping_link(build_root.path, directory, snapshot.files)
    if escaping:
        raise _refuse(request.where, *escaping, f"leads outside {directory or '.'}")
    return SourceTree(snapshot)


def rules():
    return collect_rules()
