"""`pants publish` with `[linuxkit].signing_key`, against a real registry on 127.0.0.1, checked
with the real cosign (built by build-support/tools/cosign.sh): every pushed tag verifies, a
tampered tag or signature does not, `disable-content-trust: true` publishes unsigned, a wrong
passphrase is one line that leaves the registry without tags, and a passphrase command works."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from busybox_base import support_script, tools_dir
from gitrepo import git, init_repo
from pants_run import pants_toml, run_pants
from registry import Registry

PASSPHRASE = "correct horse battery staple"

PACKAGE = {
    "pkg/init/build.yml": "image: init\narches: [amd64, arm64]\n",
    "pkg/init/Dockerfile": "FROM scratch\nCOPY hello /hello\n",
    "pkg/init/hello": "hello\n",
    "pkg/init/BUILD": "linuxkit_package()\n",
    "pkg/unsigned/build.yml": "image: unsigned\narches: [amd64]\ndisable-content-trust: true\n",
    "pkg/unsigned/Dockerfile": "FROM scratch\nCOPY build.yml /\n",
    "pkg/unsigned/BUILD": "linuxkit_package()\n",
}


@pytest.fixture(scope="module")
def cosign() -> str:
    script = support_script("cosign.sh")
    assert script is not None, "build-support/tools/cosign.sh not found"
    out = subprocess.run([str(script), str(tools_dir())], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def key_pair(cosign: str, directory: Path) -> tuple[Path, Path]:
    directory.mkdir()
    subprocess.run([cosign, "generate-key-pair"], cwd=directory, check=True, capture_output=True,
                   env={"COSIGN_PASSWORD": PASSPHRASE, "PATH": "/usr/bin:/bin", "HOME": str(directory)})  # fmt: skip
    return directory / "cosign.key", directory / "cosign.pub"


def make_repo(tmp_path: Path, registry: Registry, key: Path) -> Path:
    config = (f'[linuxkit]\norg = "{registry.host}/lk"\ncache = "{tmp_path / "cache"}"\n'
              f'signing_key = "{key}"\n')  # fmt: skip
    return init_repo(tmp_path / "repo", {**PACKAGE, "pants.toml": pants_toml(config)})


def verify(cosign: str, public_key: Path, ref: str) -> subprocess.CompletedProcess:
    home = public_key.parent  # cosign keeps state in HOME/.sigstore
    return subprocess.run(
        [cosign, "verify", "--key", str(public_key), "--insecure-ignore-tlog",
         "--allow-insecure-registry", "--allow-http-registry", ref],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
    )  # fmt: skip


def copy(registry: Registry, src: str, dst: str) -> None:
    """Writes the manifest at `src` under the tag `dst` (same repository: its blobs are there)."""
    subprocess.run(
        ["skopeo", "copy", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
         f"docker://{registry.host}/{src}", f"docker://{registry.host}/{dst}"],
        check=True, capture_output=True,
    )  # fmt: skip


def signature_tags(registry: Registry, repo: str) -> list[str]:
    return sorted(t for t in registry.tags(repo) if t.endswith(".sig"))


def test_publish_signs_every_tag_and_cosign_rejects_tampering(cosign: str, tmp_path: Path) -> None:
    key, public_key = key_pair(cosign, tmp_path / "keys")
    with Registry() as registry:
        root = make_repo(tmp_path, registry, key)
        result = run_pants(root, "publish", "pkg::", env={"COSIGN_PASSWORD": PASSPHRASE}).assert_success()
        assert PASSPHRASE not in result.stdout + result.stderr
        tree = git(root, "rev-parse", "HEAD:pkg/init").strip()
        tags = [tree, f"{tree}-amd64", f"{tree}-arm64"]
        digests = {registry.manifest(f"lk/init:{t}")[2] for t in tags}
        # One signature per manifest, stored beside the image as cosign does it.
        assert signature_tags(registry, "lk/init") == sorted(
            d.replace(":", "-") + ".sig" for d in digests
        )
        for tag in tags:
            checked = verify(cosign, public_key, f"{registry.host}/lk/init:{tag}")
            assert checked.returncode == 0, checked.stderr
        unsigned_tree = git(root, "rev-parse", "HEAD:pkg/unsigned").strip()
        assert signature_tags(registry, "lk/unsigned") == []
        assert verify(cosign, public_key, f"{registry.host}/lk/unsigned:{unsigned_tree}").returncode != 0

        # Publishing again adds no second signature.
        run_pants(root, "publish", "pkg::", env={"COSIGN_PASSWORD": PASSPHRASE}).assert_success()
        for digest in digests:
            sig = json.loads(registry.manifest(f"lk/init:{digest.replace(':', '-')}.sig")[0])
            assert len(sig["layers"]) == 1

        # A tag moved to content the key never signed fails verification...
        copy(registry, f"lk/unsigned:{unsigned_tree}", f"lk/init:{tree}-arm64")
        moved = verify(cosign, public_key, f"{registry.host}/lk/init:{tree}-arm64")
        assert moved.returncode != 0 and "no signatures found" in moved.stderr
        # ... and so does a signature swapped for one made over another manifest.
        index = registry.manifest(f"lk/init:{tree}")[2]
        amd64 = registry.manifest(f"lk/init:{tree}-amd64")[2]
        copy(registry, f"lk/init:{amd64.replace(':', '-')}.sig", f"lk/init:{index.replace(':', '-')}.sig")
        swapped = verify(cosign, public_key, f"{registry.host}/lk/init:{tree}")
        assert swapped.returncode != 0
        assert verify(cosign, public_key, f"{registry.host}/lk/init:{tree}-amd64").returncode == 0


def test_wrong_passphrase_is_one_line_and_tags_nothing(cosign: str, tmp_path: Path) -> None:
    key, public_key = key_pair(cosign, tmp_path / "keys")
    with Registry() as registry:
        root = make_repo(tmp_path, registry, key)
        wrong = "not the passphrase 4711"
        result = run_pants(root, "publish", "pkg::", env={"COSIGN_PASSWORD": wrong})
        assert result.exit_code != 0
        output = result.stdout + result.stderr
        lines = [line for line in output.splitlines() if "[linuxkit].signing_key" in line]
        assert len(lines) == 1 and lines[0].endswith("decryption failed (wrong passphrase?)"), output
        assert wrong not in output and "Traceback" not in output
        assert registry.tags("lk/init") == []

        # The passphrase from a command instead (the older docs' content-trust-passphrase-command).
        command = f"--linuxkit-signing-passphrase-command=echo '{PASSPHRASE}'"
        run_pants(root, command, "publish", "pkg::").assert_success()
        tree = git(root, "rev-parse", "HEAD:pkg/init").strip()
        assert verify(cosign, public_key, f"{registry.host}/lk/init:{tree}").returncode == 0
