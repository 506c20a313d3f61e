"""The `[syft]` subsystem: the syft in the backend's own SBOM generator image."""

from __future__ import annotations

from pants.option.option_types import StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text


class SyftSubsystem(Subsystem):
    options_scope = "syft"
    help = help_text(
        """
        syft (anchore), the scanner in the SBOM generator image the backend assembles when
        `[linuxkit].sbom_scanner` is empty (the default).

        It is built once from the pinned Go module (`go` from `[buildkit].search_path`, modules
        from `[buildkit].goproxy`) by a cacheable process, like BuildKit, together with
        `lk-sbom-scan`, which speaks BuildKit's scanner protocol.
        """
    )

    version = StrOption(default="v1.57.1", help="The syft version (a tag of the Go module).")
    module = StrOption(
        default="github.com/anchore/syft",
        advanced=True,
        help="The Go module syft is built from (its `cmd/syft` package).",
    )
