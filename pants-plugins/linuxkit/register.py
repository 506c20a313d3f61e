"""The `linuxkit` backend: build and publish LinuxKit packages with Pants."""

from linuxkit import target_types as linuxkit_target_types
from linuxkit.goals import show_tag, tailor
from linuxkit.util_rules import git_hash, package_info, tag


def target_types():
    return linuxkit_target_types.target_types()


def rules():
    return [
        *package_info.rules(),
        *git_hash.rules(),
        *tag.rules(),
        *show_tag.rules(),
        *tailor.rules(),
    ]
