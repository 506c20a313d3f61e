"""Benchmark `pants publish pkg::` against skopeo pushing the same OCI archives and tags.

One run makes a git repository in a temporary directory with 6 packages (`FROM scratch`, 2 arches;
each COPYs 256 KiB of random bytes shared by both arches plus 128 KiB per arch, so every package
has 3 layer blobs) and runs `pants package pkg::` (timed on its own). Then, each against its own
fresh docker-registry on 127.0.0.1:

  ours       `pants publish pkg::` into an empty registry (cold), then again (warm: everything is
             already there, so nothing is pushed). With `--no-pantsd`, and again with pantsd
             (started by an untimed `package` run) into a third registry;
  reference  per package, one after another as `linuxkit pkg push` does: `skopeo copy --all` of
             dist/'s archive to `<image>:<tag>` (the multi-arch index) and `skopeo copy
             --override-arch <arch>` to `<image>:<tag>-<arch>`, cold then warm.

`linuxkit pkg push` itself is timed when tests/linuxkit_reference.py finds the CLI (it needs
docker, and it builds as well). Exits non-zero unless every registry ends with the same tags per
repository, and every tag of ours has the digest skopeo pushed under it.

    python3 bench/publish.py [--smoke]    # --smoke: 2 packages
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import kill_pantsd, pants_toml, parse_args, run_pants, timed  # noqa: E402
from gitrepo import init_repo  # noqa: E402  (_common put tests/ on sys.path)
from linuxkit_reference import linuxkit_binary  # noqa: E402
from registry import Registry  # noqa: E402

FULL, SMOKE = 6, 2  # packages
ARCHES = ("amd64", "arm64")
DOCKERFILE = "FROM scratch\nARG TARGETARCH\nCOPY data.bin /data.bin\nCOPY arch-${TARGETARCH}.bin /arch.bin\n"


def make_repo(root: Path, org: str, cache: Path, n: int) -> list[Path]:
    dirs = [root / f"pkg/p{i:02d}" for i in range(n)]
    for d in dirs:
        d.mkdir(parents=True)
        (d / "data.bin").write_bytes(os.urandom(256 << 10))
        for arch in ARCHES:
            (d / f"arch-{arch}.bin").write_bytes(os.urandom(128 << 10))
    files = {".gitignore": "/.pants.d/\n/.pids/\n/dist/\n",
             "pants.toml": pants_toml({"org": org, "cache": str(cache)})}  # fmt: skip
    for d in dirs:
        rel = d.relative_to(root)
        files |= {f"{rel}/build.yml": f"image: {d.name}\narches: [{', '.join(ARCHES)}]\n",
                  f"{rel}/Dockerfile": DOCKERFILE, f"{rel}/BUILD": "linuxkit_package()\n"}  # fmt: skip
    init_repo(root, files)
    return dirs


def pants(root: Path, pantsd: bool, *args: str) -> str:
    proc = run_pants(root, pantsd, *args)
    return proc.stdout + proc.stderr


def publish(root: Path, pantsd: bool, org: str, cold: bool) -> float:
    secs, out = timed(pants, root, pantsd, f"--linuxkit-org={org}", "publish", "pkg::")
    if cold != ("pushed " in out) or (not cold and "(already in the registry)" not in out):
        sys.exit(f"publish ({'cold' if cold else 'warm'}) did not {'push' if cold else 'skip'}:\n{out}")
    return secs


def archives(root: Path) -> list[tuple[Path, str, str, list[str]]]:
    """(archive, repository without host, tag, arches) of each multi-arch archive in dist/ (its
    SBOM attestation manifests, platform unknown/unknown, are no arch)."""
    found = []
    for path in sorted(root.glob("dist/**/*.oci.tar")):
        with tarfile.open(path) as tar:
            (entry,) = json.load(tar.extractfile("index.json"))["manifests"]
            index = json.load(tar.extractfile(f"blobs/sha256/{entry['digest'].split(':')[1]}"))
        name, tag = entry["annotations"]["org.opencontainers.image.ref.name"].rsplit(":", 1)
        arches = [m["platform"]["architecture"] for m in index["manifests"]
                  if m.get("annotations", {}).get("vnd.docker.reference.type") != "attestation-manifest"]  # fmt: skip
        found.append((path, name.split("/", 1)[1], tag, arches))
    return found


def skopeo_push(host: str, archs: list[tuple[Path, str, str, list[str]]]) -> None:
    for path, repo, tag, arches in archs:
        copies = [(["--all"], tag)] + [(["--override-arch", a], f"{tag}-{a}") for a in arches]
        for args, dest in copies:
            subprocess.run(["skopeo", "copy", "-q", *args, "--dest-tls-verify=false", f"oci-archive:{path}",
                            f"docker://{host}/{repo}:{dest}"], check=True, capture_output=True)  # fmt: skip


def contents(reg: Registry, digests: bool) -> dict[str, dict[str, str]]:
    return {repo: {t: reg.manifest(f"{repo}:{t}")[2] if digests else "" for t in reg.tags(repo)}
            for repo in reg.catalog()}  # fmt: skip


def linuxkit_push(dirs: list[Path]) -> str:
    binary = linuxkit_binary()
    if not binary:
        return "linuxkit pkg push: unavailable (the linuxkit CLI cannot be installed here: Go proxy 403)"
    with Registry() as reg:
        secs, proc = timed(subprocess.run, [binary, "pkg", "push", "--org", f"{reg.host}/lk", *map(str, dirs)],
                           capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        return f"linuxkit pkg push: failed after {secs:.2f} s (it needs docker): {proc.stderr.strip()[-200:]}"
    return f"linuxkit pkg push (builds, then pushes; cold registry): {secs:.2f} s"


def bench(tmp: Path, n: int) -> tuple[dict[str, float], str, str]:
    root = tmp / "repo"
    with Registry() as reg_a, Registry() as reg_b, Registry() as reg_c:
        org_a, org_c = f"{reg_a.host}/lk", f"{reg_c.host}/lk"
        dirs = make_repo(root, org_a, tmp / "linuxkit-cache", n)
        t = {"package": timed(pants, root, False, "package", "pkg::")[0]}
        archs = archives(root)
        blobs = sum(p.stat().st_size for p, *_ in archs)
        t["ours cold --no-pantsd"] = publish(root, False, org_a, cold=True)
        t["ours warm --no-pantsd"] = publish(root, False, org_a, cold=False)
        t["skopeo cold"] = timed(skopeo_push, reg_b.host, archs)[0]
        t["skopeo warm"] = timed(skopeo_push, reg_b.host, archs)[0]
        pants(root, True, f"--linuxkit-org={org_c}", "package", "pkg::")  # starts pantsd
        t["ours cold pantsd"] = publish(root, True, org_c, cold=True)
        t["ours warm pantsd"] = publish(root, True, org_c, cold=False)
        a, b, c = contents(reg_a, True), contents(reg_b, True), contents(reg_c, False)
        expected = {repo: {tag, *(f"{tag}-{x}" for x in arches)} for _, repo, tag, arches in archs}
        if not (set(a) == set(b) == set(c) == set(expected)) or any(
            set(a[r]) != set(b[r]) or set(c[r]) != set(b[r]) or set(b[r]) != expected[r] for r in b
        ):
            sys.exit(f"TAG SETS DIFFER\nours: {a}\nskopeo: {b}\nours (pantsd): {c}\nexpected: {expected}")
        if a != b:
            sys.exit(f"DIGESTS DIFFER\nours: {a}\nskopeo: {b}")
        summary = (f"all 3 registries hold the same {sum(map(len, b.values()))} tags in {len(b)} repositories; "
                   f"ours and skopeo's digests are identical; archives total {blobs / 2**20:.1f} MiB")  # fmt: skip
    return t, summary, linuxkit_push(dirs)


def main() -> None:
    n = SMOKE if parse_args(__doc__) else FULL
    version = subprocess.run(["skopeo", "--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        try:
            t, summary, lk = bench(Path(tmp), n)
        finally:
            kill_pantsd(Path(tmp, "repo"))
    print(f"{n} packages x {len(ARCHES)} arches, {n * (len(ARCHES) + 1)} tags; {os.cpu_count()} CPUs; "
          f"{version}; reference pushes run one after another; load average {load:.1f} at start")  # fmt: skip
    print(f"pants package pkg:: (--no-pantsd, fresh linuxkit cache): {t.pop('package'):.2f} s")
    print(f"{'publish':<22} {'ours (s)':>9} {'skopeo (s)':>11}  ours/skopeo")
    for mode in ("--no-pantsd", "pantsd"):
        for state in ("cold", "warm"):
            ours, ref = t[f"ours {state} {mode}"], t[f"skopeo {state}"]
            print(f"{state + ' ' + mode:<22} {ours:9.2f} {ref:11.2f}  {ours / ref:10.2f}x")
    print(summary)
    print(lk)


if __name__ == "__main__":
    main()
