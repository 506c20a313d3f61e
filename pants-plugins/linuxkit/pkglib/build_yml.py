"""`build.yml`: parsing, BUILD-file overrides and validation, as strict as `linuxkit pkg`."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Tuple, Union

import yaml

from linuxkit.pkglib import gojson, goyaml
from linuxkit.pkglib.errors import BuildYmlError
from linuxkit.pkglib.gotypes import IMAGE_CONFIG, PKG_INFO
from linuxkit.pkglib.names import image_problem, org_problem

# The docs' default platforms (the CLI's code says riscv64 instead of s390x; we follow the docs).
DEFAULT_ARCHES = ("amd64", "arm64", "s390x")
DEFAULT_ORG = "linuxkit"
DEFAULT_TAG = "{{.Hash}}"
DEFAULT_GITREPO = "https://github.com/linuxkit/linuxkit"

_DIGEST_FORMAT = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class DockerImageDepends:
    """`depends.docker-images`: images saved into the build context, each pinned by digest."""

    images: Tuple[str, ...] = ()
    target: str = ""  # relative to the package dir: one tarball holding every image
    target_dir: str = ""  # relative to the package dir: one `<name>@<digest>.tar` per image
    from_file: str = ""


@dataclass(frozen=True)
class ExtraSource:
    src: str  # relative to the package directory, normalised (may start with ../)
    dst: str  # destination in the build context


@dataclass(frozen=True)
class BuildYml:
    """A validated package definition: build.yml with the BUILD file's overrides applied."""

    image: str
    org: str = DEFAULT_ORG
    tag: str = DEFAULT_TAG
    dockerfile: str = "Dockerfile"
    arches: Tuple[str, ...] = DEFAULT_ARCHES
    extra_sources: Tuple[ExtraSource, ...] = ()
    gitrepo: str = DEFAULT_GITREPO
    network: bool = False
    disable_cache: bool = False
    disable_content_trust: bool = False  # publish unsigned ([linuxkit].signing_key)
    config_label: Optional[str] = None  # the org.mobyproject.config label value, if any
    build_args: Optional[Tuple[str, ...]] = None
    depends: DockerImageDepends = DockerImageDepends()


@dataclass(frozen=True)
class DecodedBuildYml:
    keys: Mapping[str, Any]  # the keys the file sets, decoded
    lines: Mapping[str, int]  # field path -> line, for error messages


def decode_yaml(text: Union[str, bytes], path: str) -> DecodedBuildYml:
    """Decodes build.yml (its bytes, or text) into the keys it sets (strict, yaml.v3 semantics)."""
    try:
        node = goyaml.compose_first_document(text)
        decoder = goyaml.Decoder()
        return DecodedBuildYml(decoder.decode(node, PKG_INFO), decoder.lines)
    except goyaml.EmptyDocument:
        raise BuildYmlError(path, "empty file: a build.yml needs at least `image:`")
    except goyaml.DecodeError as e:
        raise BuildYmlError(path, e.problem, line=e.line, field=e.field)
    except yaml.reader.ReaderError as e:
        if e.encoding == "unicode":  # decoded, but a character YAML does not allow
            problem = f"unacceptable character #x{e.character:04x} at character {e.position}: {e.reason}"
        else:
            problem = f"not UTF-8 (or UTF-16 with a byte order mark) text: {e.reason} at byte {e.position}"
        raise BuildYmlError(path, f"invalid YAML: {problem}")
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise BuildYmlError(
            path, f"invalid YAML: {problem}", line=mark.line + 1 if mark else None
        )


def decode_overrides(overrides: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Decodes BUILD-file field values (plain Python) with the same strict rules as build.yml."""
    if not overrides:
        return {}
    try:
        text = yaml.safe_dump(_thaw(overrides), sort_keys=False)
        return goyaml.Decoder().decode(goyaml.compose_first_document(text), PKG_INFO)
    except goyaml.DecodeError as e:
        raise BuildYmlError(path, e.problem, field=e.field)


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def make_build_yml(
    keys: Mapping[str, Any],
    *,
    path: str,
    read_package_file: Callable[[str], Optional[bytes]],
    lines: Mapping[str, int] = {},
    overridden: Mapping[str, str] = {},
) -> BuildYml:
    """Validates decoded keys in LinuxKit's order and builds the `BuildYml`.

    `path` is the build.yml path shown in errors, `lines` maps its field paths to lines, and
    `overridden` maps the top-level keys that came from the BUILD file to that file's path.
    `read_package_file` reads a file by its path relative to the package directory.
    """
    try:
        return _make_build_yml(keys, path, read_package_file)
    except BuildYmlError as e:
        if e.line is not None or not e.field:
            raise
        top = re.split(r"[.\[]", e.field, maxsplit=1)[0]
        if top in overridden:
            raise BuildYmlError(overridden[top], e.problem, field=f"linuxkit_package {e.field}")
        line = lines.get(e.field) or lines.get(top)
        raise BuildYmlError(path, e.problem, line=line, field=e.field)


def _make_build_yml(
    keys: Mapping[str, Any], path: str, read_package_file: Callable[[str], Optional[bytes]]
) -> BuildYml:
    image = keys.get("image", "")
    if not image:
        raise BuildYmlError(path, "field is required", field="image")
    org = keys.get("org", DEFAULT_ORG)
    for key, problem in (("image", image_problem(image)), ("org", org_problem(org))):
        if problem:
            raise BuildYmlError(path, problem, field=key)
    depends = _make_depends(
        keys.get("depends", {}).get("docker-images", {}), path, read_package_file
    )
    extra_sources = tuple(
        _parse_extra_source(entry, index, path)
        for index, entry in enumerate(keys.get("extra-sources") or ())
    )
    config = keys.get("config")
    build_args = keys.get("buildArgs")
    return BuildYml(
        image=image,
        org=org,
        tag=keys.get("tag", DEFAULT_TAG),
        dockerfile=keys.get("dockerfile", "Dockerfile"),
        arches=tuple(keys["arches"] or ()) if "arches" in keys else DEFAULT_ARCHES,
        extra_sources=extra_sources,
        gitrepo=keys.get("gitrepo", DEFAULT_GITREPO),
        network=keys.get("network", False),
        disable_cache=keys.get("disable-cache", False),
        disable_content_trust=keys.get("disable-content-trust", False),
        config_label=None if config is None else gojson.marshal(config, IMAGE_CONFIG),
        build_args=None if build_args is None else tuple(build_args),
        depends=depends,
    )


def merge(file_keys: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """BUILD fields replace build.yml keys wholesale; `depends.docker-images` per sub-key."""
    merged = dict(file_keys)
    for key, value in overrides.items():
        if key == "depends":
            images = dict(merged.get("depends", {}).get("docker-images", {}))
            images.update(value.get("docker-images", {}))
            merged["depends"] = {"docker-images": images}
        else:
            merged[key] = value
    return merged


def _parse_extra_source(entry: str, index: int, path: str) -> ExtraSource:
    field = f"extra-sources[{index}]"
    parts = entry.split(":")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise BuildYmlError(path, f'bad source format in "{entry}", want "<src>:<dst>"', field=field)
    src, dst = (posixpath.normpath(p) for p in parts)
    if posixpath.isabs(src):
        raise BuildYmlError(
            path, f'"{parts[0]}" must be relative to the package directory', field=field
        )
    return ExtraSource(src=src, dst=dst)


def _package_subpath(value: str, key: str, path: str) -> str:
    """LinuxKit's makeAbsSubpath, made strict: the path must stay inside the package dir."""
    field = f"depends.docker-images.{key}"
    if not value:
        return ""
    if posixpath.isabs(value):
        raise BuildYmlError(path, "must be relative to package directory", field=field)
    clean = posixpath.normpath(value)
    if clean == ".":
        raise BuildYmlError(path, "must not be exactly the package directory", field=field)
    if clean == ".." or clean.startswith("../"):
        raise BuildYmlError(path, f'"{value}" must be within package directory', field=field)
    return clean


def _make_depends(
    decoded: Mapping[str, Any], path: str, read_package_file: Callable[[str], Optional[bytes]]
) -> DockerImageDepends:
    target = decoded.get("target", "")
    target_dir = decoded.get("target-dir", "")
    from_file = decoded.get("from-file", "")
    images = list(decoded.get("list") or ())
    if target and target_dir:
        raise BuildYmlError(
            path, '"target" and "target-dir" are mutually exclusive', field="depends.docker-images"
        )
    if from_file and images:
        raise BuildYmlError(
            path, '"list" and "from-file" are mutually exclusive', field="depends.docker-images"
        )
    target = _package_subpath(target, "target", path)
    target_dir = _package_subpath(target_dir, "target-dir", path)
    from_file = _package_subpath(from_file, "from-file", path)
    sources: list[tuple[str, str]] = [
        (f"depends.docker-images.list[{i}]", image) for i, image in enumerate(images)
    ]
    if from_file:
        content = read_package_file(from_file)
        if content is None:
            raise BuildYmlError(
                path, f'"{from_file}" does not exist', field="depends.docker-images.from-file"
            )
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BuildYmlError(
                path, f'"{from_file}" is not UTF-8 text ({e.reason} at byte {e.start})',
                field="depends.docker-images.from-file",
            )  # fmt: skip
        for lineno, line in enumerate(text.split("\n"), start=1):
            if line and not line.startswith("#"):
                sources.append((f"{from_file}:{lineno}", line))
    for where, image in sources:
        problem = image_digest_problem(image)
        if problem:
            raise BuildYmlError(path, problem, field=where)
    if sources and not (target or target_dir):
        raise BuildYmlError(
            path,
            'images are listed but neither "target" nor "target-dir" says where to save them',
            field="depends.docker-images",
        )
    return DockerImageDepends(
        images=tuple(image for _, image in sources),
        target=target,
        target_dir=target_dir,
        from_file=from_file,
    )


def split_reference(ref: str) -> tuple[str, str]:
    """containerd's reference.Parse: (locator, object); raises ValueError when unparsable."""
    if "://" in ref:
        raise ValueError("a reference has no scheme")
    host, _, rest = ref.partition("/")
    if not host or not rest:
        raise ValueError("a registry host is required, e.g. docker.io/library/nginx")
    if "@" in host or (":" in host and not host.rsplit(":", 1)[1].isdigit()):
        raise ValueError(f'invalid registry host "{host}"')
    match = re.search(r"[:@]", rest)
    path, obj = (rest[: match.start()], rest[match.start() :]) if match else (rest, "")
    return posixpath.normpath(f"{host}/{path}"), obj[1:] if obj.startswith(":") else obj


def image_digest_problem(image: str) -> str | None:
    """Why `image` cannot be a digest-pinned dependency, or None when it can."""
    try:
        _, obj = split_reference(image)
    except ValueError as e:
        return f'image "{image}" is not a valid reference: {e}'
    at = obj.find("@")
    digest = obj[at + 1 :] if at >= 0 else ""
    if not digest:
        return f'image "{image}" lacks a digest'
    if not _DIGEST_FORMAT.match(digest):
        return f'unable to validate digest in "{image}": invalid checksum digest format'
    algorithm, _, hex_part = digest.partition(":")
    if algorithm not in _DIGEST_HEX_LENGTH:
        return f'unable to validate digest in "{image}": unsupported digest algorithm'
    if len(hex_part) != _DIGEST_HEX_LENGTH[algorithm]:
        return f'unable to validate digest in "{image}": invalid checksum digest length'
    if not re.fullmatch(r"[a-f0-9]+", hex_part):
        return f'unable to validate digest in "{image}": invalid checksum digest format'
    return None
