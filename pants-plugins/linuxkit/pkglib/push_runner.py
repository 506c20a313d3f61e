"""Command-line entry that pushes a package's OCI archive to a registry (`linuxkit pkg push`).

  python -m linuxkit.pkglib.push_runner --archive image.oci.tar --ref docker.io/org/pkg:tag \\
      [--release-ref docker.io/org/pkg:v1.0.0] [--no-arch-tags] [--insecure] [--ca-file F] \\
      [--dry-run] [--force] [--content-only] [--creds-file FILE]

Prints one line per tag (`pushed <ref> <digest>`, `skipped <ref> <digest> (already in the
registry)` or `would push <ref> <digest>`); on failure prints one error line to stderr and exits
1. Credentials never travel on the command line or in the environment: `--creds-file FILE` names a
private file holding linuxkit `--registry-creds` entries (`<registry>=<user>:<password>` or
`<registry>=<token>`, comma- or newline-separated); the docker config is used otherwise.
Stdlib only plus pkglib.
"""

from __future__ import annotations

import argparse
import sys

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.registry.credentials import CredentialStore
from linuxkit.pkglib.registry.push import push_refs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="push_runner", description="Push a LinuxKit package OCI archive to a registry."
    )
    parser.add_argument("--archive", required=True, help="OCI archive (one multi-arch index root)")
    parser.add_argument("--ref", required=True, help="image reference to push, e.g. org/pkg:tag")
    parser.add_argument("--release-ref", action="append", default=[], help="also push as this ref")
    parser.add_argument("--no-arch-tags", action="store_true", help="skip the <tag>-<arch> tags")
    parser.add_argument("--insecure", action="store_true", help="plain HTTP registry")
    parser.add_argument("--ca-file", help="CA certificate bundle for the registry's TLS")
    parser.add_argument("--dry-run", action="store_true", help="only say what would be pushed")
    parser.add_argument("--force", action="store_true", help="replace tags that differ")
    parser.add_argument(
        "--content-only", action="store_true", help="upload blobs and manifests, write no tag"
    )
    parser.add_argument(
        "--creds-file", metavar="FILE", help="file with --registry-creds entries, one per line"
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        specs: list[str] = []
        if args.creds_file:
            with open(args.creds_file) as f:
                specs.append(f.read())
        store = CredentialStore.from_specs(specs)
        push_refs(
            args.archive,
            [args.ref, *args.release_ref],
            arch_tags=not args.no_arch_tags,
            insecure=args.insecure,
            ca_file=args.ca_file,
            creds=store,
            force=args.force,
            dry_run=args.dry_run,
            content_only=args.content_only,
            log=lambda line: print(line, flush=True),
        )
    except (LinuxkitError, OSError) as e:
        if isinstance(e, LinuxkitError):
            message = str(e)
        else:
            message = f"{e.filename}: {e.strerror}" if e.filename else str(e)
        print(message.replace("\n", " "), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
