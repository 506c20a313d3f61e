"""The `linuxkit_package` target: one field per `build.yml` key, each overriding the file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Dict, Optional

from pants.engine.addresses import Address
from pants.core.goals.package import OutputPathField
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    BoolField,
    Dependencies,
    Field,
    FieldSet,
    InvalidFieldTypeException,
    MultipleSourcesField,
    SingleSourceField,
    StringField,
    StringSequenceField,
    Target,
    TriBoolField,
)
from pants.util.frozendict import FrozenDict
from pants.util.strutil import help_text

BUILD_YML = "build.yml"


class LinuxkitPackageSourcesField(MultipleSourcesField):
    default = ("**/*", "!**/BUILD", "!**/BUILD.*")
    help = help_text(
        """
        The files of the package: by default every file under its directory (BUILD files aside),
        since all of them are in its git tree hash, its tag and its build context. So
        `--changed-since`, `filedeps`, `owners` and `dependents` work on any file of a package.
        Files ignored by `pants_ignore` are not seen.
        """
    )


class LinuxkitBuildYmlField(StringField):
    alias = "build_yml"
    default = BUILD_YML
    help = help_text(
        """
        The package's `build.yml`, relative to the BUILD file's directory: the source of truth
        for every other field of this target.

        A field set on the target replaces the file's value for that key; an unset field keeps it.
        """
    )


class LinuxkitOverrideField:
    """A field mirroring a build.yml key: None means "as build.yml says"."""

    yaml_key: str


class LinuxkitImageField(StringField, LinuxkitOverrideField):
    alias = "image"
    yaml_key = "image"
    help = "The image name (build.yml `image`, mandatory there or here)."


class LinuxkitOrgField(StringField, LinuxkitOverrideField):
    alias = "org"
    yaml_key = "org"
    help = help_text(
        """
        The registry organisation (build.yml `org`, default `linuxkit`). It may name a registry,
        e.g. `localhost:5000/team`. `[linuxkit].org` and `LINUXKIT_PKG_ORG` override it.
        """
    )


class LinuxkitTagField(StringField, LinuxkitOverrideField):
    alias = "tag"
    yaml_key = "tag"
    help = help_text(
        """
        The tag as a Go text/template over `{{.Hash}}` (build.yml `tag`, default `{{.Hash}}`),
        e.g. `{{.Hash}}-dev` or `{{printf "%.12s" .Hash}}`.
        """
    )


class LinuxkitDockerfileField(StringField, LinuxkitOverrideField):
    alias = "dockerfile"
    yaml_key = "dockerfile"
    help = "The Dockerfile, relative to the package directory (build.yml `dockerfile`)."


class LinuxkitArchesField(StringSequenceField, LinuxkitOverrideField):
    alias = "arches"
    yaml_key = "arches"
    help = help_text(
        """
        The GOARCH names to build for (build.yml `arches`, default `["amd64", "arm64", "s390x"]`).
        """
    )


class LinuxkitExtraSourcesField(StringSequenceField, LinuxkitOverrideField):
    alias = "extra_sources"
    yaml_key = "extra-sources"
    help = help_text(
        """
        Extra directories for the build context as `src:dst` (build.yml `extra-sources`): `src`
        relative to the package directory, `dst` its place in the context. Their git tree hashes
        are part of the package hash.
        """
    )


class LinuxkitGitRepoField(StringField, LinuxkitOverrideField):
    alias = "gitrepo"
    yaml_key = "gitrepo"
    help = help_text(
        """
        The source repository URL (build.yml `gitrepo`), used for the `SOURCE` build arg and the
        `org.opencontainers.image.source` label.
        """
    )


class LinuxkitNetworkField(TriBoolField, LinuxkitOverrideField):
    alias = "network"
    yaml_key = "network"
    help = "Whether RUN steps get network access (build.yml `network`, default false)."


class LinuxkitDisableCacheField(TriBoolField, LinuxkitOverrideField):
    alias = "disable_cache"
    yaml_key = "disable-cache"
    help = "Build without BuildKit's cache (build.yml `disable-cache`, default false)."


class LinuxkitDisableContentTrustField(TriBoolField, LinuxkitOverrideField):
    alias = "disable_content_trust"
    yaml_key = "disable-content-trust"
    help = help_text(
        """
        Publish this package unsigned even when `[linuxkit].signing_key` is set (build.yml
        `disable-content-trust`, default false; from linuxkit's older packages doc: the current
        linuxkit CLI rejects the key).
        """
    )


class LinuxkitBuildArgsField(StringSequenceField, LinuxkitOverrideField):
    alias = "build_args"
    yaml_key = "buildArgs"
    help = help_text(
        """
        `KEY=VALUE` build args (build.yml `buildArgs`). A value `@lkt:pkg:<path>` becomes the
        tag of the package at `<path>`; `@lkt:pkgs:<glob>` one arg per matching package.
        """
    )


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


class LinuxkitConfigField(Field, LinuxkitOverrideField):
    alias = "config"
    yaml_key = "config"
    value: Optional[FrozenDict[str, Any]]
    default = None
    help = help_text(
        """
        The image's runtime configuration (build.yml `config`, a moby `ImageConfig`), written as
        the `org.mobyproject.config` label exactly as linuxkit writes it.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Dict[str, Any]], address: Address
    ) -> Optional[FrozenDict[str, Any]]:
        value = super().compute_value(raw_value, address)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise InvalidFieldTypeException(address, cls.alias, raw_value, expected_type="a dict")
        return _freeze(value)


class LinuxkitDependsImagesField(StringSequenceField, LinuxkitOverrideField):
    alias = "depends_docker_images"
    yaml_key = "depends.docker-images.list"
    help = help_text(
        """
        Images saved into the build context, each pinned by digest, e.g.
        `docker.io/library/alpine:3.19@sha256:...` (build.yml `depends.docker-images.list`).
        """
    )


class LinuxkitDependsImagesFromFileField(StringField, LinuxkitOverrideField):
    alias = "depends_docker_images_from_file"
    yaml_key = "depends.docker-images.from-file"
    help = help_text(
        """
        A file in the package directory listing one image per line; `#` in column 0 starts a
        comment (build.yml `depends.docker-images.from-file`).
        """
    )


class LinuxkitDependsImagesTargetField(StringField, LinuxkitOverrideField):
    alias = "depends_docker_images_target"
    yaml_key = "depends.docker-images.target"
    help = help_text(
        """
        A tarball path in the package directory that receives all images, `docker save` format
        (build.yml `depends.docker-images.target`).
        """
    )


class LinuxkitDependsImagesTargetDirField(StringField, LinuxkitOverrideField):
    alias = "depends_docker_images_target_dir"
    yaml_key = "depends.docker-images.target-dir"
    help = help_text(
        """
        A directory in the package directory that receives one `<name>@<digest>.tar` per image
        (build.yml `depends.docker-images.target-dir`).
        """
    )


class LinuxkitOutputPathField(OutputPathField):
    help = help_text(
        """
        Where `pants package` writes the package's OCI archive (all platforms and the
        multi-arch index), relative to the dist directory. Default
        `path.to.package/<target name>.oci.tar`.
        """
    )


class LinuxkitSkipPushField(BoolField):
    alias = "skip_push"
    default = False
    help = "If true, `pants publish` does not push this package."


class LinuxkitPackageDependenciesField(Dependencies):
    help = help_text(
        """
        Other targets this package needs. Inferred, so they need not be listed: packages named by
        `@lkt:pkg:`/`@lkt:pkgs:` build args or pinned in the Dockerfile (`FROM org/image:tag`,
        through an `ARG` default, `COPY --from=`, `RUN --mount=from=`), and the owners of the
        files under each `extra-sources` directory. Files of `files` targets and generated files
        (a `shell_command`'s outputs) that lie in the package directory join its build context.
        """
    )


OVERRIDE_FIELDS = (
    LinuxkitImageField,
    LinuxkitOrgField,
    LinuxkitTagField,
    LinuxkitDockerfileField,
    LinuxkitArchesField,
    LinuxkitExtraSourcesField,
    LinuxkitGitRepoField,
    LinuxkitNetworkField,
    LinuxkitDisableCacheField,
    LinuxkitDisableContentTrustField,
    LinuxkitBuildArgsField,
    LinuxkitConfigField,
    LinuxkitDependsImagesField,
    LinuxkitDependsImagesFromFileField,
    LinuxkitDependsImagesTargetField,
    LinuxkitDependsImagesTargetDirField,
)


class LinuxkitPackageTarget(Target):
    alias = "linuxkit_package"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        LinuxkitPackageSourcesField,
        LinuxkitBuildYmlField,
        LinuxkitPackageDependenciesField,
        LinuxkitOutputPathField,
        LinuxkitSkipPushField,
        *OVERRIDE_FIELDS,
    )
    help = help_text(
        """
        A LinuxKit package: a directory with a `build.yml` and a Dockerfile, built into per-arch
        images and a multi-arch index tagged with the git tree hash of the directory, as
        `linuxkit pkg build` does.

        `linuxkit_package()` with no arguments reads everything from `build.yml`; any field set
        here overrides that key of the file.
        """
    )


@dataclass(frozen=True)
class LinuxkitPackageFieldSet(FieldSet):
    required_fields = (LinuxkitBuildYmlField,)

    build_yml: LinuxkitBuildYmlField


def build_yml_overrides(target: Target) -> FrozenDict[str, Any]:
    """The build.yml keys (nested as in the file) that the target's BUILD fields set."""
    out: dict[str, Any] = {}
    for field_type in OVERRIDE_FIELDS:
        value = target[field_type].value
        if value is None:
            continue
        *parents, leaf = field_type.yaml_key.split(".")
        node = out
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return _freeze(out)


class LinuxkitImageSourceField(SingleSourceField):
    expected_file_extensions = (".yml", ".yaml", ".yml.in", ".yaml.in")
    help = help_text(
        """
        A LinuxKit image yml file: the input of `linuxkit build` (`kernel`, `init`, `onboot`,
        `services`, ... each naming images).
        """
    )


class LinuxkitImageDependenciesField(Dependencies):
    help = help_text(
        """
        Other targets this image needs. Every in-repo `linuxkit_package` the file pins
        (`org/image:<tag>`) is inferred, so it need not be listed.
        """
    )


class LinuxkitImageTarget(Target):
    alias = "linuxkit_image"
    core_fields = (*COMMON_TARGET_FIELDS, LinuxkitImageSourceField, LinuxkitImageDependenciesField)
    help = help_text(
        """
        A LinuxKit image yml file (what `linuxkit build` reads). It depends on every in-repo
        package it references, so `pants dependents` of a package lists the images that pin it,
        and `pants lint`/`pants fix` keep its pins current.
        """
    )


def target_types():
    return [LinuxkitPackageTarget, LinuxkitImageTarget]
