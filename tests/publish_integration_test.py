"""`pants publish` against a real registry on 127.0.0.1: tags, releases, skips, auth, TLS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path


from gitrepo import commit_all, git, init_repo, write
from pants_run import files_holding, local_store, pants_toml, run_pants
from registry import Registry

PACKAGE = {
    "pkg/init/build.yml": "image: init\narches: [amd64, arm64]\n",
    "pkg/init/Dockerfile": "FROM scratch\nCOPY hello /hello\n",
    "pkg/init/hello": "hello\n",
    "pkg/init/BUILD": "linuxkit_package()\n",
    "pkg/other/build.yml": "image: other\narches: [amd64]\n",
    "pkg/other/Dockerfile": "FROM scratch\nCOPY build.yml /\n",
    "pkg/other/BUILD": "linuxkit_package(skip_push=True)\n",
}


def make_repo(tmp_path: Path, registry: Registry, extra: str = "") -> Path:
    config = f'[linuxkit]\norg = "{registry.host}/lk"\ncache = "{tmp_path / "cache"}"\n{extra}'
    return init_repo(tmp_path / "repo", {**PACKAGE, "pants.toml": pants_toml(config)})


def raw(registry: Registry, ref: str, *args: str) -> dict:
    out = subprocess.run(
        ["skopeo", "inspect", "--raw", *args, f"docker://{registry.host}/{ref}"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def publish(root: Path, *args: str):
    return run_pants(root, *args, "publish", "pkg::")


def test_publish_pushes_arch_tags_and_index_then_skips(tmp_path: Path) -> None:
    with Registry() as registry:
        root = make_repo(tmp_path, registry)
        tree = git(root, "rev-parse", "HEAD:pkg/init").strip()
        result = publish(root).assert_success()
        index = raw(registry, f"lk/init:{tree}", "--tls-verify=false")
        assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
        for arch, manifest in zip(("amd64", "arm64"), index["manifests"]):
            arch_manifest = raw(registry, f"lk/init:{tree}-{arch}", "--tls-verify=false")
            assert arch_manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
            assert registry.manifest(f"lk/init:{tree}-{arch}")[2] == manifest["digest"]
        assert f"pushed {registry.host}/lk/init:{tree} sha256:" in result.stdout + result.stderr
        assert registry.tags("lk/other") == []  # skip_push
        assert "lk/other" in result.stderr and "skipped" in result.stderr

        again = publish(root).assert_success()
        output = again.stdout + again.stderr
        assert "pushed " not in output
        assert output.count("(already in the registry)") == 3


def test_release_tag_dirty_package_and_dry_run(tmp_path: Path) -> None:
    with Registry() as registry:
        root = make_repo(tmp_path, registry)
        git(root, "tag", "pkg-v1.2.3")
        git(root, "tag", "not-a-release")
        dry = publish(root, "--linuxkit-publish-dry-run").assert_success()
        assert "would push" in dry.stdout + dry.stderr
        assert registry.tags("lk/init") == []

        publish(root).assert_success()
        tree = git(root, "rev-parse", "HEAD:pkg/init").strip()
        assert sorted(registry.tags("lk/init")) == sorted(
            [tree, f"{tree}-amd64", f"{tree}-arm64", "v1.2.3", "v1.2.3-amd64", "v1.2.3-arm64"]
        )
        assert registry.manifest("lk/init:v1.2.3")[2] == registry.manifest(f"lk/init:{tree}")[2]

        write(root, {"pkg/init/hello": "changed, not committed\n"})
        dirty = publish(root).assert_success()
        assert "dirty package is never pushed" in dirty.stderr
        assert len(registry.tags("lk/init")) == 6


def test_wrong_password_is_one_line_and_tags_nothing(tmp_path: Path) -> None:
    with Registry(htpasswd=("user", "secret")) as registry:
        def config(creds: str, insecure: bool = True) -> str:
            listed = f'insecure_registries = ["{registry.host}"]\n' if insecure else ""
            return f'registry_creds = ["{registry.host}={creds}"]\n{listed}'

        # plain HTTP to a registry not listed as insecure: no credentials are sent
        root = make_repo(tmp_path, registry, config("user:secret", insecure=False))
        result = publish(root)
        assert result.exit_code != 0
        output = result.stdout + result.stderr
        lines = [l for l in output.splitlines() if "refusing to send credentials" in l]
        assert len(lines) == 1 and registry.host in lines[0] and "insecure_registries" in lines[0]
        assert "user:secret" not in output
        assert registry.tags("lk/init") == []

        write(root, {"pants.toml": pants_toml(
            f'[linuxkit]\norg = "{registry.host}/lk"\ncache = "{tmp_path / "cache"}"\n'
            + config("user:wrong"))})  # fmt: skip
        commit_all(root, "wrong password")
        result = publish(root)
        assert result.exit_code != 0
        lines = [l for l in (result.stdout + result.stderr).splitlines() if "authentication failed" in l]
        assert len(lines) == 1 and registry.host in lines[0]
        assert "wrong" not in result.stdout + result.stderr
        assert registry.tags("lk/init", ) == []

        write(root, {"pants.toml": pants_toml(
            f'[linuxkit]\norg = "{registry.host}/lk"\ncache = "{tmp_path / "cache"}"\n'
            + config("user:secret"))})  # fmt: skip
        commit_all(root, "right password")
        publish(root).assert_success()
        assert len(registry.tags("lk/init")) == 3


def test_registry_password_is_in_no_debug_log_or_store(tmp_path: Path) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    with Registry(htpasswd=("user", password)) as registry:
        creds = f'registry_creds = ["{registry.host}=user:{password}"]\ninsecure_registries = ["{registry.host}"]\n'
        root = make_repo(tmp_path, registry, creds)
        result = publish(root, "-ldebug").assert_success()
        assert len(registry.tags("lk/init")) == 3
    output = result.stdout + result.stderr
    # Pants' publish goal logs the process it runs, environment included, at debug level.
    assert "Execute InteractiveProcess(" in output
    assert password not in output
    assert files_holding((root / ".pants.d").rglob("*"), password) == []
    assert files_holding(local_store(), password) == []


def test_tls_registry_with_ca_file_and_restart(tmp_path: Path) -> None:
    with Registry(tls=True) as registry:
        root = make_repo(tmp_path, registry, f'registry_ca_file = "{registry.ca_cert}"\n')
        registry.stop()
        down = publish(root)
        assert down.exit_code != 0 and registry.host in down.stderr
        registry.start()
        publish(root).assert_success()
        tree = git(root, "rev-parse", "HEAD:pkg/init").strip()
        index = raw(registry, f"lk/init:{tree}", f"--cert-dir={registry.cert_dir}")
        assert len(index["manifests"]) == 2


def test_published_platforms_are_taken_from_the_registry_not_rebuilt(tmp_path: Path) -> None:
    with Registry() as registry:
        root = make_repo(tmp_path, registry)
        publish(root).assert_success()
        fresh_cache = f"--linuxkit-cache={tmp_path / 'empty-cache'}"
        result = run_pants(root, fresh_cache, "package", "pkg/init:").assert_success()
        assert result.stderr.count("(from the registry)") == 2
        assert "Starting: Building" not in result.stderr
        tree = git(root, "rev-parse", "HEAD:pkg/init").strip()
        pulled = json.loads(subprocess.run(
            ["skopeo", "inspect", "--raw", f"oci-archive:{root}/dist/pkg.init/init.oci.tar"],
            check=True, capture_output=True, text=True).stdout)  # fmt: skip
        assert pulled == raw(registry, f"lk/init:{tree}", "--tls-verify=false")


def test_registry_killed_mid_push_then_publish_again_completes(tmp_path: Path) -> None:
    with Registry() as registry:
        root = make_repo(tmp_path, registry)
        # A big layer, so the push is still uploading when the registry dies.
        write(root, {"pkg/init/hello": os.urandom(24 * 1024 * 1024).hex()})
        commit_all(root, "big")
        run_pants(root, "package", "pkg/init:").assert_success()
        env = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "NO_SCIE_WARNING": "1"}
        publishing = subprocess.Popen(
            [sys.executable, "-m", "pants", "publish", "pkg/init:"],
            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        uploads = registry.storage_dir / "docker/registry/v2/repositories/lk/init/_uploads"
        deadline = time.time() + 120
        while time.time() < deadline and not (uploads.exists() and any(uploads.iterdir())):
            time.sleep(0.05)
        registry.kill()
        output = publishing.communicate(timeout=300)[0]
        assert publishing.returncode != 0, output
        tree = git(root, "rev-parse", "HEAD:pkg/init").strip()
        assert registry.host in output
        registry.start()
        assert registry.tags("lk/init") == []  # nothing half-tagged

        publish(root).assert_success()
        index = raw(registry, f"lk/init:{tree}", "--tls-verify=false")
        archive = root / "dist/pkg.init/init.oci.tar"
        local = json.loads(subprocess.run(["skopeo", "inspect", "--raw", f"oci-archive:{archive}"],
                                          check=True, capture_output=True, text=True).stdout)  # fmt: skip
        assert index == local
