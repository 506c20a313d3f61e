"""The subset of Go's text/template that LinuxKit tag templates use.

`tag:` in build.yml is rendered with data `{"Hash": <hash>}`. Real repositories write things like
`{{.Hash}}-amd`, `v1-{{printf "%.7s" .Hash}}` or `{{ .Hash | printf "%.12s" }}`. Supported:
text, `{{/* comments */}}`, trim markers, fields, string/number literals, pipelines and the
functions print, printf, println, len, slice and index, with text/template's errors. Anything
else is reported as an unsupported template construct rather than rendered differently.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from linuxkit.pkglib.go_fmt import Byte, go_type, sprint, sprintf, sprintln


class TemplateError(Exception):
    pass


SPACE = " \t\r\n"  # Go's template lexer's white space: ASCII only
_ACTION = re.compile(r"\{\{(-[ \t\r\n])?(.*?)([ \t\r\n]-)?\}\}", re.S)
_TOKEN = re.compile(
    r"""[ \t\r\n]*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)
      | (?P<num>[+-]?[0-9]+)
      | (?P<field>(?:\.[^\W\d]\w*)+|\.)
      | (?P<pipe>\|)
      | (?P<ident>[^\W\d]\w*)
      | (?P<paren>[()])
    )""",
    re.X,
)
NO_VALUE = "<no value>"


MAX_DEPTH = 100  # nested parentheses (Go's parser stops at 10000: "max expression depth exceeded")
_SIMPLE_ESCAPES = {"a": b"\a", "b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t",
                   "v": b"\v", "\\": b"\\", '"': b'"'}  # fmt: skip


def _unquote(literal: str) -> str:
    """strconv.Unquote of a template string literal; bytes that are not UTF-8 are kept as
    surrogate escapes (Go strings hold bytes). Raises TemplateError for a bad escape."""
    if literal.startswith("`"):
        return literal[1:-1]
    body, out, i = literal[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out += ch.encode("utf-8", "surrogateescape")
            i += 1
            continue
        kind = body[i + 1 : i + 2]
        if kind in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[kind]
            i += 2
            continue
        octal = len(kind) == 1 and kind in "01234567"
        size = 3 if octal else {"x": 2, "u": 4, "U": 8}.get(kind, 0)
        start = i + 1 if octal else i + 2
        digits = body[start : start + size]
        if not size or not re.fullmatch(f"[0-7]{{{size}}}" if octal else f"[0-9a-fA-F]{{{size}}}", digits):
            raise TemplateError(f"invalid syntax: bad escape in {literal}")
        value = int(digits, 8 if octal else 16)
        if kind in ("u", "U"):
            if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
                raise TemplateError(f"invalid syntax: bad escape in {literal}")
            out += chr(value).encode("utf-8")
        elif value > 255:
            raise TemplateError(f"invalid syntax: bad escape in {literal}")
        else:
            out.append(value)
        i = start + size
    return out.decode("utf-8", "surrogateescape")


def _len(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogateescape"))
    if isinstance(value, Mapping):
        return len(value)
    raise TemplateError(f"len of type {go_type(value)}")


def _index_arg(index: Any, cap: int) -> int:
    """text/template's indexArg: an int in [0, cap]."""
    if not isinstance(index, int) or isinstance(index, bool):
        raise TemplateError(f"cannot index slice/array with type {go_type(index)}")
    if index < 0 or index > cap:
        raise TemplateError(f"index out of range: {index}")
    return index


def _slice(value: Any, *indexes: Any) -> Any:
    if len(indexes) > 3:
        raise TemplateError(f"too many slice indexes: {len(indexes)}")
    if not isinstance(value, str):
        raise TemplateError(f"can't slice item of type {go_type(value)}")
    if len(indexes) == 3:
        raise TemplateError("cannot 3-index slice a string")
    data = value.encode("utf-8", "surrogateescape")
    bounds = [0, len(data)]
    for i, index in enumerate(indexes):
        bounds[i] = _index_arg(index, len(data))
    if bounds[0] > bounds[1]:
        raise TemplateError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    return data[bounds[0] : bounds[1]].decode("utf-8", "surrogateescape")


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, str):
            data = value.encode("utf-8", "surrogateescape")
            position = _index_arg(key, len(data))
            if position == len(data):
                raise TemplateError("reflect: string index out of range")
            value = Byte(data[position])
        elif isinstance(value, Mapping):
            if not isinstance(key, str):
                raise TemplateError(f"value has type {go_type(key)}; should be string")
            value = value.get(key, "")
        else:
            raise TemplateError(f"can't index item of type {go_type(value)}")
    return value


def _printf(fmt: Any, *args: Any) -> str:
    if not isinstance(fmt, str):
        raise TemplateError(f"wrong type for value; expected string; got {go_type(fmt)}")
    return sprintf(fmt, *args)


_ARITY = {"len": (1, 1), "slice": (1, None), "index": (1, None), "printf": (1, None)}

FUNCS: Mapping[str, Callable[..., Any]] = {
    "print": sprint,
    "printf": _printf,
    "println": sprintln,
    "len": _len,
    "slice": _slice,
    "index": _index,
}


class _Parser:
    def __init__(self, text: str, data: Mapping[str, Any]) -> None:
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.data = data
        self.depth = 0

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip(SPACE) == "":
                break
            m = _TOKEN.match(text, pos)
            if not m:
                raise TemplateError(f"unexpected {text[pos:].strip(SPACE)!r} in command")
            kind = m.lastgroup or ""
            tokens.append((kind, m.group(kind)))
            pos = m.end()
        return tokens

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def pipeline(self) -> Any:
        value = self.command(None, piped=False)
        while self._peek() and self._peek()[0] == "pipe":
            self.pos += 1
            value = self.command(value, piped=True)
        return value

    def command(self, piped_value: Any, *, piped: bool) -> Any:
        token = self._peek()
        if token is None:
            raise TemplateError("missing value for command")
        if token[0] == "ident":
            self.pos += 1
            name = token[1]
            if name not in FUNCS:
                raise TemplateError(f'function "{name}" not defined or not supported')
            args = []
            while self._peek() and self._peek()[0] not in ("pipe",) and self._peek()[1] != ")":
                args.append(self.operand())
            if piped:
                args.append(piped_value)
            low, high = _ARITY.get(name, (0, None))
            if len(args) < low or (high is not None and len(args) > high):
                want = f"{low}" if low == high else f"at least {low}"
                raise TemplateError(f"wrong number of args for {name}: want {want} got {len(args)}")
            try:
                return FUNCS[name](*args)
            except TemplateError as e:
                raise TemplateError(f"error calling {name}: {e}")
        if piped:
            raise TemplateError(f"non executable command in pipeline stage: {token[1]}")
        value = self.operand()
        if self._peek() and self._peek()[0] != "pipe":
            raise TemplateError(f"can't give argument to non-function {token[1]}")
        return value

    def operand(self) -> Any:
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if kind == "str":
            return _unquote(text)
        if kind == "num":
            return int(text)
        if kind == "field":
            return self._field(text)
        if kind == "paren" and text == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise TemplateError("max expression depth exceeded")
            value = self.pipeline()
            self.depth -= 1
            if self._peek() != ("paren", ")"):
                raise TemplateError("unclosed left paren")
            self.pos += 1
            return value
        if kind == "ident":
            self.pos -= 1
            return self.command(None, piped=False)
        raise TemplateError(f"unexpected {text!r} in operand")

    def _field(self, path: str) -> Any:
        value: Any = self.data
        for name in path.split(".")[1:]:
            if not name:
                continue
            if not isinstance(value, Mapping):
                raise TemplateError(f"can't evaluate field {name}")
            value = value.get(name, NO_VALUE)
        return value


def render(template: str, data: Mapping[str, Any]) -> str:
    """Renders `template` like Go's text/template; raises TemplateError for anything else."""
    if any(0xD800 <= ord(c) <= 0xDFFF for c in template):
        raise TemplateError("template is not valid UTF-8")
    out: list[str] = []
    pos = 0
    for m in _ACTION.finditer(template):
        text = template[pos : m.start()]
        if m.group(1):
            text = text.rstrip(SPACE)
        out.append(text)
        body = m.group(2).strip(SPACE)
        pos = m.end()
        if m.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip(SPACE))
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError("unclosed comment")
            continue
        if not body:
            raise TemplateError("missing value for command")
        if re.match(r"(if|else|end|range|with|define|template|block|break|continue)\b", body):
            raise TemplateError(f"unsupported template action {{{{{body}}}}}")
        parser = _Parser(body, data)
        value = parser.pipeline()
        if parser.pos != len(parser.tokens):
            raise TemplateError(f"unexpected {parser.tokens[parser.pos][1]!r} in command")
        out.append(sprint(value))
    tail = template[pos:]
    if "{{" in tail:
        raise TemplateError("unclosed action")
    out.append(tail)
    return "".join(out)
