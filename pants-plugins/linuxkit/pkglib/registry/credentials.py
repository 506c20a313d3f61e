"""Registry credentials, found the way linuxkit finds them: its `--registry-creds` entries
first, then the docker config (`credHelpers`, `credsStore`, `auths`)."""

from __future__ import annotations

import base64
import csv
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from linuxkit.pkglib.errors import RegistryError
from linuxkit.pkglib.registry.references import DOCKER_HUB_ALIASES, DOCKER_HUB_DOMAIN

DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"  # docker config / credential helper key


@dataclass(frozen=True, repr=False)
class Credential:
    """A registry login. `registry_token` is sent as-is as a Bearer token; `identity_token` is an
    OAuth2 refresh token (docker config `identitytoken`, helper user `<token>`)."""

    username: str = ""
    password: str = ""
    registry_token: str = ""
    identity_token: str = ""

    def __repr__(self) -> str:  # never show secrets, even in a traceback
        return f"Credential(username={self.username!r}, secret=<redacted>)"


def registry_key(name: str) -> str:
    """The host a registry name (`https://index.docker.io/v1/`, `ghcr.io`, `localhost:5000`,
    an API host...) refers to, for matching credentials; Docker Hub's names all give docker.io."""
    name = name.strip()
    lowered = name.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            name = name[len(scheme) :]
            break
    host = name.split("/", 1)[0].lower()
    return DOCKER_HUB_DOMAIN if host in DOCKER_HUB_ALIASES else host


def _redact_cred_spec(spec: str) -> str:
    registry, sep, auth = spec.partition("=")
    if not sep:
        return spec
    user, colon, secret = auth.partition(":")
    if colon:
        return f"{registry}={user}:{'<redacted>' if secret.strip() else secret}"
    return f"{registry}={'<redacted>' if auth.strip() else auth}"


def split_registry_creds(values: Iterable[str]) -> list[str]:
    """pflag's string-slice parsing: every value is a CSV record, one entry per field.
    Newlines separate values too (for credentials passed through one environment variable)."""
    entries: list[str] = []
    for value in values:
        for line in value.splitlines():
            if not line.strip():
                continue
            try:
                for record in csv.reader([line], skipinitialspace=False):
                    entries.extend(record)
            except csv.Error:
                raise RegistryError("invalid registry auth specification list (bad quoting)")
    return entries


def parse_registry_creds(entries: Iterable[str]) -> dict[str, Credential]:
    """linuxkit's `--registry-creds` (docs/linuxkit-pkg.md §3.1 item 9): `<registry>=<user>:<password>` or
    `<registry>=<token>`, split on the first `=` then the first `:`, trimmed. Keys are
    `registry_key`s. Messages are linuxkit's, with the secret part of the spec redacted."""
    result: dict[str, Credential] = {}
    for cred in entries:
        shown = _redact_cred_spec(cred)
        registry_part, sep, auth_part = cred.partition("=")
        if not sep or not registry_part or not auth_part:
            raise RegistryError(f"invalid registry auth specification '{shown}'")
        registry_part = registry_part.strip()
        auth_part = auth_part.strip()
        user, colon, secret = auth_part.partition(":")
        user, secret = user.strip(), secret.strip()
        if not registry_part:
            raise RegistryError(
                f"invalid registry auth specification '{shown}', registry must not be blank"
            )
        if colon and (not user or not secret):
            raise RegistryError(
                f"invalid registry auth specification '{shown}', "
                "username and password must not be blank"
            )
        if not colon and not user:
            raise RegistryError(
                f"invalid registry auth specification '{shown}', token must not be blank"
            )
        if colon:
            result[registry_key(registry_part)] = Credential(username=user, password=secret)
        else:
            result[registry_key(registry_part)] = Credential(registry_token=auth_part)
    return result


def docker_config_dir() -> Path:
    configured = os.environ.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path.home() / ".docker"


def _helper_server_url(key: str) -> str:
    return DOCKER_HUB_AUTH_KEY if key == DOCKER_HUB_DOMAIN else key


def _run_credential_helper(helper: str, key: str, endpoint: str) -> Credential | None:
    program = f"docker-credential-{helper}"
    path = shutil.which(program)
    if path is None:
        raise RegistryError(
            f"{endpoint}: docker credential helper {program} (from the docker config) "
            "is not installed"
        )
    try:
        proc = subprocess.run(
            [path, "get"],
            input=_helper_server_url(key).encode(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RegistryError(
            f"{endpoint}: docker credential helper {program} failed: {type(e).__name__}"
        )
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace").lower()
        if "credentials not found" in output:
            return None
        raise RegistryError(
            f"{endpoint}: docker credential helper {program} failed (exit status {proc.returncode})"
        )
    try:
        reply = json.loads(proc.stdout)
        username, secret = reply.get("Username", ""), reply.get("Secret", "")
    except (ValueError, AttributeError):
        raise RegistryError(f"{endpoint}: docker credential helper {program} returned invalid JSON")
    if not secret:
        return None
    if username == "<token>":
        return Credential(identity_token=secret)
    return Credential(username=username or "", password=secret)


def _auth_entry_credential(entry: Mapping, endpoint: str, config_path: Path) -> Credential | None:
    username, password = entry.get("username") or "", entry.get("password") or ""
    encoded = entry.get("auth") or ""
    if encoded:
        try:
            decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise RegistryError(f"{endpoint}: invalid auth entry in {config_path}")
        user, colon, secret = decoded.partition(":")
        if not colon:
            raise RegistryError(f"{endpoint}: invalid auth entry in {config_path}")
        username, password = user, secret.strip("\x00")
    if entry.get("registrytoken"):
        return Credential(registry_token=entry["registrytoken"])
    if entry.get("identitytoken"):
        return Credential(username=username, identity_token=entry["identitytoken"])
    if username and password:
        return Credential(username=username, password=password)
    return None


def docker_config_credential(
    key: str, endpoint: str, config_dir: Path | None = None
) -> Credential | None:
    """Credentials for registry `key` the way the docker CLI finds them: `credHelpers[key]`,
    else `credsStore`, else the `auths` entry (base64 `auth`, `identitytoken`, ...)."""
    config_path = (config_dir or docker_config_dir()) / "config.json"
    try:
        config = json.loads(config_path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise RegistryError(f"cannot read docker config {config_path}: {type(e).__name__}")
    if not isinstance(config, dict):
        return None
    helpers = config.get("credHelpers") or {}
    if isinstance(helpers, dict):
        for name, helper in helpers.items():
            if registry_key(name) == key and helper:
                return _run_credential_helper(helper, key, endpoint)
    store = config.get("credsStore")
    if store:
        found = _run_credential_helper(store, key, endpoint)
        if found is not None:
            return found
    auths = config.get("auths") or {}
    if isinstance(auths, dict):
        for name, entry in auths.items():
            if registry_key(name) == key and isinstance(entry, dict):
                found = _auth_entry_credential(entry, endpoint, config_path)
                if found is not None:
                    return found
    return None


class CredentialStore:
    """Explicit linuxkit-style credentials first, then (unless disabled) the docker config."""

    def __init__(
        self,
        explicit: Mapping[str, Credential] | None = None,
        *,
        docker_config: bool = True,
        config_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._explicit = dict(explicit or {})
        self._docker_config = docker_config
        self._config_dir = Path(config_dir) if config_dir is not None else None

    @classmethod
    def from_specs(cls, specs: Iterable[str] = (), **kwargs) -> CredentialStore:
        return cls(parse_registry_creds(split_registry_creds(specs)), **kwargs)

    def lookup(self, registry: str) -> Credential | None:
        key = registry_key(registry)
        if key in self._explicit:
            return self._explicit[key]
        if self._docker_config:
            return docker_config_credential(key, registry, self._config_dir)
        return None
