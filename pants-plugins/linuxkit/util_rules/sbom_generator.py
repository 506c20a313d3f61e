"""What `attest:sbom` names for a build (`[linuxkit].sbom_scanner`, chosen by
`sbom_scanner.py`) and what a build process needs to load the backend's own generator image."""

from __future__ import annotations

from dataclasses import dataclass

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.oci import check_digest
from linuxkit.pkglib.registry.references import parse_ref
from pants.engine.fs import EMPTY_DIGEST, Digest
from pants.util.frozendict import FrozenDict

OPTION = "[linuxkit].sbom_scanner"
SCANNER_DIR = "__sbom_scanner"  # where a build process finds the generator image's OCI layout


@dataclass(frozen=True)
class SbomGenerator:
    """What `attest:sbom` names (`reference`, "" for no SBOM) and, for the backend's own image,
    its OCI layout, which build processes load into their builder."""

    reference: str
    layout: Digest = EMPTY_DIGEST

    @property
    def immutable_inputs(self) -> FrozenDict[str, Digest]:
        return FrozenDict({SCANNER_DIR: self.layout} if self.layout != EMPTY_DIGEST else {})

    @property
    def env(self) -> FrozenDict[str, str]:
        if self.layout == EMPTY_DIGEST:
            return FrozenDict()
        return FrozenDict({"LINUXKIT_SBOM_SCANNER_IMAGE": self.reference,
                           "LINUXKIT_SBOM_SCANNER_LAYOUT": SCANNER_DIR})  # fmt: skip


def check_scanner_reference(value: str) -> str:
    """A generator image reference (`name[:tag][@sha256:...]`), or a one-line error."""
    name, at, digest = value.partition("@")
    try:
        if at:
            check_digest(digest)
        parse_ref(name)
    except LinuxkitError as e:
        raise LinuxkitError(f"{OPTION}: {value!r} is neither `false` nor an image reference: {e}")
    return value
