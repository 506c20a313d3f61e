from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from linuxkit.pkglib.errors import RegistryError
from linuxkit.pkglib.registry.credentials import (
    Credential,
    CredentialStore,
    parse_registry_creds,
    registry_key,
    split_registry_creds,
)

def test_parse_registry_creds() -> None:
    creds = parse_registry_creds(
        ["ghcr.io=user:pa:ss", " https://index.docker.io/v1/ = tok ", "localhost:5000=u:p"]
    )
    assert creds["ghcr.io"].username == "user" and creds["ghcr.io"].password == "pa:ss"
    assert creds["docker.io"].registry_token == "tok"
    assert creds["localhost:5000"].password == "p"
    assert "pa:ss" not in repr(creds)
    cases = {
        "nothing": "invalid registry auth specification 'nothing'",
        "reg=": "invalid registry auth specification 'reg='",
        " =secret": "invalid registry auth specification ' =<redacted>', registry must not be blank",
        "reg=:secret": "invalid registry auth specification 'reg=:<redacted>', username and password must not be blank",
        "reg=user:": "invalid registry auth specification 'reg=user:', username and password must not be blank",
        "reg= ": "invalid registry auth specification 'reg= ', token must not be blank",
    }
    for spec, message in cases.items():
        with pytest.raises(RegistryError) as e:
            parse_registry_creds([spec])
        assert str(e.value) == message
    assert split_registry_creds(["a=b:c,d=e", "f=g\nh=i"]) == ["a=b:c", "d=e", "f=g", "h=i"]

def test_registry_key() -> None:
    for name in (
        "docker.io",
        "https://index.docker.io/v1/",
        "registry-1.docker.io",
        "http://docker.io",
    ):
        assert registry_key(name) == "docker.io"
    assert registry_key("https://GHCR.io/") == "ghcr.io"

def test_docker_config_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helper_dir = tmp_path / "bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-fake"
    helper.write_text(
        "#!/bin/sh\nread server\n"
        'if [ "$server" = "ghcr.io" ]; then echo \'{"ServerURL":"ghcr.io","Username":"hu","Secret":"hs"}\'; exit 0; fi\n'
        'if [ "$server" = "https://index.docker.io/v1/" ]; then echo \'{"Username":"<token>","Secret":"idt"}\'; exit 0; fi\n'
        "echo 'credentials not found in native keychain'; exit 1\n"
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{helper_dir}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "dc"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    "http://localhost:5000": {"auth": base64.b64encode(b"au:ap").decode()},
                    "quay.io": {},
                },
                "credHelpers": {"ghcr.io": "fake", "index.docker.io": "fake", "quay.io": "fake"},
            }
        )
    )
    store = CredentialStore(config_dir=config)
    ghcr = store.lookup("ghcr.io")
    assert (ghcr.username, ghcr.password) == ("hu", "hs")
    assert store.lookup("registry-1.docker.io").identity_token == "idt"
    local = store.lookup("localhost:5000")
    assert (local.username, local.password) == ("au", "ap")
    assert store.lookup("quay.io") is None  # helper: not found
    assert store.lookup("example.com") is None
    explicit = CredentialStore({"ghcr.io": Credential(registry_token="x")}, config_dir=config)
    assert explicit.lookup("ghcr.io").registry_token == "x"
    (config / "config.json").write_text(json.dumps({"credsStore": "missing-helper"}))
    with pytest.raises(RegistryError, match="docker-credential-missing-helper .* is not installed"):
        store.lookup("ghcr.io")
