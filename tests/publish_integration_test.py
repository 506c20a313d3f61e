"""`pants publish` against a real registry on 127.0.0.1: tags, releases, skips, resuming. Credentials
and TLS: publish_auth_integration_test.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


from gitrepo import commit_all, git, write
from pants_run import run_pants
from publishing import make_repo, publish, raw
from registry import Registry

def test_publish_pushes_arch_tags_and_index_then_skips(tmp_path: Path) -> None:
    with Registry() as registry:
        root = make_repo(tmp_path, registry)
        tree = git(root, "rev-parse", "HEAD:pkg/init").strip()
        result = publish(root).assert_success()
        index = raw(registry, f"lk/init:{tree}", "--tls-verify=false")
        # The pushed index holds each image and its SBOM attestation; `-<arch>` tags name the images.
        assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "unknown", "arm64", "unknown"]
        for arch, manifest in zip(("amd64", "arm64"), index["manifests"][::2]):
            arch_manifest = raw(registry, f"lk/init:{tree}-{arch}", "--tls-verify=false")
            assert arch_manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
            assert registry.manifest(f"lk/init:{tree}-{arch}")[2] == manifest["digest"]
        for attestation in index["manifests"][1::2]:  # pushed by digest, untagged
            pushed = raw(registry, f"lk/init@{attestation['digest']}", "--tls-verify=false")
            assert pushed["layers"][0]["mediaType"] == "application/vnd.in-toto+json"
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
