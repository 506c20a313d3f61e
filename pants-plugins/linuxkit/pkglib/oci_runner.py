"""Command-line entry for the OCI steps that run as Pants processes (they stream large blobs
from disk, which rule code cannot). Stdlib only plus pkglib's OCI and linuxkit cache modules.

  assemble <name> <out-dir> <arch>=<tar>...     multi-arch layout + archive + summary.json (with
                                                `<arch>.att.tar`, a pulled platform's attestations)
  cache-load <cache> <name> <inputs> <tar>...   write built per-arch tars into the linuxkit cache
                                                (prints {index, images: {tar: manifest digest}})
  cache-export <cache> <name> <arch> <digest> <tar>  one platform from the linuxkit cache, as a tar
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from linuxkit.pkglib import linuxkit_cache as lc
from linuxkit.pkglib.cache_lookup import store_build
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.oci import go_json


def _load_arch(cache: lc.LinuxkitCache, tar: str) -> tuple:
    return lc.arch_descriptors(cache, lc.load_build_output(cache, tar))


def assemble(name: str, out_dir: str, arch_tars: list[str]) -> None:
    out = Path(out_dir)
    staging = lc.open_cache(out / "layout")
    descriptors = []
    per_arch = {}
    for item in arch_tars:
        arch, _, tar = item.partition("=")
        descs = _load_arch(staging, tar)
        attestations = Path(tar).with_suffix(".att.tar")  # a pulled platform's SBOMs, if any
        if attestations.exists():
            descs += _load_arch(staging, str(attestations))
        per_arch[arch] = [json.loads(go_json(d)) for d in descs]
        descriptors.extend(descs)
    root = lc.write_index(staging, name, descriptors)
    lc.export_image(staging, name, out / "image.oci.tar")
    staging.lock_path.unlink()
    summary = {"name": name, "index": json.loads(go_json(root)), "platforms": per_arch}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True))


def cache_load(cache_dir: str, name: str, inputs: str, tars: list[str]) -> None:
    """Write built tars into the cache. `inputs` fingerprints what the tag does not cover (the
    tags of referenced packages); a later lookup only trusts the entry if it matches. Prints the
    index digest and each tar's image manifest digest, as JSON."""
    root, images = store_build(lc.open_cache(cache_dir), name, inputs, tars)
    print(json.dumps({"index": root.digest, "images": images}))


def cache_export(cache_dir: str, name: str, arch: str, digest: str, tar: str) -> None:
    """Export the platform Pants looked up, only if the cache still resolves it to `digest` (the
    process's cache key): another writer may have replaced it since."""
    cache = lc.open_cache(cache_dir)
    with lc.locked(cache, required=False):
        found = lc.find_image(cache, name, arch)
        if found is None or found.digest != digest:
            raise LinuxkitError(f"{name} for linux/{arch} in the linuxkit cache is no longer {digest}")
        lc.export_image(cache, name, tar, arch=arch, name=f"{name}-{arch}")


def main(argv: list[str]) -> int:
    command, *args = argv
    try:
        if command == "assemble":
            assemble(args[0], args[1], args[2:])
        elif command == "cache-load":
            cache_load(args[0], args[1], args[2], args[3:])
        elif command == "cache-export":
            cache_export(*args)
        else:
            raise LinuxkitError(f"unknown command {command}")
    except (LinuxkitError, OSError) as e:
        print(f"{e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
