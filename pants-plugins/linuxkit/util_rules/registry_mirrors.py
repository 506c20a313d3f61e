"""`[linuxkit].mirror` and `LINUXKIT_MIRROR`, resolved once, and where a read goes through them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from linuxkit.pkglib.mirrors import Mirror, mirrored, parse_mirrors
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict

MIRROR_ENV = "LINUXKIT_MIRROR"


@dataclass(frozen=True)
class RegistryMirrors:
    mirrors: FrozenDict[str, Mirror]  # registry (or `*`) -> mirror

    def read_location(self, reference: str) -> tuple[str, bool]:
        """Where to read `reference` from (itself or through its mirror), and whether that is
        plain HTTP (an `http://` mirror)."""
        found = mirrored(reference, self.mirrors)
        return (found[0], found[1].plain_http) if found else (reference, False)


@rule
async def registry_mirrors(linuxkit: LinuxkitSubsystem) -> RegistryMirrors:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest([MIRROR_ENV]))
    entries = [(e, MIRROR_ENV) for e in re.split(r"[\s,]+", env.get(MIRROR_ENV, "")) if e]
    entries += [(e, "[linuxkit].mirror") for e in linuxkit.mirror]
    return RegistryMirrors(FrozenDict(parse_mirrors(entries)))


def rules():
    return collect_rules()
