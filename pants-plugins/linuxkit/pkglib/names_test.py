from __future__ import annotations

import pytest

from linuxkit.pkglib.names import PackageName, name_problem


@pytest.mark.parametrize(
    "org, image, tag",
    [
        ("linuxkit", "init", "45a1ad5919f0b6acf0f0cf730e9434abfae11fe6"),
        ("127.0.0.1:5000/me", "init", "v1.2_3-rc.1"),
        ("localhost:5000", "a/b__c--d", "latest"),
        ("docker.io/library", "x.y", "A" * 128),
        ("[::1]:5000/me", "init", "t"),
    ],
)
def test_valid_names(org: str, image: str, tag: str) -> None:
    assert name_problem(PackageName(org, image, tag)) is None


@pytest.mark.parametrize(
    "org, image, tag, field, text",
    [
        ("linuxkit", "init", "abc,dest=/tmp/pwned.tar,name=x", "tag", 'rendered tag "abc,dest=/tmp/pwned.tar,name=x"'),
        ("linuxkit", "init", "abc\nx", "tag", "is not a valid tag"),
        ("linuxkit", "init", ".hidden", "tag", "is not a valid tag"),
        ("linuxkit", "init", "a" * 129, "tag", "is not a valid tag"),
        ("linuxkit", "init", "caf\u00e9", "tag", "is not a valid tag"),
        ("linuxkit", "Init", "t", "image", '"Init" is not a valid image name'),
        ("linuxkit", "init,dest=x", "t", "image", "is not a valid image name"),
        ("linuxkit", "a//b", "t", "image", "is not a valid image name"),
        ("linuxkit", "-a", "t", "image", "is not a valid image name"),
        ("Me", "init", "t", "org", '"Me" is not a valid org'),
        ("", "init", "t", "org", "is not a valid org"),
        ("me,type=local", "init", "t", "org", "is not a valid org"),
        ("host:port/x", "init", "t", "org", "is not a valid org"),
        ("linuxkit", "a" * 250, "t", "image", "is longer than 255 characters"),
    ],
)  # fmt: skip
def test_invalid_names_name_the_field(org: str, image: str, tag: str, field: str, text: str) -> None:
    problem = name_problem(PackageName(org, image, tag))
    assert problem is not None
    assert problem[0] == field and text in problem[1] and "\n" not in problem[1]
