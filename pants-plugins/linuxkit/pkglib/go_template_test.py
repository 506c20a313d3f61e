from __future__ import annotations

import pytest

from linuxkit.pkglib.go_template import TemplateError, render

HASH = "45a1ad5919f0b6acf0f0cf730e9434abfae11fe6"


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{.Hash}}", HASH),
        ("{{.Hash}}-amd64", HASH + "-amd64"),
        ('{{printf "%.7s" .Hash}}', HASH[:7]),
        ('{{ .Hash | printf "v1-%.12s" }}', "v1-" + HASH[:12]),
        ("{{- .Hash -}} x", HASH + "x"),
        ("a {{/* note */}}b", "a b"),
        ("{{.Missing}}", "<no value>"),
        ('{{print "a" "b"}}', "ab"),
        ("{{slice .Hash 0 4}}", HASH[:4]),
        ("{{len .Hash}}", "40"),
        ('{{printf "%s-%d" .Hash 7}}', HASH + "-7"),
        ('{{printf "%q" "x"}}', '"x"'),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, {"Hash": HASH}) == expected


@pytest.mark.parametrize(
    "template", ["{{.Hash", "{{if .Hash}}x{{end}}", "{{nosuch .Hash}}", "{{.Hash .Hash}}", "{{}}"]
)
def test_errors(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, {"Hash": HASH})


@pytest.mark.parametrize(
    "template, expected",
    [
        # fmt's tooLarge: a width or precision over 1e6 ends the verb, as Go's Sprintf does.
        ('{{printf "%999999999999s" .Hash}}', f"%!(NOVERB)%!(EXTRA string={HASH})"),
        ('{{printf "%.99999999999s" .Hash}}', f"%!(NOVERB)%!(EXTRA string={HASH})"),
        ('{{printf "%*s" 99999999 "ab"}}', "%!(BADWIDTH)ab"),
        ('{{printf "%.*s" -1 "ab"}}', "%!(BADPREC)ab"),
        ('{{printf "%*s|%-*s|" 4 "ab" 3 "c"}}', "  ab|c  |"),
        ('{{printf "%[2]s-%[1]s" "a" "b"}}', "b-a"),
        ('{{printf "%[3]s" "a"}}', "%!s(BADINDEX)"),
        ('{{printf "%d %s" .Hash}}', f"%!d(string={HASH}) %!s(MISSING)"),
        ('{{printf "%05s|%x|%#x" "ab" "ab" 255}}', "000ab|6162|0xff"),
        ('{{printf "%ü" 1}}', "%!ü(int=1)"),
        # text/template's index and slice: bytes of a string, Go's bounds.
        ("{{index .Hash 0}}", "52"),
        ('{{index . "Hash"}}', HASH),
        ('{{index . "Other"}}', ""),
        ("{{slice .Hash 38}}", HASH[38:]),
        ("{{slice .Hash 40}}", ""),
        # Non-ASCII: Go string escapes, Unicode identifiers.
        ('{{"\\u00e9\\x41\\101"}}', "\u00e9AA"),
        ("{{.H\u00e4sh}}", "<no value>"),
    ],
)
def test_go_semantics(template: str, expected: str) -> None:
    assert render(template, {"Hash": HASH}) == expected


@pytest.mark.parametrize(
    "template, message",
    [
        ("{{index .Hash 40}}", "error calling index: reflect: string index out of range"),
        ("{{index .Hash 41}}", "error calling index: index out of range: 41"),
        ("{{index .Hash -1}}", "error calling index: index out of range: -1"),
        ('{{index .Hash "a"}}', "error calling index: cannot index slice/array with type string"),
        ("{{index .Hash 0 0}}", "error calling index: can't index item of type uint8"),
        ("{{slice .Hash 5 2}}", "error calling slice: invalid slice index: 5 > 2"),
        ("{{slice .Hash 0 41}}", "error calling slice: index out of range: 41"),
        ("{{slice .Hash 1 2 3}}", "error calling slice: cannot 3-index slice a string"),
        ("{{slice 5}}", "error calling slice: can't slice item of type int"),
        ("{{len 5}}", "error calling len: len of type int"),
        ("{{len}}", "wrong number of args for len: want 1 got 0"),
        ("{{printf 1}}", "error calling printf: wrong type for value; expected string; got int"),
        ("{{" + "(" * 5000 + ".Hash" + ")" * 5000 + "}}", "max expression depth exceeded"),
        ('{{"\\ud800"}}', 'invalid syntax: bad escape in "\\ud800"'),
        ('{{"\\x4"}}', 'invalid syntax: bad escape in "\\x4"'),
        ('{{"\\400"}}', 'invalid syntax: bad escape in "\\400"'),
        ("{{\u00a0.Hash}}", "unexpected '\\xa0.Hash' in command"),
        ("\udcff{{.Hash}}", "template is not valid UTF-8"),
    ],
)
def test_go_errors_are_one_line(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as e:
        render(template, {"Hash": HASH})
    assert str(e.value) == message
