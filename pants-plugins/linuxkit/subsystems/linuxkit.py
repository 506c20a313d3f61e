"""The `[linuxkit]` subsystem: the overrides `linuxkit pkg` takes on its command line."""

from __future__ import annotations

from pants.option.option_types import BoolOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text


class LinuxkitSubsystem(Subsystem):
    options_scope = "linuxkit"
    help = "Options for LinuxKit packages (`linuxkit_package` targets)."

    _org = StrOption(
        default=None,
        help=help_text(
            """
            Override every package's organisation, like `linuxkit pkg --org`. Without it, the
            `LINUXKIT_PKG_ORG` environment variable (if non-empty) does the same.
            """
        ),
    )
    hash = StrOption(
        default=None,
        help=help_text(
            """
            Use this string as every package's hash instead of the git tree hash (`--hash`): no
            tree hash, no extra-sources hash and no `-dirty` suffix.
            """
        ),
    )
    dev = BoolOption(
        default=False,
        help="Developer mode (`--dev`): org is `$USER` and, unless `[linuxkit].hash` is set, hash is `dev`.",
    )
    hash_commit = StrOption(
        default="HEAD",
        help=help_text(
            """
            The commit whose tree hashes name the packages (`--hash-commit`). Any value other
            than `HEAD` disables dirty detection; such tags can be shown but not built.
            """
        ),
    )
    hash_path = StrOption(
        default=None,
        help=help_text(
            """
            Hash this directory (relative to the build root; a parent of every package) instead
            of each package's own directory (`--hash-path`).
            """
        ),
    )
    force_dirty = BoolOption(
        default=False,
        help="Treat every package in git as dirty (`--force-dirty`): `-dirty-` suffix, never pushed.",
    )
    tag = StrOption(
        default=None,
        help=help_text(
            """
            Tag template for every package, overriding build.yml `tag` (`--tag`), e.g.
            `{{.Hash}}-test`. An empty value keeps each package's own template.
            """
        ),
    )
    tailor = BoolOption(
        default=True,
        help="If true, `tailor` adds a `linuxkit_package` target beside each unowned `build.yml`.",
        advanced=True,
    )

    @property
    def org(self) -> str | None:
        return self._org
