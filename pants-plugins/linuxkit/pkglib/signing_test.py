from __future__ import annotations

import base64
import json

from linuxkit.pkglib.registry.credentials import Credential
from linuxkit.pkglib.signing import cosign_error, docker_config_json


def test_docker_config_has_one_auths_entry_per_login() -> None:
    config = json.loads(
        docker_config_json(
            {
                "127.0.0.1:5000": Credential(username="u", password="p:w"),
                "ghcr.io": Credential(registry_token="tok"),
                "quay.io": Credential(identity_token="refresh"),
                "docker.io": Credential(username="me", password="pw"),
            }
        )
    )
    auths = config["auths"]
    assert base64.b64decode(auths["127.0.0.1:5000"]["auth"]) == b"u:p:w"
    assert auths["ghcr.io"] == {"registrytoken": "tok"}
    assert auths["quay.io"] == {"identitytoken": "refresh"}
    assert base64.b64decode(auths["https://index.docker.io/v1/"]["auth"]) == b"me:pw"


def test_cosign_error_is_its_error_line() -> None:
    stderr = (
        "Warning: something harmless\n"
        "Error: signing [r@sha256:1]: getting signer: reading key: decrypt: encrypted: "
        "decryption failed\n"
        "main.go:74: error during command execution: signing [r@sha256:1]: decryption failed\n"
    )
    assert cosign_error(stderr) == (
        "signing [r@sha256:1]: getting signer: reading key: decrypt: encrypted: decryption failed"
    )
    assert cosign_error("main.go:69: error during command execution: no signatures found\n") == (
        "no signatures found"
    )
    assert cosign_error("\nsomething odd\n\n") == "something odd"
    assert cosign_error("") == "failed with no output"
