"""Pinned references `org/image:<tag>` in the files LinuxKit repositories keep them in.

LinuxKit bumps them with `scripts/update-component-sha.sh --image <image>:<tag>`: a sed over the
tracked `*.yml`, `*.yaml`, `*.yml.in`, `*.yaml.in`, `*/Dockerfile`, `*/Makefile` and `*/test.sh`
outside `vendor/` that rewrites `<space><image>:<anything but space>`. These helpers find and
rewrite the same references, with three differences: a Dockerfile reference may also follow `=`
(`ARG BASE=...`, `COPY --from=...`, `RUN --mount=type=bind,from=...`), a suffix after the hash
(`-amd64`) is kept, and only tags holding a 40-hex git hash are pins (`:latest`, `:6.6.71` are not).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass
from typing import AbstractSet, Iterator, Mapping, Optional, Tuple

# The files update-component-sha.sh rewrites (git pathspecs: `*` also matches `/`).
PIN_FILE_PATTERNS = ("*.yml", "*.yaml", "*.yml.in", "*.yaml.in", "*/Dockerfile", "*/Makefile", "*/test.sh")
# The same, as Pants globs.
PIN_FILE_GLOBS = tuple(f"**/{p.lstrip('*/')}" if p.startswith("*/") else f"**/{p}" for p in PIN_FILE_PATTERNS)

_REPOSITORY = r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+"
_TAG = r"[\w][\w.-]*"
_DIGEST = r"@sha256:[0-9a-f]{64}"
_REFERENCE = re.compile(
    rf"(?P<lead>[\s=,])(?P<repo>(?:[a-zA-Z0-9.-]+(?::\d+)?/)?{_REPOSITORY}):(?P<tag>{_TAG})(?P<digest>{_DIGEST})?"
)
_PINNED_TAG = re.compile(r"^(?P<hash>[0-9a-f]{40})(?P<dirty>-dirty-[0-9a-f]{7})?(?P<rest>.*)$")
_HASH = re.compile(r"[0-9a-f]{40}")


def is_pin_file(path: str) -> bool:
    """Whether update-component-sha.sh would look at `path` (relative to the repository)."""
    if "/vendor/" in f"/{path}":
        return False
    return any(fnmatch.fnmatchcase(path, p) for p in PIN_FILE_PATTERNS)


def is_dockerfile(path: str) -> bool:
    return posixpath.basename(path).startswith("Dockerfile")


@dataclass(frozen=True)
class Reference:
    line: int  # 1-based
    start: int  # offset of `repo` in the text
    end: int  # offset after the tag (and digest)
    repository: str  # as written, e.g. linuxkit/alpine or docker.io/linuxkit/alpine
    tag: str
    digest: str  # "@sha256:..." or ""

    @property
    def text(self) -> str:
        return f"{self.repository}:{self.tag}{self.digest}"

    @property
    def dirty(self) -> bool:
        return "-dirty-" in self.tag


def short_repository(repository: str) -> str:
    """`docker.io/linuxkit/alpine` -> `linuxkit/alpine`: the `org/image` key packages have."""
    if repository.startswith("docker.io/"):
        repository = repository[len("docker.io/") :]
    if repository.startswith("library/"):
        repository = repository[len("library/") :]
    return repository


def references(text: str, path: str) -> Iterator[Reference]:
    """Every `repo:tag` reference in `text` as the sed script sees them (whitespace before the
    name; in Dockerfiles also `=` or `,`)."""
    dockerfile = is_dockerfile(path)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    line = 0
    for match in _REFERENCE.finditer(text):
        if not dockerfile and not match.group("lead").isspace():
            continue
        start = match.start("repo")
        while line + 1 < len(line_starts) and line_starts[line + 1] <= start:
            line += 1
        yield Reference(
            line=line + 1,
            start=start,
            end=match.end(),
            repository=match.group("repo"),
            tag=match.group("tag"),
            digest=match.group("digest") or "",
        )


def dockerfile_images(text: str, path: str) -> Iterator[Reference]:
    """The images a Dockerfile builds on: `FROM` (also through an `ARG` default, with
    `--platform`, before `AS`), `COPY --from=` and `RUN --mount=...from=`. Comments are skipped."""
    masked = "\n".join("" if raw.lstrip().startswith("#") else raw for raw in text.split("\n"))
    return references(masked, path)


def repin(tag: str, current: str) -> Optional[str]:
    """The tag a pin `tag` should have now that its package's tag is `current`; None when `tag`
    is not a pin (no 40-hex hash). A suffix after the hash (`-amd64`) is kept; a `-dirty-` part
    is dropped."""
    match = _PINNED_TAG.match(tag)
    if not match:
        return None
    rest = match.group("rest")
    current_match = _HASH.search(current)
    current_rest = current[current_match.end() :] if current_match else ""
    if current_rest and rest.startswith(current_rest):
        rest = rest[len(current_rest) :]
    return current + rest


@dataclass(frozen=True)
class StalePin:
    path: str
    line: int
    reference: str  # as written
    current: str  # `repo:tag` as it should be


def rewrite(
    text: str, path: str, current_tags: Mapping[str, str], skip: AbstractSet[str] = frozenset()
) -> Tuple[str, Tuple[StalePin, ...]]:
    """`text` with every stale pin of a repository in `current_tags` (`org/image` -> tag) but not
    in `skip` rewritten, and the stale pins found."""
    out = []
    stale = []
    last = 0
    for ref in references(text, path):
        repository = short_repository(ref.repository)
        current = current_tags.get(repository)
        if current is None or repository in skip:
            continue
        new_tag = repin(ref.tag, current)
        if new_tag is None or new_tag == ref.tag:
            continue  # not a pin, or current (a digest after a current tag is left alone)
        replacement = f"{ref.repository}:{new_tag}"
        stale.append(StalePin(path, ref.line, ref.text, replacement))
        out.append(text[last : ref.start])
        out.append(replacement)
        last = ref.end
    out.append(text[last:])
    return "".join(out), tuple(stale)


def dirty_pins(text: str, path: str) -> Iterator[Reference]:
    """Committed `-dirty-` tags: never pushed, so never pullable."""
    return (ref for ref in references(text, path) if ref.dirty)
