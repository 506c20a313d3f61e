from __future__ import annotations

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.mirrors import Mirror, mirrored, parse_mirrors


def test_registry_entries_docker_hub_aliases_and_the_fallback() -> None:
    mirrors = parse_mirrors([
        ("http://any.example:5000/", "LINUXKIT_MIRROR"),
        ("docker.io=https://hub.example/cache", "[linuxkit].mirror"),
        ("ghcr.io=http://127.0.0.1:5001", "[linuxkit].mirror"),
    ])  # fmt: skip
    assert mirrored("alpine:3.20", mirrors) == ("hub.example/cache/library/alpine:3.20", Mirror("hub.example/cache", False))
    assert mirrored("index.docker.io/x/y@sha256:ab", mirrors)[0] == "hub.example/cache/x/y@sha256:ab"
    assert mirrored("ghcr.io/o/p:1", mirrors) == ("127.0.0.1:5001/o/p:1", Mirror("127.0.0.1:5001", True))
    assert mirrored("quay.io/o/p:1", mirrors)[0] == "any.example:5000/o/p:1"


def test_later_entries_win_and_no_mirror_means_none() -> None:
    mirrors = parse_mirrors([("ghcr.io=http://a", "env"), ("ghcr.io=http://b", "option")])
    assert mirrored("ghcr.io/o/p:1", mirrors)[0] == "b/o/p:1"
    assert mirrored("quay.io/o/p:1", mirrors) is None


@pytest.mark.parametrize("entry", ["mirror.example", "docker.io=ftp://m", "docker.io=http://", "ftp://u:s3cr3t@m"])
def test_a_mirror_without_http_or_https_is_one_line(entry: str) -> None:
    with pytest.raises(LinuxkitError, match=r"^\[linuxkit\]\.mirror: mirror \".*\" must start with http:// or https://$") as e:
        parse_mirrors([(entry, "[linuxkit].mirror")])
    assert "s3cr3t" not in str(e.value)


def test_a_mirror_url_with_credentials_is_refused_without_printing_them() -> None:
    with pytest.raises(LinuxkitError) as e:
        parse_mirrors([("docker.io=https://u:s3cr3t@mirror.example/v2", "[linuxkit].mirror")])
    assert str(e.value) == (
        '[linuxkit].mirror: mirror "https://u:***@mirror.example/v2": no credentials in a mirror URL '
        "([linuxkit].registry_creds gives them for its host)"
    )
