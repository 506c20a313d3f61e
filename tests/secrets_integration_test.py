"""A proxy password in the environment of `pants package`: the build's RUN steps get it, while
Pants' debug log, its `.pants.d` and its local store (where process definitions and their
output are kept) never hold it."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from gitrepo import commit_all, write
from image_files import files_in
from pants_run import files_holding, kill_pantsd, local_store, pants_toml, run_pants
from samples import init_samples_repo


def package(nonce: str) -> dict[str, str]:
    """The RUN step proves the real value reached BuildKit, leaving only its hash in the image.
    BuildKit's cache keys leave proxy args out, so only `nonce` makes it run again."""
    return {
        "pkg/proxy/build.yml": "image: proxy\narches: [amd64]\nbuildArgs:\n  - BASE=@lkt:pkg:../base\n",
        "pkg/proxy/Dockerfile": f'ARG BASE\nFROM ${{BASE}}\nRUN echo -n "$http_proxy" | sha256sum > /proxy # {nonce}\n',
        "pkg/proxy/BUILD": "linuxkit_package()\n",
    }


def test_a_proxy_password_reaches_run_steps_but_no_pants_log_or_store(tmp_path: Path) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    proxy = f"http://user:{password}@127.0.0.1:9"
    config = f'[linuxkit]\ncache = "{tmp_path / "cache"}"\nplatforms = ["linux/amd64"]\n'
    root = init_samples_repo(tmp_path / "repo", ["base"], pants_toml(config))
    write(root, package(uuid.uuid4().hex))
    commit_all(root, "proxy package")
    try:
        dry = run_pants(root, "--linuxkit-dry-run", "package", "pkg/proxy:", env={"http_proxy": proxy})
        assert "--build-arg=http_proxy=http://user:***@127.0.0.1:9 " in dry.assert_success().stdout + dry.stderr
        result = run_pants(root, "-ldebug", "package", "pkg/proxy:", env={"http_proxy": proxy}).assert_success()
    finally:
        kill_pantsd(root)
    output = result.stdout + result.stderr + dry.stdout + dry.stderr
    # Pants logs every process it runs, argv and environment, at debug level: buildctl's too.
    assert "build-arg:http_proxy=http://user:***@127.0.0.1:9" in output
    assert password not in output
    assert files_holding((root / ".pants.d").rglob("*"), password) == []
    assert files_holding(local_store(), password) == []
    image = files_in(root / "dist/pkg.proxy/proxy.oci.tar", "amd64", tmp_path)
    assert image["proxy"].split()[0].decode() == hashlib.sha256(proxy.encode()).hexdigest()
