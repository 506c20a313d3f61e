"""The `[buildkit]` subsystem: which BuildKit (buildctl, buildkitd) and runc the backend uses."""

from __future__ import annotations

from pants.option.option_types import StrListOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text


class BuildkitSubsystem(Subsystem):
    options_scope = "buildkit"
    help = help_text(
        """
        BuildKit, which builds every platform of a `linuxkit_package`.

        `buildctl` and `buildkitd` are built once from the pinned Go module (`go` from the Go
        module proxy; the result is cached by Pants like any process output). With no builder
        configured, the backend starts its own `buildkitd` on first use and reuses it across runs;
        its state and socket live in Pants' named caches (`linuxkit_buildkitd`), and it is restarted
        when its version is not the pinned one.
        """
    )

    version = StrOption(default="v0.32.2", help="The BuildKit version (a tag of the Go module).")
    module = StrOption(
        default="github.com/moby/buildkit",
        advanced=True,
        help="The Go module BuildKit is built from.",
    )
    runc_version = StrOption(
        default="v1.2.6",
        advanced=True,
        help=help_text(
            """
            The runc built for the backend's own buildkitd when no `runc` is found on
            `[buildkit].search_path` (built from `github.com/opencontainers/runc` with cgo).
            """
        ),
    )
    search_path = StrListOption(
        default=["<PATH>", "/usr/local/go/bin", "/usr/local/sbin", "/usr/sbin", "/sbin"],
        advanced=True,
        help="Where to look for `go`, `runc`, `tar` and `skopeo`. `<PATH>` is the environment's PATH.",
    )
    goproxy = StrOption(
        default="https://proxy.golang.org,direct",
        advanced=True,
        help="GOPROXY for building BuildKit and runc from their Go modules.",
    )
