"""Symlinks that lead out of a source tree (a package directory or an extra source)."""

from __future__ import annotations

import os
from typing import Iterable


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def escaping_link(build_root: str, directory: str, paths: Iterable[str]) -> tuple[str, str] | None:
    """(link, its target) for the first symlink through which one of `paths` (relative to
    `build_root`) resolves outside `directory`, or None when every path stays inside."""
    root = os.path.realpath(os.path.join(build_root, directory))
    for path in paths:
        if _inside(os.path.realpath(os.path.join(build_root, path)), root):
            continue
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            full = os.path.join(build_root, prefix)
            if os.path.islink(full) and not _inside(os.path.realpath(full), root):
                return prefix, os.readlink(full)
        return path, os.path.realpath(os.path.join(build_root, path))
    return None
