"""Go's fmt.Sprint/Sprintf/Sprintln for the strings and integers a tag template handles."""

from __future__ import annotations

import re
from typing import Any

_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_text(v) for v in value) + "]"
    return str(value)


def sprint(*args: Any) -> str:
    out = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(_text(arg))
    return "".join(out)


def sprintln(*args: Any) -> str:
    return " ".join(_text(a) for a in args) + "\n"


def _go_quote(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def _pad(text: str, flags: str, width: str | None) -> str:
    if not width:
        return text
    size = int(width)
    if "-" in flags:
        return text.ljust(size)
    if "0" in flags and text.lstrip("-").isdigit():
        sign = "-" if text.startswith("-") else ""
        return sign + text.lstrip("-").rjust(size - len(sign), "0")
    return text.rjust(size)


def _format_one(verb: str, flags: str, precision: str | None, arg: Any) -> str:
    if verb in "sv":
        text = _text(arg)
        return text[: int(precision)] if precision is not None and isinstance(arg, str) else text
    if verb == "q":
        return _go_quote(_text(arg)[: int(precision)] if precision is not None else _text(arg))
    if verb == "d" and isinstance(arg, int) and not isinstance(arg, bool):
        return str(arg)
    if verb in "xX":
        if isinstance(arg, int) and not isinstance(arg, bool):
            text = format(arg, verb)
        else:
            text = _text(arg).encode("utf-8").hex()
            text = text.upper() if verb == "X" else text
        return ("0x" if verb == "x" else "0X") + text if "#" in flags else text
    if verb == "t" and isinstance(arg, bool):
        return _text(arg)
    return f"%!{verb}({type(arg).__name__}={_text(arg)})"


def sprintf(fmt: str, *args: Any) -> str:
    out: list[str] = []
    index = 0
    pos = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, precision, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        if index >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[index]
        index += 1
        out.append(_pad(_format_one(verb, flags, precision, arg), flags, width))
    out.append(fmt[pos:])
    if index < len(args):
        extra = ", ".join(f"{type(a).__name__}={_text(a)}" for a in args[index:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
