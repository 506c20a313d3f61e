"""The backend as a wheel listed in another repository's `[GLOBAL].plugins`."""

from __future__ import annotations

import os
from pathlib import Path

from gitrepo import commit_all, git, init_repo
from pants_run import run_pants



def test_plugin_wheel_adopted_by_another_repository(tmp_path: Path) -> None:
    wheels = list(Path().resolve().glob("pants_linuxkit-*.whl"))
    assert wheels, "the python_distribution should be built into the test sandbox"
    pants_toml = f"""\
[GLOBAL]
pants_version = "2.17.1"
backend_packages = ["linuxkit"]
plugins = ["pants-linuxkit==0.1.0"]
ca_certs_path = "/etc/ssl/certs/ca-certificates.crt"
pantsd = false

[python-repos]
find_links = ["file://{wheels[0].parent}"]

[pex-cli]
version = "v2.1.137"
url_template = "file://{os.environ['LINUXKIT_PANTS_PEX_PEX']}"
known_versions = [
  "v2.1.137|linux_x86_64|12c09d441b7c2a8b4c18fc236c12d4e8f1f4a3e12a3c921b95a46562ada9b561|3563500",
]

[subprocess-environment]
env_vars = ["PIP_CONFIG_FILE=/dev/null"]

[python-bootstrap]
search_path = ["{os.environ['LINUXKIT_PANTS_PYTHON_BIN_DIR']}", "<PATH>"]
"""
    root = init_repo(
        tmp_path / "other",
        {"pants.toml": pants_toml, "pkg/a/build.yml": "image: a\n", "pkg/a/Dockerfile": "FROM scratch\n"},
    )
    run_pants(root, "tailor", "::").assert_success()
    commit_all(root, "adopt")
    result = run_pants(root, "linuxkit-show-tag", "::").assert_success()
    assert result.stdout == f"linuxkit/a:{git(root, 'rev-parse', 'HEAD:pkg/a').strip()}\n"
