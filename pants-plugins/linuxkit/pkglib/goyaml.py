"""Strict YAML decoding with the semantics of gopkg.in/yaml.v3 and `KnownFields(true)`.

LinuxKit decodes `build.yml` into Go structs. To compute the same tags and labels we must accept
and reject exactly what it does and keep the same values: string fields get the raw scalar text
(`mode: 0666` stays "0666"), integers follow Go's `ParseInt(s, 0, 64)` (so `0666` is 438), typed
booleans also take YAML 1.1's yes/no/on/off, unknown and duplicate keys are errors at any depth.
PyYAML only composes the node tree; every value is resolved here.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Any, Union

import yaml

from linuxkit.pkglib.gotypes import ANY, Map, Scalar, Slice, Struct

YAML_TAG_PREFIX = "tag:yaml.org,2002:"
PLAIN_TAG = "!<plain>"  # what _RawLoader gives a plain scalar with no tag: resolved here
# Explicit tags that yaml.v3 checks the scalar's text against (its resolvableTag).
_CHECKED_TAGS = {"!!bool": bool, "!!int": int, "!!float": float, "!!null": type(None)}
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:[Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]*)?(?:Z|[+-][0-9]{1,2}(?::[0-9]{2})?)?)?"
)
MAX_DEPTH = 100  # nesting levels; a build.yml needs 5 (yaml.v3 stops at 10000, Python recursion sooner)
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


class AliasNode(yaml.Node):
    """An alias (`*name`) in the tree, kept apart from its anchor's node so that decoding can
    bound alias expansion as yaml.v3 does."""

    id = "alias"

    def __init__(self, target: yaml.Node, name: str, start_mark, end_mark) -> None:
        super().__init__(target.tag, target, start_mark, end_mark)
        self.target = target
        self.name = name


class TooDeep(yaml.YAMLError):
    def __init__(self, mark) -> None:
        super().__init__(f"nesting deeper than {MAX_DEPTH} levels")
        self.problem = str(self)
        self.problem_mark = mark


class _RawLoader(yaml.SafeLoader):
    """Composes nodes without resolving plain scalars (they get PLAIN_TAG), keeping aliases as
    AliasNode and refusing deep nesting before Python's recursion limit."""

    yaml_implicit_resolvers: dict = {}

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0

    # The scanner keeps a possible simple key per flow level and rescans them all on each token:
    # refusing deep flow nesting as it is scanned keeps that cheap.
    def fetch_flow_collection_start(self, TokenClass) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise TooDeep(self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            return PLAIN_TAG
        return super().resolve(kind, value, implicit)

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:
                self.get_event()
                return AliasNode(target, event.anchor, event.start_mark, event.end_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def compose_first_document(text: Union[str, bytes]) -> yaml.Node:
    """The first document's node tree; later documents are never read, as in yaml.v3.
    Bytes are read as yaml.v3 reads them: UTF-8, or UTF-16 with a byte order mark."""
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


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(YAML_TAG_PREFIX) :] if tag.startswith(YAML_TAG_PREFIX) else tag


def _resolve(node: yaml.ScalarNode) -> Any:
    """yaml.v3's resolve(): a plain scalar by its text, a quoted one as a string, an explicit
    `!!bool`/`!!int`/`!!float`/`!!null`/`!!timestamp` only when the text is one, `!!binary` as
    base64, any other tag as the text. Raises ValueError for text its tag refuses."""
    if node.tag == PLAIN_TAG:
        return resolve_plain(node.value) if node.style is None else node.value
    tag = _short_tag(node.tag)
    if tag == "!!binary":
        try:
            return base64.b64decode(node.value.encode("ascii"), validate=True).decode("utf-8", "replace")
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError("!!binary value contains invalid base64 data")
    if tag == "!!timestamp":
        if _TIMESTAMP.fullmatch(node.value):
            return node.value
        raise ValueError(f"cannot decode !!str `{node.value}` as a !!timestamp")
    if tag not in _CHECKED_TAGS:
        return node.value
    value = resolve_plain(node.value)
    if tag == "!!float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not _CHECKED_TAGS[tag]:
        kind = {bool: "bool", int: "int", float: "float", type(None): "null"}.get(type(value), "str")
        raise ValueError(f"cannot decode !!{kind} `{node.value}` as a {tag}")
    return value


def _kind_name(node: yaml.Node) -> str:
    node = _target(node)
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f'"{node.value}"'


def _target(node: yaml.Node) -> yaml.Node:
    return node.target if isinstance(node, AliasNode) else node


def allowed_alias_ratio(decode_count: int) -> float:
    """yaml.v3's allowedAliasRatio: up to 99% of a small document may come from aliases, down
    to 10% of a large one."""
    low, high = 400_000, 4_000_000
    if decode_count <= low:
        return 0.99
    if decode_count >= high:
        return 0.10
    return 0.99 - 0.89 * ((decode_count - low) / (high - low))


class Decoder:
    """Decodes a node tree into plain Python values shaped by a Go type.

    A struct decodes to a dict keyed by YAML key holding only the keys that were given (a null
    pointer field is left out, as Go leaves it nil).
    """

    def __init__(self) -> None:
        self._path: list[str] = []
        self.lines: dict[str, int] = {}  # field path ("config.devices[0]") -> line of its value
        self._decode_count = 0
        self._alias_count = 0
        self._expanding: list[AliasNode] = []  # the aliases being expanded, outermost first
        # (anchor node, Go type) -> (decoded value, decodes it took): an anchor's value is
        # decoded once per type however many aliases name it (values are never mutated).
        self._expanded: dict[tuple[int, int], tuple[Any, int]] = {}

    def decode(self, node: yaml.Node, go_type) -> Any:
        self.lines[self._field()] = _line(node)
        return self._decode(node, go_type)

    def _decode(self, node: yaml.Node, go_type) -> Any:
        self._decode_count += 1
        if self._expanding:
            self._alias_count += 1
        self._check_aliasing(node)
        if isinstance(node, AliasNode):
            if any(outer.target is node.target for outer in self._expanding):
                raise self._fail(node, f"anchor '{node.name}' value contains itself")
            key = (id(node.target), id(go_type))
            if key in self._expanded:
                # Counted as yaml.v3 counts a re-expansion, without walking it again.
                value, count = self._expanded[key]
                self._decode_count += count
                self._alias_count += count
                self._check_aliasing(node)
                return value
            self._expanding.append(node)
            before = self._decode_count
            try:
                value = self._decode(node.target, go_type)
            finally:
                self._expanding.pop()
            self._expanded[key] = (value, self._decode_count - before)
            return value
        if isinstance(go_type, Struct):
            return self._struct(node, go_type)
        if isinstance(go_type, Slice):
            return self._slice(node, go_type)
        if isinstance(go_type, Map):
            return self._map(node, go_type)
        return self._scalar(node, go_type)

    def _check_aliasing(self, node: yaml.Node) -> None:
        """yaml.v3's bound: fail once aliases made too much of what was decoded."""
        aliases, decodes = self._alias_count, self._decode_count
        if aliases > 100 and decodes > 1000 and aliases / decodes > allowed_alias_ratio(decodes):
            raise self._fail(node, "document contains excessive aliasing")

    def _field(self) -> str:
        out = ""
        for part in self._path:
            out += part if part.startswith("[") or not out else f".{part}"
        return out

    def _fail(self, node: yaml.Node, problem: str) -> DecodeError:
        return DecodeError(problem, _line(node), self._field())

    def _is_null(self, node: yaml.Node) -> bool:
        node = _target(node)
        return isinstance(node, yaml.ScalarNode) and self._resolve(node) is None

    def _resolve(self, node: yaml.ScalarNode) -> Any:
        if any(0xD800 <= ord(c) <= 0xDFFF for c in node.value):
            raise self._fail(node, "found invalid Unicode character escape code")
        try:
            return _resolve(node)
        except ValueError as e:
            raise self._fail(node, str(e))

    def _mapping_items(self, node: yaml.MappingNode) -> list[tuple[str, yaml.Node, yaml.Node]]:
        seen: dict[str, int] = {}
        items = []
        for key_node, value_node in node.value:
            key_node = _target(key_node)
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
        resolved = self._resolve(node)
        if scalar is ANY:
            return resolved
        if scalar.kind == "string":
            if resolved is None:
                return ""
            return resolved if _short_tag(node.tag) == "!!binary" else node.value
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
