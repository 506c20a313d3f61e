"""`pants publish` to a real registry on 127.0.0.1 that needs credentials or TLS: a wrong password
or plain HTTP is one line and tags nothing, the password reaches no log or store, a CA file works."""

from __future__ import annotations

import uuid
from pathlib import Path

from gitrepo import commit_all, git, write
from pants_run import files_holding, local_store, pants_toml
from publishing import make_repo, publish, raw
from registry import Registry


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
        assert len(index["manifests"]) == 4  # two images, two attestations
