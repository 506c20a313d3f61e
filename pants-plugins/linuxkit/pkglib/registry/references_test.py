from __future__ import annotations

import pytest

from linuxkit.pkglib.errors import RegistryError
from linuxkit.pkglib.registry.references import parse_ref

def test_parse_ref() -> None:
    assert parse_ref("redis") == ("registry-1.docker.io", "library/redis", "latest")
    assert parse_ref("linuxkit/init:abc") == ("registry-1.docker.io", "linuxkit/init", "abc")
    assert str(parse_ref("linuxkit/init:abc")) == "docker.io/linuxkit/init:abc"
    assert parse_ref("docker.io/linuxkit/init:abc").registry == "registry-1.docker.io"
    assert parse_ref("index.docker.io/redis:7") == ("registry-1.docker.io", "library/redis", "7")
    assert parse_ref("localhost:5000/foo:v1") == ("localhost:5000", "foo", "v1")
    assert parse_ref("localhost/foo") == ("localhost", "foo", "latest")
    assert parse_ref("127.0.0.1:5000/a/b/c:t") == ("127.0.0.1:5000", "a/b/c", "t")
    assert parse_ref("ghcr.io/org/pkg:v1.0.0") == ("ghcr.io", "org/pkg", "v1.0.0")
    assert parse_ref("foo/bar/baz:x") == ("registry-1.docker.io", "foo/bar/baz", "x")
    assert str(parse_ref("127.0.0.1:5000/foo:t")) == "127.0.0.1:5000/foo:t"
    for bad in ("Foo/bar:x", "foo:bad tag", "foo@sha256:" + "0" * 64, "", "a/b:v1\nv2", "foo:-x"):
        with pytest.raises(RegistryError):
            parse_ref(bad)
    with pytest.raises(RegistryError, match="must be lowercase"):
        parse_ref("linuxkit/Init:x")
