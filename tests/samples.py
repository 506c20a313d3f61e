"""A real git repository holding some of the sample packages of `pkg/` (the `pkg:samples` files,
which Pants copies into a test's sandbox), as the integration tests build them."""

from __future__ import annotations

from pathlib import Path

from gitrepo import commit_all, init_repo

SAMPLES = Path("pkg")
# pkg/base's shell_command fetches busybox with this script.
BUSYBOX_SCRIPT = ["build-support/tools/busybox.sh", "build-support/tools/versions.env"]


def sample_files(names: list[str]) -> dict[str, str]:
    """The files of the samples `names` (pkg/base always keeps its own BUILD), with a
    `linuxkit_package()` BUILD beside each other build.yml."""
    files = {}
    for name in names:
        for path in (SAMPLES / name).rglob("*"):
            if path.is_file():
                files[str(path)] = path.read_text()
        if (SAMPLES / name / "build.yml").exists() and name != "base":
            files[f"pkg/{name}/BUILD"] = "linuxkit_package()\n"
    files["pkg/base/BUILD"] = (SAMPLES / "base/BUILD").read_text()
    for path in BUSYBOX_SCRIPT:
        files[path] = Path(path).read_text()
    sources = [path.split("/", 1)[1] for path in BUSYBOX_SCRIPT]  # relative to build-support/
    files["build-support/BUILD"] = f"files(name='busybox-script', sources={sources!r})\n"
    return files


def init_samples_repo(root: Path, names: list[str], pants_toml: str) -> Path:
    """A repository with the samples `names` and `pants_toml`, committed (fixed dates, so two
    such repositories have the same commits)."""
    files = {**sample_files(names), "pants.toml": pants_toml}
    init_repo(root, files)
    if (root / "pkg/init/init").exists():
        (root / "pkg/init/init").chmod(0o755)
        commit_all(root, "executable init")
    return root
