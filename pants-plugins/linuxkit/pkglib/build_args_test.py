from __future__ import annotations

import pytest

from linuxkit.pkglib.build_args import (
    dockerfile_base_images,
    glob_matches,
    go_pseudo_version,
    lkt_reference,
    mask_proxy_credentials,
    mask_userinfo,
    pkgs_key,
    preset_build_args,
    redact,
    resolve_build_args,
)
from linuxkit.pkglib.errors import LinuxkitError

NAMES = {
    "pkg/base": ("linuxkit/base", "linuxkit/base:aaa"),
    "pkg/tools/one": ("linuxkit/hashes-one", "linuxkit/hashes-one:111"),
    "pkg/tools/two": ("linuxkit/hashes-two", "linuxkit/hashes-two:222"),
    "pkg/tools/.hidden": ("linuxkit/hidden", "linuxkit/hidden:333"),
}


def test_plain_args_are_split_on_the_first_equals_and_not_trimmed() -> None:
    assert resolve_build_args(["A=b=c", "B= x "], "pkg/a", "w", package_names=NAMES) == {
        "A": "b=c",
        "B": " x ",
    }


def test_lkt_pkg_is_the_full_tag_of_the_package_relative_to_build_yml() -> None:
    args = resolve_build_args(["BASE=@lkt:pkg:../base"], "pkg/a", "w", package_names=NAMES)
    assert args == {"BASE": "linuxkit/base:aaa"}


def test_lkt_pkgs_expands_a_go_glob_skipping_dot_entries() -> None:
    args = resolve_build_args(["HASH_%=@lkt:pkgs:../tools/*"], "pkg/a", "w", package_names=NAMES)
    assert args == {
        "HASH_LINUXKIT_HASHES_ONE": "linuxkit/hashes-one:111",
        "HASH_LINUXKIT_HASHES_TWO": "linuxkit/hashes-two:222",
    }


@pytest.mark.parametrize(
    "entry, message",
    [
        ("NOEQUALS", "invalid build-arg, must be in format 'arg=value': NOEQUALS"),
        ("A=@lkt:nope:x", 'unknown linuxkit build arg value "@lkt:nope:x"'),
        ("A=@lkt:pkgs:../tools/*", "invalid build arg key \"A\", must contain a '%'"),
        ("A=@lkt:pkg:/abs", "package paths must be relative"),
        ("A=@lkt:pkg:../../../out", "points outside the repository"),
        ("A=@lkt:pkg:../missing", 'no linuxkit_package at "pkg/missing"'),
        ("A_%=@lkt:pkgs:../none*", 'no packages found matching path "pkg/none*"'),
    ],
)
def test_errors(entry: str, message: str) -> None:
    with pytest.raises(LinuxkitError, match=message.replace("*", r"\*").replace("(", r"\(")):
        resolve_build_args([entry], "pkg/a", "pkg/a/build.yml: buildArgs", package_names=NAMES)


def test_glob_is_per_segment() -> None:
    dirs = ["a/b", "a/b/c", "a/x", "ab"]
    assert glob_matches("a/*", dirs) == ["a/b", "a/x"]
    assert glob_matches("a/[bx]", dirs) == ["a/b", "a/x"]
    assert glob_matches("a?", dirs) == ["ab"]


def test_lkt_reference_kinds() -> None:
    assert lkt_reference("X=plain", "pkg/a", "w") is None
    ref = lkt_reference("X=@lkt:pkg:.", "pkg/a", "w")
    assert ref is not None and (ref.kind, ref.path) == ("pkg", "pkg/a")


def test_pkgs_key() -> None:
    assert pkgs_key("HASH_%", "linuxkit/foo-bar") == "HASH_LINUXKIT_FOO_BAR"


def test_presets_fill_only_absent_non_empty_keys() -> None:
    out = preset_build_args(
        {"SOURCE": "mine"},
        {"SOURCE": "git", "REVISION": "", "PKG_HASH": "h"},
        {"https_proxy": "http://proxy:3128"},
    )
    assert out == {"SOURCE": "mine", "PKG_HASH": "h", "https_proxy": "http://proxy:3128"}


@pytest.mark.parametrize(
    "exact, base, expected",
    [
        ("v1.2.3", None, "v1.2.3"),
        (None, "v1.2.3", "v1.2.4-0.20260102030405-0123456789ab"),
        (None, None, "v0.0.0-20260102030405-0123456789ab"),
    ],
)
def test_go_pseudo_version(exact, base, expected) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    assert go_pseudo_version(exact_tag=exact, base_tag=base, commit_time_utc="20260102030405", commit=commit) == expected


def test_dockerfile_base_images_expand_meta_args_and_skip_stages() -> None:
    dockerfile = (
        "ARG IMAGE=alpine\nARG TAG=3.15\nFROM ${IMAGE}:${TAG} AS build\nRUN true\n"
        "FROM --platform=linux/amd64 linuxkit/base:$TAG\nFROM build\nFROM scratch\n"
    )
    assert dockerfile_base_images(dockerfile, {"TAG": "aaa"}) == ["alpine:aaa", "linuxkit/base:aaa"]


@pytest.mark.parametrize(
    "value, masked",
    [
        ("http://u:p4ss@proxy:3128", "http://u:***@proxy:3128"),
        ("http://u:p@ss/w:rd@proxy:3128/", "http://u:***@proxy:3128/"),  # unescaped `@`, `/`, `:`
        ("u:p4ss@proxy:3128", "u:***@proxy:3128"),
        ("socks5://token@proxy", "socks5://***@proxy"),
        ("http://proxy:3128", "http://proxy:3128"),
        ("localhost,.corp", "localhost,.corp"),
    ],
)  # fmt: skip
def test_mask_userinfo(value: str, masked: str) -> None:
    assert mask_userinfo(value) == masked


def test_only_proxy_args_with_credentials_are_masked_in_any_case() -> None:
    masked, real = mask_proxy_credentials({
        "http_proxy": "http://u:s3cr3t@p:3128", "Https_Proxy": "http://u:s3cr3t@p:3128",
        "no_proxy": "localhost", "ALL_PROXY": "socks5://p:1080", "TOKEN": "http://u:keep@h",
    })  # fmt: skip
    assert masked == {
        "http_proxy": "http://u:***@p:3128", "Https_Proxy": "http://u:***@p:3128",
        "no_proxy": "localhost", "ALL_PROXY": "socks5://p:1080", "TOKEN": "http://u:keep@h",
    }  # fmt: skip
    assert real == {"http_proxy": "http://u:s3cr3t@p:3128", "Https_Proxy": "http://u:s3cr3t@p:3128"}


def test_redact_masks_the_password_wherever_a_tool_printed_it() -> None:
    text = "#4 RUN |1 http_proxy=http://u:s3cr3t@p:3128 curl\nproxy said: bad password s3cr3t\n"
    assert redact(text, ["http://u:s3cr3t@p:3128"]) == (
        "#4 RUN |1 http_proxy=http://u:***@p:3128 curl\nproxy said: bad password ***\n"
    )
