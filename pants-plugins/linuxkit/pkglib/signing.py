"""Pants-free pieces of signed publishes: the docker config that gives cosign registry logins,
and cosign's failure output made into one line."""

from __future__ import annotations

import base64
import json
import re
from typing import Mapping

from linuxkit.pkglib.registry.credentials import Credential
from linuxkit.pkglib.registry.references import DOCKER_HUB_DOMAIN

# The key docker (and go-containerregistry, hence cosign) gives Docker Hub in `auths`.
_DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
_ERROR_LINE = re.compile(r"^(?:Error: |.*error during command execution: )(.*)$")


def docker_config_json(creds: Mapping[str, Credential]) -> bytes:
    """A docker `config.json` with an `auths` entry per registry (keyed by `registry_key`)."""
    auths = {}
    for key, cred in sorted(creds.items()):
        registry = _DOCKER_HUB_CONFIG_KEY if key == DOCKER_HUB_DOMAIN else key
        if cred.registry_token:
            auths[registry] = {"registrytoken": cred.registry_token}
        elif cred.identity_token:
            auths[registry] = {"identitytoken": cred.identity_token}
        else:
            login = f"{cred.username}:{cred.password}".encode()
            auths[registry] = {"auth": base64.b64encode(login).decode()}
    return json.dumps({"auths": auths}).encode()


def cosign_error(stderr: str) -> str:
    """The line that says why cosign failed (its `Error: ...`), else its last non-empty line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        match = _ERROR_LINE.match(line)
        if match:
            return match.group(1)
    return lines[-1] if lines else "failed with no output"
