"""Build args and labels of a package build (docs/linuxkit-pkg.md §1.4, §3.5), and `@lkt:` references."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

from linuxkit.pkglib.errors import LinuxkitError

LKT_PREFIX = "@lkt:"
PROXY_VARS = (
    "http_proxy", "https_proxy", "no_proxy", "ftp_proxy", "all_proxy",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "FTP_PROXY", "ALL_PROXY",
)  # fmt: skip
MASK = "***"


@dataclass(frozen=True)
class LktReference:
    """A build arg whose value names other packages: `@lkt:pkg:<path>` or `@lkt:pkgs:<glob>`."""

    key: str
    kind: str  # "pkg" or "pkgs"
    path: str  # relative to the build root, normalised (a glob for "pkgs")


def split_build_arg(entry: str, where: str) -> tuple[str, str]:
    key, sep, value = entry.partition("=")
    if not sep:
        raise LinuxkitError(f"{where}: invalid build-arg, must be in format 'arg=value': {entry}")
    return key, value


def lkt_reference(entry: str, package_dir: str, where: str) -> LktReference | None:
    """The `@lkt:` reference in a build.yml `buildArgs` entry, or None for a plain arg.

    `package_dir` is relative to the build root; relative paths resolve against it (the anchor
    is build.yml, which lives there). Paths must stay inside the build root.
    """
    key, value = split_build_arg(entry, where)
    if not value.startswith(LKT_PREFIX):
        return None
    kind, _, path = value[len(LKT_PREFIX) :].partition(":")
    if kind not in ("pkg", "pkgs") or not path:
        raise LinuxkitError(f'{where}: unknown linuxkit build arg value "{value}"')
    if kind == "pkgs" and "%" not in key:
        raise LinuxkitError(f'{where}: invalid build arg key "{key}", must contain a \'%\'')
    if posixpath.isabs(path):
        raise LinuxkitError(
            f'{where}: "{value}": package paths must be relative to the package directory '
            "(absolute paths cannot be Pants targets)"
        )
    resolved = posixpath.normpath(posixpath.join(package_dir, path))
    if resolved == ".." or resolved.startswith("../"):
        raise LinuxkitError(f'{where}: "{value}" points outside the repository')
    return LktReference(key=key, kind=kind, path="" if resolved == "." else resolved)


def _glob_segment_to_regex(segment: str) -> str:
    out, i = "", 0
    while i < len(segment):
        c = segment[i]
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = segment.find("]", i + 1)
            if end < 0:
                raise ValueError("syntax error in pattern")
            body = segment[i + 1 : end]
            out += "[" + ("^" + body[1:] if body.startswith("^") else re.escape(body).replace("\\-", "-")) + "]"
            i = end
        elif c == "\\" and i + 1 < len(segment):
            i += 1
            out += re.escape(segment[i])
        else:
            out += re.escape(c)
        i += 1
    return out


def glob_matches(pattern: str, directories: Iterable[str]) -> list[str]:
    """Go's filepath.Glob over known package directories: per-segment, sorted, no dot-entries."""
    regex = re.compile("^" + "/".join(_glob_segment_to_regex(s) for s in pattern.split("/")) + "$")
    return sorted(
        d for d in directories if regex.match(d) and not posixpath.basename(d).startswith(".")
    )


def pkgs_key(key: str, repository: str) -> str:
    """`HASH_%` + `linuxkit/foo-bar` -> `HASH_LINUXKIT_FOO_BAR`."""
    return key.replace("%", repository.replace("/", "_").replace("-", "_").upper())


def resolve_build_args(
    entries: Sequence[str],
    package_dir: str,
    where: str,
    *,
    package_names: Mapping[str, tuple[str, str]],
) -> dict[str, str]:
    """build.yml `buildArgs` with `@lkt:` values replaced.

    `package_names` maps a package directory to (`<org>/<image>`, `<org>/<image>:<tag>`).
    """
    out: dict[str, str] = {}
    for entry in entries:
        ref = lkt_reference(entry, package_dir, where)
        if ref is None:
            key, value = split_build_arg(entry, where)
            out[key] = value
        elif ref.kind == "pkg":
            if ref.path not in package_names:
                raise LinuxkitError(
                    f'{where}: "{entry}": no linuxkit_package at "{ref.path or "."}"'
                )
            out[ref.key] = package_names[ref.path][1]
        else:
            matches = glob_matches(ref.path, package_names)
            if not matches:
                raise LinuxkitError(f'{where}: no packages found matching path "{ref.path}"')
            for directory in matches:
                repository, tag = package_names[directory]
                out[pkgs_key(ref.key, repository)] = tag
    return out


def go_pseudo_version(
    *, exact_tag: str | None, base_tag: str | None, commit_time_utc: str, commit: str
) -> str:
    """A Go module pseudo-version (what the docs promise for GOPKGVERSION).

    `commit_time_utc` is `YYYYmmddHHMMSS`. An exact `vX.Y.Z` tag at HEAD is the version itself;
    after a tag `vX.Y.Z` it is `vX.Y.(Z+1)-0.<time>-<12 hex>`; with no tag `v0.0.0-<time>-<12 hex>`.
    """
    if exact_tag:
        return exact_tag
    if base_tag:
        major, minor, patch = re.match(r"v(\d+)\.(\d+)\.(\d+)$", base_tag).groups()  # type: ignore[union-attr]
        return f"v{major}.{minor}.{int(patch) + 1}-0.{commit_time_utc}-{commit[:12]}"
    return f"v0.0.0-{commit_time_utc}-{commit[:12]}"


def preset_build_args(
    args: dict[str, str], presets: Mapping[str, str], proxies: Mapping[str, str]
) -> dict[str, str]:
    """User args win; presets (and the documented proxy args) fill only absent, non-empty keys."""
    out = dict(args)
    for key, value in [*presets.items(), *proxies.items()]:
        if value and key not in out:
            out[key] = value
    return out


def _split_userinfo(value: str) -> tuple[str, str, str] | None:
    """(what precedes the secret, the secret, what follows it) of a URL with credentials: the
    password, or a user-only token. Everything up to the last `@` counts, so an unescaped `/` or
    `@` in a password belongs to it."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    userinfo, at, host = rest.rpartition("@")
    if not at or not userinfo:
        return None
    user, colon, password = userinfo.partition(":")
    if colon:
        return f"{scheme}{sep}{user}:", password, f"@{host}"
    return f"{scheme}{sep}", userinfo, f"@{host}"


def mask_userinfo(value: str) -> str:
    """`http://u:p@h:3128` -> `http://u:***@h:3128`; a value without credentials as it is."""
    parts = _split_userinfo(value)
    return value if parts is None else f"{parts[0]}{MASK}{parts[2]}"


def redact(text: str, values: Iterable[str]) -> str:
    """`text` (a tool's output) with the credentials of each of `values` masked."""
    for value in values:
        parts = _split_userinfo(value)
        if parts is not None and parts[1]:
            text = text.replace(parts[1], MASK)
    return text


def mask_proxy_credentials(args: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Build args with the credentials of proxy args masked, and the real values of those args.

    BuildKit's Dockerfile frontend takes the proxy args (any case) as predefined args: they reach
    RUN steps but neither the image nor BuildKit's cache keys (`proxyEnvFromBuildArgs`, the
    ExecOp's `ProxyEnv`, which its cache map clears), so a build does not depend on the password."""
    masked, real = dict(args), {}
    for key, value in args.items():
        if key.upper() in PROXY_VARS and _split_userinfo(value) is not None:
            masked[key], real[key] = mask_userinfo(value), value
    return masked, real


def substitute(text: str, values: Callable[[str], str | None]) -> str:
    """Dockerfile-style `$VAR` / `${VAR}` expansion (unknown variables expand to "")."""

    def repl(m: re.Match) -> str:
        return values(m.group(1) or m.group(2)) or ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", repl, text)


def dockerfile_base_images(dockerfile: str, build_args: Mapping[str, str]) -> list[str]:
    """Stage base names after meta-ARG expansion (for feeding cached packages to BuildKit)."""
    meta: dict[str, str] = {}
    bases: list[str] = []
    stages: set[str] = set()
    seen_from = False
    lines = re.sub(r"\\\n", " ", dockerfile).splitlines()
    for line in lines:
        words = line.strip().split()
        if not words or words[0].startswith("#"):
            continue
        instruction = words[0].upper()
        if instruction == "ARG" and not seen_from:
            for word in words[1:]:
                name, _, default = word.partition("=")
                meta[name] = build_args.get(name, default.strip('"'))
        elif instruction == "FROM":
            seen_from = True
            rest = [w for w in words[1:] if not w.startswith("--")]
            if not rest:
                continue
            name = substitute(rest[0], meta.get)
            if len(rest) >= 3 and rest[1].upper() == "AS":
                stages.add(rest[2].lower())
            if name.lower() not in stages and name != "scratch":
                bases.append(name)
    return bases
