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
