from __future__ import annotations

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.platforms import builder_for, parse_builders, select_platforms


def test_select_platforms() -> None:
    assert select_platforms(["amd64", "arm64"], [], []) == ["linux/amd64", "linux/arm64"]
    assert select_platforms(["amd64", "arm64"], [], ["linux/arm64"]) == ["linux/amd64"]
    assert select_platforms(["amd64"], ["linux/s390x", "linux/arm/v7"], []) == ["linux/s390x", "linux/arm/v7"]


@pytest.mark.parametrize(
    "platforms, skip, message",
    [
        (["linux/amd64"], ["linux/arm64"], "may not be used together"),
        (["amd64"], [], "invalid target platform specification 'amd64'"),
        ([], ["windows/amd64"], "invalid target platform specification 'windows/amd64'"),
    ],
)
def test_select_platforms_errors(platforms, skip, message) -> None:
    with pytest.raises(LinuxkitError, match=message):
        select_platforms(["amd64"], platforms, skip)


def test_builders_precedence_and_context_fallback() -> None:
    builders = parse_builders(["linux/arm64=ctx-a,linux/amd64=unix:///run/b.sock"], "flag")
    assert builders == {"linux/arm64": "ctx-a", "linux/amd64": "unix:///run/b.sock"}
    assert builder_for("linux/arm64", builders, []) == "ctx-a"
    assert builder_for("linux/s390x", {}, ["linuxkit-linux-s390x"]) == "linuxkit-linux-s390x"
    assert builder_for("linux/s390x", {}, []) is None
    with pytest.raises(LinuxkitError, match="invalid platform=builder specification 'oops'"):
        parse_builders(["oops"], "flag")
