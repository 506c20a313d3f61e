"""Strict YAML decoding with the semantics of gopkg.in/yaml.v3 and `KnownFields(true)`.

LinuxKit decodes `build.yml` into Go structs. To compute the same tags and labels we must accept
and reject exactly what it does and keep the same values: string fields get the raw scalar text
(`mode: 0666` stays "0666"), integers follow Go's `ParseInt(s, 0, 64)` (so `0666` is 438), typed
booleans also take YAML 1.1's yes/no/on/off, unknown and duplicate keys are errors at any depth.
PyYAML only composes the node tree; every value is resolved here.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from linuxkit.pkglib.gotypes import ANY, Map, Scalar, Slice, Struct

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
TRUE_WORDS = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON"}
FALSE_WORDS = {"n", "N", "no", "No", "NO", "off", "Off", "OFF"}
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}  # fmt: skip


class DecodeError(Exception):
    def __init__(self, problem: str, line: int | None, field: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.field = field


class EmptyDocument(Exception):
    """The stream holds no YAML document (yaml.v3's Decoder returns io.EOF)."""


class _RawLoader(yaml.SafeLoader):
    """Composes nodes without resolving plain scalars: they all keep the default `!!str` tag."""

    yaml_implicit_resolvers: dict = {}


def compose_first_document(text: str) -> yaml.Node:
    """The first document's node tree; later documents are never read, as in yaml.v3."""
    loader = _RawLoader(text)
    try:
        if not loader.check_node():
            raise EmptyDocument()
        return loader.get_node()
    finally:
        loader.dispose()


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _go_parse_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64) (and ParseUint) for text with `_` removed."""
    m = re.fullmatch(r"([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)", text)
    if not m:
        return None
    sign, digits = m.groups()
    lower = digits.lower()
    if lower.startswith(("0x", "0o", "0b")):
        value = int(digits, 0)
    elif len(digits) > 1 and digits.startswith("0"):
        value = int(digits, 8)
    else:
        value = int(digits)
    value = -value if sign == "-" else value
    return value if -(2**63) <= value <= 2**64 - 1 else None


def resolve_plain(text: str) -> Any:
    """What yaml.v3 resolves an untagged plain scalar to: None, bool, int, float or str."""
    if text in _SPECIAL:
        return _SPECIAL[text]
    if text and (text[0].isdigit() or text[0] in "+-."):
        plain = text.replace("_", "")
        number = _go_parse_int(plain)
        if number is not None:
            return number
        if _YAML_FLOAT.match(plain):
            return float(plain)
    return text


def _resolve(node: yaml.ScalarNode) -> Any:
    if node.tag != STR_TAG:  # explicit tag such as !!int or !!null
        return yaml.SafeLoader(None).construct_object(node) if node.tag != NULL_TAG else None
    if node.style is None:
        return resolve_plain(node.value)
    return node.value


def _kind_name(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f'"{node.value}"'


class Decoder:
    """Decodes a node tree into plain Python values shaped by a Go type.

    A struct decodes to a dict keyed by YAML key holding only the keys that were given (a null
    pointer field is left out, as Go leaves it nil).
    """

    def __init__(self) -> None:
        self._path: list[str] = []
        self.lines: dict[str, int] = {}  # field path ("config.devices[0]") -> line of its value

    def decode(self, node: yaml.Node, go_type) -> Any:
        self.lines[self._field()] = _line(node)
        if isinstance(go_type, Struct):
            return self._struct(node, go_type)
        if isinstance(go_type, Slice):
            return self._slice(node, go_type)
        if isinstance(go_type, Map):
            return self._map(node, go_type)
        return self._scalar(node, go_type)

    def _field(self) -> str:
        out = ""
        for part in self._path:
            out += part if part.startswith("[") or not out else f".{part}"
        return out

    def _fail(self, node: yaml.Node, problem: str) -> DecodeError:
        return DecodeError(problem, _line(node), self._field())

    def _is_null(self, node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and _resolve(node) is None

    def _mapping_items(self, node: yaml.MappingNode) -> list[tuple[str, yaml.Node, yaml.Node]]:
        seen: dict[str, int] = {}
        items = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail(key_node, "mapping keys must be plain strings")
            key = key_node.value
            if key in seen:
                raise self._fail(
                    key_node, f'duplicate key "{key}" (first defined at line {seen[key]})'
                )
            seen[key] = _line(key_node)
            items.append((key, key_node, value_node))
        return items

    def _struct(self, node: yaml.Node, struct: Struct) -> dict:
        if self._is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            raise self._fail(node, f"expected a mapping, got {_kind_name(node)}")
        out: dict[str, Any] = {}
        for key, key_node, value_node in self._mapping_items(node):
            field = struct.field(key)
            if field is None:
                known = ", ".join(f.yaml_key for f in struct.fields)
                raise self._fail(key_node, f'unknown field "{key}" (known fields: {known})')
            self._path.append(key)
            if not self._is_null(value_node):
                out[key] = self.decode(value_node, field.type)
            elif field.pointer:
                out.pop(key, None)
            elif isinstance(field.type, (Slice, Map)):
                out[key] = None
            # else: yaml.v3 leaves a non-pointer scalar or struct as it was (its default)
            self._path.pop()
        return out

    def _slice(self, node: yaml.Node, slice_type: Slice) -> list | None:
        if self._is_null(node):
            return None
        if not isinstance(node, yaml.SequenceNode):
            raise self._fail(node, f"expected a list, got {_kind_name(node)}")
        out = []
        for index, item in enumerate(node.value):
            self._path.append(f"[{index}]")
            out.append(self.decode(item, slice_type.elem))
            self._path.pop()
        return out

    def _map(self, node: yaml.Node, map_type: Map) -> dict | None:
        if self._is_null(node):
            return None
        if not isinstance(node, yaml.MappingNode):
            raise self._fail(node, f"expected a mapping, got {_kind_name(node)}")
        out = {}
        for key, _, value_node in self._mapping_items(node):
            self._path.append(key)
            out[key] = self.decode(value_node, map_type.elem)
            self._path.pop()
        return out

    def _scalar(self, node: yaml.Node, scalar: Scalar) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self._fail(node, f"expected {_article(scalar)}, got {_kind_name(node)}")
        resolved = _resolve(node)
        if scalar is ANY:
            return resolved
        if scalar.kind == "string":
            return "" if resolved is None else node.value
        if resolved is None:
            return False if scalar.kind == "bool" else 0
        if scalar.kind == "bool":
            if isinstance(resolved, bool):
                return resolved
            if isinstance(resolved, str) and resolved in TRUE_WORDS | FALSE_WORDS:
                return resolved in TRUE_WORDS
            raise self._fail(node, f'cannot read "{node.value}" as a boolean')
        low, high = scalar.int_bounds
        if isinstance(resolved, float) and math.isfinite(resolved):
            resolved = int(resolved)  # yaml.v3 truncates floats that fit the integer type
        if isinstance(resolved, int) and not isinstance(resolved, bool) and low <= resolved <= high:
            return resolved
        raise self._fail(node, f'cannot read "{node.value}" as {_article(scalar)}')


def _article(scalar: Scalar) -> str:
    if scalar.is_int:
        return f"an integer ({scalar.kind})"
    return {"string": "a string", "bool": "a boolean"}.get(scalar.kind, "a scalar")
