"""Image names: `Tag()`, `FullTag()`, `Image()` and `ReferenceExpand` of linuxkit's pkglib."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from linuxkit.pkglib.go_template import TemplateError, render


# The OCI distribution reference grammar (distribution/reference's regexp.go), ASCII only.
_ALNUM = r"[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_PATH = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_IMAGE = re.compile(_PATH)
_NAME = re.compile(rf"(?:{_DOMAIN}/)?{_PATH}")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
NAME_TOTAL_LENGTH_MAX = 255


def _shown(value: str) -> str:
    """`value` quoted on one line, cut short: a template can render megabytes."""
    return json.dumps(value[:100]) + ("..." if len(value) > 100 else "")


def image_problem(image: str) -> str | None:
    """Why `image` cannot be the repository part after the org, or None."""
    if _IMAGE.fullmatch(image):
        return None
    return (
        f"{_shown(image)} is not a valid image name "
        "(lowercase letters and digits, separated by . _ - or /)"
    )


def org_problem(org: str) -> str | None:
    """Why `org` (`[registry/]namespace`, or a registry) cannot prefix an image name, or None."""
    if _NAME.fullmatch(reference_expand(f"{org}/image")):
        return None
    return (
        f"{_shown(org)} is not a valid org "
        "(a lowercase namespace, optionally after a registry host[:port]/)"
    )


def tag_problem(tag: str) -> str | None:
    """Why the rendered tag `tag` is not a valid image tag, or None."""
    if _TAG.fullmatch(tag):
        return None
    return (
        f"rendered tag {_shown(tag)} is not a valid tag "
        "(up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)"
    )


def name_problem(name: "PackageName") -> tuple[str, str] | None:
    """(field, why) when `name` is not a valid OCI reference, checked field by field, or None."""
    for field, problem in (
        ("org", org_problem(name.org)),
        ("image", image_problem(name.image)),
        ("tag", tag_problem(name.tag)),
    ):
        if problem:
            return field, problem
    repository = name.canonical.rpartition(":")[0]
    if len(repository) > NAME_TOTAL_LENGTH_MAX:
        return "image", f"{repository} is longer than {NAME_TOTAL_LENGTH_MAX} characters"
    return None


def reference_expand(ref: str, *, with_tag: bool = False) -> str:
    """`util.ReferenceExpand`: add docker.io (and library/) the way containerd names images."""
    parts = ref.split("/")
    if len(parts) == 1:
        ref = f"docker.io/library/{ref}"
    elif len(parts) == 2 and not any(c in parts[0] for c in ".:") and parts[0] != "localhost":
        ref = f"docker.io/{ref}"
    if with_tag and ":" not in ref:
        ref += ":latest"
    return ref


def render_tag(template: str, pkg_hash: str) -> str:
    """The rendered tag template; an empty result means `latest`. Raises TemplateError."""
    try:
        return render(template or "{{.Hash}}", {"Hash": pkg_hash})
    except TemplateError as e:
        raise TemplateError(f"invalid tag template {template!r}: {e}")


@dataclass(frozen=True)
class PackageName:
    org: str
    image: str
    tag: str  # the rendered tag ("latest" when the template renders empty)

    @property
    def repository(self) -> str:
        """`Image()`: `<org>/<image>` (PKG_IMAGE, and the key of `@lkt:pkgs:` build args)."""
        return f"{self.org}/{self.image}"

    @property
    def short(self) -> str:
        """`Tag()`: what `linuxkit pkg show-tag` prints."""
        return f"{self.repository}:{self.tag}"

    @property
    def canonical(self) -> str:
        """`FullTag()`: what `show-tag --canonical` prints and what registries see."""
        return reference_expand(self.short)

    def release(self, version: str) -> str:
        return reference_expand(f"{self.repository}:{version}")


def package_name(org: str, image: str, template: str, pkg_hash: str) -> PackageName:
    return PackageName(org=org, image=image, tag=render_tag(template, pkg_hash) or "latest")
