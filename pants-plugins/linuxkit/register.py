"""The `linuxkit` backend: build and publish LinuxKit packages with Pants."""

from linuxkit import target_types as linuxkit_target_types
from linuxkit.dependency_inference import rules as dependency_inference
from linuxkit.goals import package, pins, publish, show_tag, tailor
from linuxkit.util_rules import (
    build_context,
    build_settings,
    buildctl,
    builders,
    buildkit_tools,
    cosign,
    docker_load,
    dry_run,
    git_hash,
    image,
    linuxkit_cache,
    oci_index,
    package_info,
    pkglib_process,
    platform_plan,
    registry_mirrors,
    registry_source,
    remote_image,
    sbom_scanner,
    signing,
    skopeo,
    tag,
)


def target_types():
    return linuxkit_target_types.target_types()


def rules():
    return [
        *package_info.rules(),
        *dependency_inference.rules(),
        *git_hash.rules(),
        *tag.rules(),
        *build_context.rules(),
        *build_settings.rules(),
        *buildctl.rules(),
        *builders.rules(),
        *buildkit_tools.rules(),
        *cosign.rules(),
        *signing.rules(),
        *docker_load.rules(),
        *dry_run.rules(),
        *image.rules(),
        *linuxkit_cache.rules(),
        *oci_index.rules(),
        *pkglib_process.rules(),
        *platform_plan.rules(),
        *registry_mirrors.rules(),
        *registry_source.rules(),
        *remote_image.rules(),
        *sbom_scanner.rules(),
        *skopeo.rules(),
        *show_tag.rules(),
        *tailor.rules(),
        *pins.rules(),
        *package.rules(),
        *publish.rules(),
    ]
