"""The subset of Go's text/template that LinuxKit tag templates use.

`tag:` in build.yml is rendered with data `{"Hash": <hash>}`. Real repositories write things like
`{{.Hash}}-amd`, `v1-{{printf "%.7s" .Hash}}` or `{{ .Hash | printf "%.12s" }}`. Supported:
text, `{{/* comments */}}`, trim markers, fields, string/number literals, pipelines and the
functions print, printf, println, len, slice, index, html-free `urlquery`-free basics. Anything
else is reported as an unsupported template construct rather than rendered differently.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from linuxkit.pkglib.go_fmt import sprint, sprintf, sprintln


class TemplateError(Exception):
    pass


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)
      | (?P<num>[+-]?\d+)
      | (?P<field>(?:\.[A-Za-z_]\w*)+|\.)
      | (?P<pipe>\|)
      | (?P<ident>[A-Za-z_]\w*)
      | (?P<paren>[()])
    )""",
    re.X,
)
NO_VALUE = "<no value>"


def _unquote(literal: str) -> str:
    if literal.startswith("`"):
        return literal[1:-1]
    return bytes(literal[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def _len(value: Any) -> int:
    return len(value.encode("utf-8") if isinstance(value, str) else value)


def _slice(value: Any, *bounds: int) -> Any:
    if isinstance(value, str):
        data = value.encode("utf-8")
        return data[slice(*bounds) if len(bounds) > 1 else slice(bounds[0], None)].decode(
            "utf-8", "replace"
        )
    return value[slice(*bounds)] if len(bounds) > 1 else value[bounds[0] :] if bounds else value


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        value = value[key]
    return value


FUNCS: Mapping[str, Callable[..., Any]] = {
    "print": sprint,
    "printf": sprintf,
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

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m:
                raise TemplateError(f"unexpected {text[pos:].strip()!r} in command")
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
            try:
                return FUNCS[name](*args)
            except (TypeError, IndexError, KeyError, ValueError) as e:
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
            value = self.pipeline()
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
    out: list[str] = []
    pos = 0
    for m in _ACTION.finditer(template):
        text = template[pos : m.start()]
        if m.group(1):
            text = text.rstrip()
        out.append(text)
        body = m.group(2).strip()
        pos = m.end()
        if m.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
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
