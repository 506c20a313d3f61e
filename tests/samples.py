"""A git repository holding some of the sample packages (pkg/), buildable with `pants package`."""

from __future__ import annotations

import os
from pathlib import Path

from gitrepo import commit_all, init_repo

# pkg/base's shell_command fetches busybox with this script.
BUSYBOX_SCRIPT = ["build-support/tools/busybox.sh", "build-support/tools/versions.env"]


def sample_repo(root: Path, checkout: Path, names: list[str], extra: dict[str, str]) -> Path:
    """A repository at `root` with pkg/<name> of `checkout` for each of `names`, plus `extra`.

    Each package gets a `linuxkit_package()` BUILD, except pkg/base, which keeps its own (its
    shell_command fetches busybox with BUSYBOX_SCRIPT, copied too). Executable files stay so.
    """
    files = {}
    for name in names:
        for path in (checkout / "pkg" / name).rglob("*"):
            if path.is_file() and path.name != "BUILD":
                files[str(path.relative_to(checkout))] = path.read_text()
        if (checkout / "pkg" / name / "build.yml").exists():
            files[f"pkg/{name}/BUILD"] = "linuxkit_package()\n"
    if "base" in names:
        files["pkg/base/BUILD"] = (checkout / "pkg/base/BUILD").read_text()
        files |= {path: (checkout / path).read_text() for path in BUSYBOX_SCRIPT}
        relative = [path.split("/", 1)[1] for path in BUSYBOX_SCRIPT]
        files["build-support/BUILD"] = f"files(name='busybox-script', sources={relative!r})\n"
    init_repo(root, {**files, **extra})
    executable = [rel for rel in files if os.access(checkout / rel, os.X_OK)]
    for rel in executable:
        (root / rel).chmod(0o755)
    if executable:
        commit_all(root, "executable bits")
    return root
