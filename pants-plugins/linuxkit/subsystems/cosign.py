"""The `[cosign]` subsystem: which cosign `pants publish` signs and verifies images with."""

from __future__ import annotations

from pants.option.option_types import StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text


class CosignSubsystem(Subsystem):
    options_scope = "cosign"
    help = help_text(
        """
        cosign (sigstore), which `pants publish` runs to sign each pushed index and per-arch
        manifest when `[linuxkit].signing_key` is set, and to verify the signatures before it
        reports success.

        It is built once from the pinned Go module (`go` from `[buildkit].search_path`, modules
        from `[buildkit].goproxy`) by a cacheable process, like BuildKit.
        """
    )

    version = StrOption(default="v2.6.5", help="The cosign version (a tag of the Go module).")
    module = StrOption(
        default="github.com/sigstore/cosign/v2",
        advanced=True,
        help="The Go module cosign is built from (its `cmd/cosign` package).",
    )
