"""yaml.v3's bounds and explicit-tag rules, through build.yml decoding (one-line errors)."""

from __future__ import annotations

import pytest

from linuxkit.pkglib.build_yml import BuildYmlError, decode_yaml

PATH = "pkg/x/build.yml"


def error(text: str | bytes) -> str:
    with pytest.raises(BuildYmlError) as e:
        decode_yaml(text, PATH)
    assert "\n" not in str(e.value)
    return str(e.value)


def alias_bomb() -> str:
    """6 KB: a list of 1000 scalars, named 300 times (300,000 values once expanded)."""
    items = ",".join(["a"] * 1000)
    mounts = ",".join(["{options: *o}"] * 300)
    return f"image: a\nconfig:\n  mounts: [{{options: &o [{items}]}}, {mounts}]\n"


def test_an_alias_bomb_fails_as_yaml_v3_fails_it() -> None:
    message = error(alias_bomb())
    assert message.startswith("pkg/x/build.yml:3: config.mounts[")
    assert message.endswith("document contains excessive aliasing")


def test_modest_aliasing_is_fine() -> None:
    lines = ["image: &i a", "org: *i", "config:", "  mounts:", "  - &m {options: [a, b]}"]
    lines += ["  - *m"] * 50
    keys = decode_yaml("\n".join(lines) + "\n", PATH).keys
    assert keys["org"] == "a" and len(keys["config"]["mounts"]) == 51


@pytest.mark.parametrize(
    "text",
    [
        "image: a\nconfig: " + "[" * 5000 + "]" * 5000 + "\n",
        "image: a\nconfig: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n",
        "image: a\nconfig:\n" + "".join(" " * i + "- \n" for i in range(3000)),
    ],
)
def test_deep_nesting_is_one_line(text: str) -> None:
    assert error(text).endswith("invalid YAML: nesting deeper than 100 levels")


@pytest.mark.parametrize(
    "text, message",
    [
        ("image: a\nnetwork: !!int x\n", "pkg/x/build.yml:2: network: cannot decode !!str `x` as a !!int"),
        ("image: !!bool a\n", "pkg/x/build.yml:1: image: cannot decode !!str `a` as a !!bool"),
        ("image: a\ntag: !!null x\n", "pkg/x/build.yml:2: tag: cannot decode !!str `x` as a !!null"),
        ("image: a\nconfig:\n  oomScoreAdj: !!int 1.5\n", "cannot decode !!float `1.5` as a !!int"),
        ("image: a\nconfig:\n  uid: !!timestamp x\n", "config.uid: cannot decode !!str `x` as a !!timestamp"),
        ("image: a\ntag: !!binary '@@@'\n", "pkg/x/build.yml:2: tag: !!binary value contains invalid base64 data"),
        ("image: a\nnetwork: !!python/object:os.system x\n", 'network: cannot read "x" as a boolean'),
        ('image: "\\ud800"\n', "pkg/x/build.yml:1: image: found invalid Unicode character escape code"),
        ("image: a\narches: &a [*a]\n", "pkg/x/build.yml:2: arches[0]: expected a string, got a list"),
    ],
)  # fmt: skip
def test_explicit_tags_are_checked_as_yaml_v3_checks_them(text: str, message: str) -> None:
    assert message in error(text)


@pytest.mark.parametrize(
    "text, key, value",
    [
        ("image: !!binary aW5pdA==\n", "image", "init"),
        ("image: !!int 12\n", "image", "12"),
        ("image: a\nconfig:\n  oomScoreAdj: !!int '12'\n", "config", {"oomScoreAdj": 12}),
        ("image: a\nconfig:\n  oomScoreAdj: !!float 3\n", "config", {"oomScoreAdj": 3}),
        ("image: a\nnetwork: !custom yes\n", "network", True),
        ("image: a\ntag: !!str 1\n", "tag", "1"),
        ("image: a\ntag: !!null ~\n", "tag", None),
    ],
)
def test_explicit_tag_values(text: str, key: str, value) -> None:
    assert decode_yaml(text, PATH).keys.get(key) == value


@pytest.mark.parametrize(
    "data, message",
    [
        (b"image: caf\xe9\n", "pkg/x/build.yml: invalid YAML: not UTF-8 (or UTF-16 with a byte order "
                                "mark) text: invalid continuation byte at byte 10"),
        (b"image: a\n\xff\xfe", "pkg/x/build.yml: invalid YAML: not UTF-8 (or UTF-16 with a byte order "
                                 "mark) text: invalid start byte at byte 9"),
        (b"image: a\x00\n", "pkg/x/build.yml: invalid YAML: unacceptable character #x0000 at character 8: "
                           "special characters are not allowed"),
    ],
)  # fmt: skip
def test_non_utf8_bytes_are_one_line(data: bytes, message: str) -> None:
    assert error(data) == message


def test_utf16_with_a_bom_is_read() -> None:
    assert decode_yaml("image: a\n".encode("utf-16"), PATH).keys == {"image": "a"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("image: a\nextra-sources: |\n  x\n", 'pkg/x/build.yml:2: extra-sources: expected a list, got "x\\n"'),
        ('image: a\nnetwork: "a\\nb"\n', 'pkg/x/build.yml:2: network: cannot read "a\\nb" as a boolean'),
    ],
)
def test_values_with_line_breaks_stay_on_one_line(text: str, message: str) -> None:
    assert message in error(text)
