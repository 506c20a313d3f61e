"""The `[linuxkit]` subsystem: the overrides `linuxkit pkg` takes on its command line."""

from __future__ import annotations

from linuxkit.pkglib.registry.transport import speaks_plain_http
from pants.option.custom_types import UnsetBool
from pants.option.option_types import BoolOption, StrListOption, StrOption
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
    platforms = StrListOption(
        default=[],
        help=help_text(
            """
            Build these platforms (`os/arch`, e.g. `linux/arm64`) instead of each package's
            `arches` (`linuxkit pkg build --platforms`).
            """
        ),
    )
    skip_platforms = StrListOption(
        default=[],
        help="Leave these platforms (`linux/<arch>`) out of every package's `arches` (`--skip-platforms`).",
    )
    build_args = StrListOption(
        default=[],
        help=help_text(
            """
            `KEY=VALUE` build args for every package, overriding build.yml `buildArgs` and the
            presets (like the lines of `linuxkit pkg build --build-arg-file`; key and value are
            trimmed).
            """
        ),
    )
    build_arg_file = StrListOption(
        default=[],
        help=help_text(
            """
            Files of `KEY=VALUE` lines (relative to the build root), applied in order over
            build.yml `buildArgs` and under `[linuxkit].build_args` (`linuxkit pkg build
            --build-arg-file`; every line is one arg, key and value trimmed).
            """
        ),
    )
    network = BoolOption(
        default=UnsetBool,  # unset: build.yml decides
        help=help_text(
            """
            Give RUN steps the network (`--linuxkit-network`, the CLI's `--network`) or not
            (`--no-linuxkit-network`, the CLI's `--nonetwork`) whatever build.yml `network` says.
            """
        ),
    )
    disable_cache = BoolOption(
        default=UnsetBool,  # unset: build.yml decides
        help=help_text(
            """
            Build without BuildKit's cache (`--linuxkit-disable-cache`, the CLI's
            `--disable-cache`) or with it (`--no-linuxkit-disable-cache`, the CLI's
            `--enable-cache`) whatever build.yml `disable-cache` says.
            """
        ),
    )
    ssh = StrListOption(
        default=[],
        help=help_text(
            """
            SSH agent sockets or keys for RUN `--mount=type=ssh` (`linuxkit pkg build --ssh`),
            in buildctl's syntax: `default` (the agent at `SSH_AUTH_SOCK`) or `<id>=<path>`.
            """
        ),
    )
    sbom_scanner = StrOption(
        default="",
        help=help_text(
            """
            The SBOM generator of every build (`linuxkit pkg build --sbom-scanner`): an image
            reference that speaks BuildKit's scanner protocol, or `false` for no SBOM. Empty (the
            default) is the image the backend assembles from syft (`[syft]`) and loads into each
            builder itself, so no registry is needed. Each platform then gets an SPDX attestation
            manifest (platform `unknown/unknown`) beside its image in the index, as the CLI's do.
            """
        ),
    )
    dry_run = BoolOption(
        default=False,
        help=help_text(
            """
            `pants package` builds nothing and prints, per package and platform, the
            `docker buildx build ...` line `linuxkit pkg build --dry-run` prints: build args,
            labels and network mode. The lines also go to `<output_path>.dry-run.txt` in dist/.
            """
        ),
    )
    reproducible = BoolOption(
        default=True,
        help=help_text(
            """
            Reproducible images (a departure from `linuxkit pkg build`): every platform is built
            with the build arg `SOURCE_DATE_EPOCH` = the commit time of the last commit that
            changed the package's directory or its extra sources (also for a dirty package; 0
            outside git; a `SOURCE_DATE_EPOCH` in build.yml `buildArgs` or
            `[linuxkit].build_args` wins), and BuildKit's `rewrite-timestamp=true` on the OCI
            output, so image configs and layers hold no build time and the same commit gives
            the same digests on any machine, any day. `--no-linuxkit-reproducible` keeps
            linuxkit's behaviour: build-time timestamps.
            """
        ),
    )
    builders = StrListOption(
        default=[],
        help=help_text(
            """
            The builder per platform, as `<os>/<arch>=<name>` (`linuxkit pkg build --builders`;
            `LINUXKIT_BUILDERS` is read when this is empty). A name is a BuildKit address
            (`unix:///run/buildkit/buildkitd.sock`, `tcp://host:1234`,
            `docker-container://<container>`) or a docker context. Without one, a docker context
            named `linuxkit-<os>-<arch>` is used if it exists, else the backend's own buildkitd.
            """
        ),
    )
    builder_name = StrOption(
        default=None,
        help=help_text(
            """
            The container that runs BuildKit on a docker-context builder (`--builder-name`, then
            `LINUXKIT_BUILDER_NAME`, then `linuxkit-builder`).
            """
        ),
    )
    builder_image = StrOption(
        default=None,
        help=help_text(
            """
            The BuildKit image of that container (`--builder-image`, then
            `LINUXKIT_BUILDER_IMAGE`, then `moby/buildkit:<[buildkit].version>`). A running
            container with another image is replaced.
            """
        ),
    )
    builder_config = StrOption(
        default=None,
        help=help_text(
            """
            A buildkitd `config.toml` copied into that container as
            `/etc/buildkit/buildkitd.toml` when it is created (`--builder-config`, then
            `LINUXKIT_BUILDER_CONFIG`).
            """
        ),
    )
    builder_restart = BoolOption(
        default=False,
        help="Replace that container even when it runs with the right name and image (`--builder-restart`).",
    )
    builder_tls_dir = StrOption(
        default=None,
        advanced=True,
        help="A directory with `ca.pem`, `cert.pem` and `key.pem` for `tcp://` builders (buildctl `--tlsdir`).",
    )
    cache = StrOption(
        default=None,
        help=help_text(
            """
            The linuxkit cache (an OCI image layout) that built images are written into
            (`--cache`); default `LINUXKIT_CACHE`, else `~/.linuxkit/cache`.
            """
        ),
    )
    force = BoolOption(
        default=False,
        help="Build every platform even when it is already built, cached or in a registry (`--force`).",
    )
    docker = BoolOption(
        default=False,
        help="Also load the local platform's image into docker as `<org>/<image>:<tag>` (`--docker`).",
    )
    check_registry = BoolOption(
        default=True,
        advanced=True,
        help="Before building a platform, look for it in its registry and use it from there if present.",
    )
    mirror = StrListOption(
        default=[],
        help=help_text(
            """
            Registry mirrors for every read (`linuxkit --mirror`): `<registry>=<url>`, e.g.
            `docker.io=http://mirror.example:5000`, or a bare `<url>` for every registry not
            otherwise named; the url starts with http:// or https://. Entries of
            `LINUXKIT_MIRROR` (space- or comma-separated) come first, so these win. Base images
            BuildKit pulls, `depends.docker-images`, and the registry lookups and pulls of
            published platforms all read from the mirror; pushes never go to a mirror.
            """
        ),
    )
    insecure_registries = StrListOption(
        default=[],
        advanced=True,
        help=help_text(
            """
            Registries (`host:port`) reached over plain HTTP or without TLS verification. Only
            these are sent credentials without TLS (this machine's registries are reached over
            plain HTTP too when no `registry_ca_file` is set, but anonymously).
            """
        ),
    )
    registry_creds = StrListOption(
        default=[],
        help=help_text(
            """
            Registry credentials in linuxkit's format, `<registry>=<user>:<password>` or
            `<registry>=<token>` (`--registry-creds`). Registries without an entry use the docker
            config (`DOCKER_CONFIG` or `~/.docker/config.json`) and its credential helpers.
            They reach processes only through private (0600) files, never an argv or environment
            (Pants logs those), and are never printed.
            """
        ),
    )
    registry_ca_file = StrOption(
        default=None,
        advanced=True,
        help=help_text(
            """
            A CA bundle (PEM) trusted for registries in addition to the system CAs: for
            lookups, pulls, `depends.docker-images` fetches and pushes.
            """
        ),
    )
    signing_key = StrOption(
        default=None,
        help=help_text(
            """
            A cosign private key file (`cosign generate-key-pair`; relative to the build root).
            When set, `pants publish` signs each pushed index and per-arch manifest with it (a
            cosign signature stored in the registry beside the image, with no transparency log)
            and verifies the signatures before writing the tags. build.yml
            `disable-content-trust: true` turns signing off for a package.
            """
        ),
    )
    signing_passphrase_env = StrOption(
        default="COSIGN_PASSWORD",
        advanced=True,
        help=help_text(
            """
            The environment variable holding the passphrase of `[linuxkit].signing_key` (used
            when `[linuxkit].signing_passphrase_command` is not set; an empty value is an
            unencrypted key's empty passphrase).
            """
        ),
    )
    signing_passphrase_command = StrOption(
        default=None,
        advanced=True,
        help=help_text(
            """
            A shell command that prints the passphrase of `[linuxkit].signing_key` (as linuxkit's
            older `content-trust-passphrase-command`). It runs in the signing process, with the
            environment's `PATH` and `HOME`; its output is never stored or printed.
            """
        ),
    )
    publish_dry_run = BoolOption(
        default=False,
        help="`pants publish` says what it would push (reading the registry only) and pushes nothing.",
    )
    release = StrOption(
        default=None,
        help=help_text(
            """
            `pants publish` also pushes every package as `<org>/<image>:<release>` (with its
            `-<arch>` tags), like `linuxkit pkg push --release`. Without it, a git tag
            `pkg-vX.Y.Z` at HEAD names the release.
            """
        ),
    )
    force_push = BoolOption(
        default=False,
        help="`pants publish` replaces tags that exist in the registry with other content (an error otherwise).",
    )
    tailor = BoolOption(
        default=True,
        help="If true, `tailor` adds a `linuxkit_package` beside each `build.yml` and a `linuxkit_image` for each LinuxKit image yml.",
        advanced=True,
    )

    @property
    def org(self) -> str | None:
        return self._org

    def speaks_plain_http(self, host: str) -> bool:
        """Listed registries, and this machine's unless a CA file is given (then it is TLS)."""
        return speaks_plain_http(
            host, insecure=host in self.insecure_registries, ca_file=self.registry_ca_file
        )
