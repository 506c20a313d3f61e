"""Compact JSON exactly as Go's encoding/json writes it for the types in `gotypes`.

Used for the `org.mobyproject.config` label: its bytes are part of the image config, so they
must equal what `linuxkit pkg build` writes (struct declaration order, `omitempty`, sorted map
keys, `<>&` and U+2028/U+2029 escaped).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from linuxkit.pkglib.gotypes import ANY, Map, Scalar, Slice, Struct

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_ESCAPES.update({c: f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})


def go_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:  # a lone surrogate is invalid UTF-8: Go writes U+FFFD
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _go_float(value: float) -> str:
    """encoding/json's float64 text: shortest digits, fixed unless 1e-6 > |v| or |v| >= 1e21."""
    if not math.isfinite(value):
        raise ValueError(f"json: unsupported value: {value}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, exp = repr(value).split("e")
        return f"{mantissa}e{exp[0]}{exp[1:].lstrip('0')}"
    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def _any(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    return go_string(str(value))


def _is_empty(value: Any, go_type) -> bool:
    if value is None:
        return True
    if isinstance(go_type, (Slice, Map)):
        return len(value) == 0
    if isinstance(go_type, Scalar) and go_type is not ANY:
        return not value
    return False


def _zero(go_type) -> Any:
    if isinstance(go_type, Struct):
        return {}
    if isinstance(go_type, Scalar) and go_type is not ANY:
        return {"string": "", "bool": False}.get(go_type.kind, 0)
    return None


def marshal(value: Any, go_type) -> str:
    if isinstance(go_type, Struct):
        parts = []
        for field in go_type.fields:
            if field.yaml_key in value:
                field_value = value[field.yaml_key]
            else:
                field_value = None if field.pointer else _zero(field.type)
            if field.omitempty and (
                field_value is None if field.pointer else _is_empty(field_value, field.type)
            ):
                continue
            parts.append(f"{go_string(field.json_key)}:{marshal(field_value, field.type)}")
        return "{" + ",".join(parts) + "}"
    if value is None:
        return "null"
    if isinstance(go_type, Slice):
        return "[" + ",".join(marshal(item, go_type.elem) for item in value) + "]"
    if isinstance(go_type, Map):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-8", "surrogatepass"))
        return "{" + ",".join(f"{go_string(k)}:{marshal(v, go_type.elem)}" for k, v in items) + "}"
    if go_type is ANY:
        return _any(value)
    if go_type.kind == "string":
        return go_string(value)
    if go_type.kind == "bool":
        return "true" if value else "false"
    return str(int(value))
