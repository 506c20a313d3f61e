"""Go's fmt.Sprint/Sprintf/Sprintln for the values a tag template handles: strings, ints, the
bytes `index` returns (uint8), bools and the template's data (a map[string]string).

Sprintf parses its format as Go's doPrintf does, with the same limits: a width or precision
over 1e6 stops the verb (`%!(NOVERB)`), a bad `*` operand gives `%!(BADWIDTH)`/`%!(BADPREC)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional


class Byte(int):
    """A Go uint8: what `index` gives for a string."""


def go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Byte):
        return "uint8"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]string"
    return type(value).__name__


def _text(value: Any) -> str:
    """%v."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_text(value[k])}" for k in sorted(value)) + "]"
    if value is None:
        return "<nil>"
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
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def _too_large(n: int) -> bool:
    """fmt's tooLarge: widths and precisions stop at a million."""
    return n > 1_000_000 or n < -1_000_000


@dataclass
class _Flags:
    plus: bool = False
    minus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    wid: Optional[int] = None
    prec: Optional[int] = None

    def pad(self, text: str) -> str:
        if self.wid is None or len(text) >= self.wid:
            return text
        if self.minus:
            return text + " " * (self.wid - len(text))
        return ("0" if self.zero else " ") * (self.wid - len(text)) + text


def _integer(value: int, verb: str, f: _Flags) -> str:
    base = {"b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}.get(verb, "d")
    digits = format(abs(value), base)
    if f.prec is not None:
        digits = "" if f.prec == 0 and value == 0 else digits.rjust(f.prec, "0")
    sign = "-" if value < 0 else "+" if f.plus else " " if f.space else ""
    prefix = "0o" if verb == "O" else ""
    if f.sharp:
        prefix = {"x": "0x", "X": "0X", "b": "0b"}.get(verb, prefix)
        if verb == "o" and not digits.startswith("0"):
            prefix = "0"
    if f.zero and f.prec is None and f.wid is not None and not f.minus:
        digits = digits.rjust(f.wid - len(sign) - len(prefix), "0")
    return _Flags(minus=f.minus, wid=f.wid).pad(sign + prefix + digits)


def _format(arg: Any, verb: str, f: _Flags) -> str:
    if isinstance(arg, bool) and verb in "tv":
        return f.pad(_text(arg))
    if isinstance(arg, int) and not isinstance(arg, bool):
        if verb in "bdoOxXv":
            return _integer(arg, "d" if verb == "v" else verb, f)
        if verb == "c" and 0 <= arg <= 0x10FFFF:
            return f.pad(chr(arg))
        if verb == "q" and 0 <= arg <= 0x10FFFF:
            return f.pad("'" + _go_quote(chr(arg))[1:-1].replace("'", "\\'") + "'")
        if verb == "U":
            return f.pad(f"U+{arg:04X}")
    if isinstance(arg, str):
        text = arg[: f.prec] if f.prec is not None else arg
        if verb in "sv":
            return f.pad(text)
        if verb == "q":
            return f.pad(_go_quote(text))
        if verb in "xX":
            data = arg.encode("utf-8", "surrogateescape")
            data = data[: f.prec] if f.prec is not None else data
            text = data.hex().upper() if verb == "X" else data.hex()
            return f.pad(("0" + verb if f.sharp else "") + text)
    if isinstance(arg, Mapping) and verb in "sv":
        return f.pad(_text(arg))
    return f"%!{verb}({go_type(arg)}={_text(arg)})"


def _parsenum(s: str, i: int) -> tuple[Optional[int], int]:
    """fmt's parsenum: (number or None, next index); a number over 1e6 consumes the format."""
    num, start = 0, i
    while i < len(s) and "0" <= s[i] <= "9":
        if _too_large(num):
            return None, len(s)
        num = num * 10 + int(s[i])
        i += 1
    return (num if i > start else None), i


def _arg_number(s: str, i: int, arg_num: int, nargs: int) -> tuple[int, int, bool, bool]:
    """fmt's argNumber for `[n]` at s[i]: (arg number, next index, found, ok)."""
    if i >= len(s) or s[i] != "[":
        return arg_num, i, False, True
    close = s.find("]", i + 1)
    if close < 0 or len(s) - i < 3:
        return arg_num, i + 1, False, False
    index, end = _parsenum(s, i + 1)
    if index is None or end != close or not 1 <= index <= nargs:
        return arg_num, close + 1, index is not None and end == close, False
    return index - 1, close + 1, True, True


def _int_arg(args: tuple, arg_num: int) -> tuple[Optional[int], int]:
    if arg_num >= len(args):
        return None, arg_num
    value = args[arg_num]
    if not isinstance(value, int) or isinstance(value, bool) or _too_large(value):
        return None, arg_num + 1
    return value, arg_num + 1


def sprintf(fmt: str, *args: Any) -> str:
    out: list[str] = []
    arg_num, i, end, reordered, good = 0, 0, len(fmt), False, True

    def arg_index(i: int) -> tuple[int, bool]:
        nonlocal arg_num, reordered, good
        reordered |= fmt.startswith("[", i)
        arg_num, i, found, ok = _arg_number(fmt, i, arg_num, len(args))
        good &= ok
        return i, found

    while i < end:
        good = True
        percent = fmt.find("%", i)
        if percent < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:percent])
        i = percent + 1
        f = _Flags()
        while i < end and fmt[i] in "#0+- ":
            setattr(f, {"#": "sharp", "0": "zero", "+": "plus", "-": "minus", " ": "space"}[fmt[i]], True)
            i += 1
        i, after_index = arg_index(i)
        if i < end and fmt[i] == "*":
            f.wid, arg_num = _int_arg(args, arg_num)
            i += 1
            if f.wid is None:
                out.append("%!(BADWIDTH)")
            elif f.wid < 0:
                f.wid, f.minus, f.zero = -f.wid, True, False
            after_index = False
        else:
            f.wid, i = _parsenum(fmt, i)
            good &= not (after_index and f.wid is not None)
        if i + 1 < end and fmt[i] == ".":
            good &= not after_index
            i, after_index = arg_index(i + 1)
            if i < end and fmt[i] == "*":
                f.prec, arg_num = _int_arg(args, arg_num)
                i += 1
                if f.prec is None or f.prec < 0:
                    f.prec = None
                    out.append("%!(BADPREC)")
                after_index = False
            else:
                f.prec, i = _parsenum(fmt, i)
                f.prec = f.prec or 0
        if not after_index:
            i, after_index = arg_index(i)
        if i >= end:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif not good:
            out.append(f"%!{verb}(BADINDEX)")
        elif arg_num >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            out.append(_format(args[arg_num], verb, f))
            arg_num += 1
    if not reordered and arg_num < len(args):
        extra = ", ".join(f"{go_type(a)}={_text(a)}" for a in args[arg_num:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
