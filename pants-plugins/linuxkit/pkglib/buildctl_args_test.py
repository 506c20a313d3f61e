from __future__ import annotations

import csv
import io

import pytest

from linuxkit.pkglib.buildctl_args import csv_option, key_value
from linuxkit.pkglib.errors import LinuxkitError


def read_csv(record: str) -> list[str]:
    """encoding/csv semantics, which go-csvvalue (buildctl's --output parser) follows."""
    (row,) = csv.reader(io.StringIO(record))
    return row


@pytest.mark.parametrize(
    "value",
    ["plain", "a,dest=/tmp/pwned.tar,name=x", 'q"uote', '"start', " lead", "a,b\"c,", "\\."],
)
def test_csv_values_never_add_a_field(value: str) -> None:
    record = csv_option([("type", "oci"), ("dest", "amd64.tar"), ("name", value)], "b.yml: tag")
    assert read_csv(record) == ["type=oci", "dest=amd64.tar", f"name={value}"]


def test_plain_csv_is_unquoted() -> None:
    assert csv_option([("type", "oci"), ("name", "docker.io/a/b:t-amd64")], "w") == (
        "type=oci,name=docker.io/a/b:t-amd64"
    )


@pytest.mark.parametrize("value", ["a\nb", "a\rb"])
def test_csv_line_breaks_are_refused(value: str) -> None:
    with pytest.raises(LinuxkitError, match="^b.yml: tag: .* holds a line break$"):
        csv_option([("name", value)], "b.yml: tag")


def test_key_value() -> None:
    assert key_value("build-arg:FOO", "x=y,z", "w") == "build-arg:FOO=x=y,z"
    assert key_value("context:docker.io/a/b:t", "oci-layout://base0@sha256:ab", "w")


@pytest.mark.parametrize("key", ["build-arg:A=B", "build-arg:A B", "", "label:a\nb", "build-arg:\u00e9"])
def test_keys_cannot_hold_a_separator(key: str) -> None:
    with pytest.raises(LinuxkitError, match="^pkg/build.yml: buildArgs: .* is not a valid name"):
        key_value(key, "v", "pkg/build.yml: buildArgs")


def test_values_cannot_hold_nul() -> None:
    with pytest.raises(LinuxkitError, match="^w: the value of build-arg:A holds a NUL character$"):
        key_value("build-arg:A", "x\0y", "w")
