"""The `[buildkit]` subsystem: which BuildKit (buildctl, buildkitd) and runc the backend uses."""

from __future__ import annotations

from pants.option.option_types import DictOption, StrListOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text


class BuildkitSubsystem(Subsystem):
    options_scope = "buildkit"
    help = help_text(
        """
        BuildKit, which builds every platform of a `linuxkit_package`.

        `buildctl` and `buildkitd` are downloaded from the release archive when
        `[buildkit].known_versions` lists its sha256, and otherwise built once from the pinned Go
        module (`go` from the Go module proxy); either way Pants caches the result. With no builder
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
    url_template = StrOption(
        default="https://github.com/moby/buildkit/releases/download/{version}/buildkit-{version}.{platform}.tar.gz",
        advanced=True,
        help=help_text(
            """
            Where BuildKit's release archive is downloaded from, for versions listed in
            `[buildkit].known_versions`. `{version}` and `{platform}` are substituted
            (`file:///abs/path` works too).
            """
        ),
    )
    url_platform_mapping = DictOption[str](
        default={"linux_x86_64": "linux-amd64", "linux_arm64": "linux-arm64"},
        advanced=True,
        help="Pants platform names to the platform names of the release archives.",
    )
    known_versions = StrListOption(
        default=[],
        advanced=True,
        help=help_text(
            """
            Release archives to download instead of building from the Go module, as
            `<version>|<pants platform>|<sha256>|<size in bytes>`. Empty by default: the archives
            live on GitHub, and the Go module proxy is the source that is reachable everywhere.
            """
        ),
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
