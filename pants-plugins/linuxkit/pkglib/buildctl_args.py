"""Values placed in buildctl's argv, built so that no value can add a field or an option.

buildctl splits `--opt`, `--local` and `--oci-layout` values at the first `=`, and reads
`--output` as one CSV record (encoding/csv rules, via go-csvvalue) of `key=value` fields.
"""

from __future__ import annotations

import re
from typing import Sequence, Tuple

from linuxkit.pkglib.errors import LinuxkitError

_KEY = re.compile(r"[A-Za-z0-9_.:/@+-]+")


def key_value(key: str, value: str, where: str) -> str:
    """`key=value` for buildctl's split at the first `=`: the key may hold no `=` (nor anything
    but name characters), the value no NUL (argv cannot carry it)."""
    if not _KEY.fullmatch(key):
        raise LinuxkitError(f"{where}: {key!r} is not a valid name (letters, digits, _ . : / @ + -)")
    if "\0" in value:
        raise LinuxkitError(f"{where}: the value of {key} holds a NUL character")
    return f"{key}={value}"


def _csv_field(field: str, where: str) -> str:
    """encoding/csv's Writer quoting: quote a field holding `,` or `"`, or starting with a space.
    Line breaks are refused: go-csvvalue reads one line."""
    if "\n" in field or "\r" in field:
        raise LinuxkitError(f"{where}: {field!r} holds a line break")
    if "," in field or '"' in field or field[:1].isspace() or field == "\\.":
        return '"' + field.replace('"', '""') + '"'
    return field


def csv_option(fields: Sequence[Tuple[str, str]], where: str) -> str:
    """One CSV record of `key=value` fields (`type=oci,dest=...,name=...`), each quoted as
    encoding/csv would, so a value holding `,` stays inside its own field."""
    return ",".join(_csv_field(key_value(key, value, where), where) for key, value in fields)
