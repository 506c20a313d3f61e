"""Checks an OCI archive of pkg/init: each platform's image holds the `uname -m` its RUN step
wrote into /etc/machine, so RUN steps ran natively or under emulation on every platform.

    python3 build-support/check_run_steps.py dist/pkg.init/init.oci.tar
"""

import gzip
import io
import json
import sys
import tarfile

MACHINE = {"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x", "riscv64": "riscv64"}


def main(archive: str) -> int:
    with tarfile.open(archive) as oci:
        def blob(digest: str) -> bytes:
            return oci.extractfile("blobs/" + digest.replace(":", "/")).read()

        (top,) = json.loads(oci.extractfile("index.json").read())["manifests"]
        index = json.loads(blob(top["digest"]))
        problems, seen = [], []
        for entry in index["manifests"]:
            arch = entry.get("platform", {}).get("architecture")
            if arch not in MACHINE:
                continue
            manifest = json.loads(blob(entry["digest"]))
            found = None
            for layer in manifest["layers"]:
                with tarfile.open(fileobj=gzip.GzipFile(fileobj=io.BytesIO(blob(layer["digest"])))) as t:
                    for member in t:
                        if member.name.lstrip("./") == "etc/machine" and member.isfile():
                            found = t.extractfile(member).read().decode().strip()
            seen.append(arch)
            if found != MACHINE[arch]:
                problems.append(f"{arch}: /etc/machine is {found!r}, expected {MACHINE[arch]!r}")
    if not seen:
        problems.append("no platform images in the index")
    for problem in problems:
        print(f"check_run_steps: {archive}: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_run_steps: RUN steps ran on {', '.join(seen)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
