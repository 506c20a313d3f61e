"""Image names: `Tag()`, `FullTag()`, `Image()` and `ReferenceExpand` of linuxkit's pkglib."""

from __future__ import annotations

from dataclasses import dataclass

from linuxkit.pkglib.go_template import TemplateError, render


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
