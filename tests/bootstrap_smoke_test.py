"""Smoke test for the Pants bootstrap: third-party imports resolve from the lockfile."""


def test_third_party_imports() -> None:
    import docker
    import pygit2
    import yaml

    assert yaml.safe_load("a: 1") == {"a": 1}
    assert pygit2.LIBGIT2_VERSION
    assert docker.__version__
