from __future__ import annotations

import os
from pathlib import Path

from linuxkit.pkglib.symlinks import escaping_link


def test_escaping_link(tmp_path: Path) -> None:
    (tmp_path / "pkg/sub").mkdir(parents=True)
    (tmp_path / "pkg/sub/f").write_text("in")
    (tmp_path / "secret").write_text("s")
    (tmp_path / "pkg/top").write_text("t")
    os.symlink("sub/f", tmp_path / "pkg/inside")
    os.symlink("../secret", tmp_path / "pkg/cfg")
    os.symlink("..", tmp_path / "pkg/sub/up")
    root = str(tmp_path)
    assert escaping_link(root, "pkg", ["pkg/sub/f", "pkg/inside"]) is None
    assert escaping_link(root, "pkg", ["pkg/inside", "pkg/cfg"]) == ("pkg/cfg", "../secret")
    # Through a directory link: fine while the path resolves inside the tree, else the link.
    assert escaping_link(root, "pkg", ["pkg/sub/up/top"]) is None
    assert escaping_link(root, "pkg/sub", ["pkg/sub/up/sub/f"]) is None
    assert escaping_link(root, "pkg/sub", ["pkg/sub/up/top"]) == ("pkg/sub/up", "..")
