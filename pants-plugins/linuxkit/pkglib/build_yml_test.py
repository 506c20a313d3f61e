from __future__ import annotations

import pytest

from linuxkit.pkglib import build_yml
from linuxkit.pkglib.build_yml import DEFAULT_ARCHES, BuildYmlError

PATH = "pkg/x/build.yml"
DIGEST = "sha256:" + "a" * 64


def load(text: str, files: dict[str, bytes] | None = None, overrides=None) -> build_yml.BuildYml:
    decoded = build_yml.decode_yaml(text, PATH)
    extra = build_yml.decode_overrides(overrides or {}, "pkg/x/BUILD")
    return build_yml.make_build_yml(
        build_yml.merge(decoded.keys, extra),
        path=PATH,
        read_package_file=(files or {}).get,
        lines=decoded.lines,
        overridden={k: "pkg/x/BUILD" for k in extra},
    )


def error(text: str, **kwargs) -> str:
    with pytest.raises(BuildYmlError) as e:
        load(text, **kwargs)
    message = str(e.value)
    assert "\n" not in message
    return message


def test_defaults() -> None:
    pkg = load("image: foo\n")
    assert (pkg.org, pkg.tag, pkg.dockerfile, pkg.arches) == ("linuxkit", "{{.Hash}}", "Dockerfile", DEFAULT_ARCHES)
    assert pkg.gitrepo == "https://github.com/linuxkit/linuxkit"
    assert (pkg.network, pkg.disable_cache, pkg.config_label, pkg.build_args) == (False, False, None, None)


def test_string_fields_keep_raw_yaml_text() -> None:
    pkg = load("image: 0666\norg: 1e3\ntag: true\n# a comment\n")
    assert (pkg.image, pkg.org, pkg.tag) == ("0666", "1e3", "true")


def test_trailing_comment_is_not_part_of_the_value() -> None:
    assert load("image: chained-image # this must be used\n").image == "chained-image"


def test_null_keeps_scalar_defaults_but_clears_lists() -> None:
    pkg = load("image: foo\norg: ~\narches: ~\nnetwork:\n")
    assert (pkg.org, pkg.arches, pkg.network) == ("linuxkit", (), False)


def test_yaml11_booleans_for_typed_fields() -> None:
    assert load("image: a\nnetwork: yes\ndisable-cache: On\n").network is True
    assert load("image: a\nnetwork: off\n").network is False


def test_build_overrides_replace_file_values() -> None:
    pkg = load(
        "image: a\norg: file\nconfig: {net: host}\ndepends: {docker-images: {target: t.tar}}\n",
        overrides={"org": "build", "config": {"pid": "host"},
                   "depends": {"docker-images": {"list": [f"docker.io/library/x:1@{DIGEST}"]}}},
    )  # fmt: skip
    assert pkg.org == "build"
    assert pkg.config_label == '{"pid":"host"}'
    assert pkg.depends.target == "t.tar" and len(pkg.depends.images) == 1


def test_build_override_errors_name_the_build_file() -> None:
    assert error("image: a\n", overrides={"network": "maybe"}) == (
        'pkg/x/BUILD: network: cannot read "maybe" as a boolean'
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "pkg/x/build.yml: empty file: a build.yml needs at least `image:`"),
        ("# only a comment\n", "pkg/x/build.yml: empty file: a build.yml needs at least `image:`"),
        ("org: x\n", "pkg/x/build.yml: image: field is required"),
        ("image: ''\n", "pkg/x/build.yml:1: image: field is required"),
        ("image: a\nimage: b\n", 'pkg/x/build.yml:2: duplicate key "image" (first defined at line 1)'),
        ("image: a\nunknownField: abc\n", 'pkg/x/build.yml:2: unknown field "unknownField"'),
        ("image: a\nconfig:\n  devices:\n    - path: x\n      bogus: 1\n",
         'pkg/x/build.yml:5: config.devices[0]: unknown field "bogus"'),
        ("image: a\nconfig:\n  sysctl: {a: '1', a: '2'}\n", 'pkg/x/build.yml:3: config.sysctl: duplicate key "a"'),
        ("image: a\nnetwork: maybe\n", 'pkg/x/build.yml:2: network: cannot read "maybe" as a boolean'),
        ("image: [a]\n", "pkg/x/build.yml:1: image: expected a string, got a list"),
        ("image: Init\n", 'pkg/x/build.yml:1: image: "Init" is not a valid image name'),
        ("image: a\norg: 'x,dest=/tmp/p'\n", 'pkg/x/build.yml:2: org: "x,dest=/tmp/p" is not a valid org'),
        ("image: a\narches: amd64\n", 'pkg/x/build.yml:2: arches: expected a list, got "amd64"'),
        ("image: a\nconfig:\n  oomScoreAdj: high\n", 'pkg/x/build.yml:3: config.oomScoreAdj: cannot read "high" as an integer'),
        ("image: a\nconfig:\n  uidMappings: [{containerid: -1, hostid: 0, size: 1}]\n",
         'config.uidMappings[0].containerid: cannot read "-1" as an integer (uint32)'),
        ("image: [a\n", "pkg/x/build.yml:2: invalid YAML:"),
        ("- image: a\n", "pkg/x/build.yml:1: expected a mapping, got a list"),
        ('image: a\nextra-sources: ["a\\nb"]\n', 'pkg/x/build.yml:2: extra-sources[0]: bad source format in "a\\nb"'),
        ("image: a\nextra-sources: [a:b:c]\n", 'pkg/x/build.yml:2: extra-sources[0]: bad source format in "a:b:c"'),
        ("image: a\nextra-sources: [/abs:/x]\n", 'extra-sources[0]: "/abs" must be relative to the package directory'),
        ("image: a\ndepends:\n  docker-images:\n    target: x.tar\n    target-dir: d\n",
         'pkg/x/build.yml:4: depends.docker-images: "target" and "target-dir" are mutually exclusive'),
        ("image: a\ndepends:\n  docker-images:\n    from-file: f\n    list: [x]\n",
         '"list" and "from-file" are mutually exclusive'),
        ("image: a\ndepends:\n  docker-images:\n    target: /abs.tar\n",
         "pkg/x/build.yml:4: depends.docker-images.target: must be relative to package directory"),
        ("image: a\ndepends:\n  docker-images:\n    target-dir: .\n",
         "depends.docker-images.target-dir: must not be exactly the package directory"),
        ("image: a\ndepends:\n  docker-images:\n    target: ../../escape.tar\n",
         'depends.docker-images.target: "../../escape.tar" must be within package directory'),
        ("image: a\ndepends:\n  docker-images:\n    target: t.tar\n    list: [docker.io/library/nginx:latest]\n",
         'pkg/x/build.yml:5: depends.docker-images.list[0]: image "docker.io/library/nginx:latest" lacks a digest'),
        ("image: a\ndepends:\n  docker-images:\n    target: t.tar\n    list: [docker.io/library/nginx:latest@sha256:invalid]\n",
         'unable to validate digest in "docker.io/library/nginx:latest@sha256:invalid": invalid checksum digest length'),
        ("image: a\ndepends:\n  docker-images:\n    target: t.tar\n    list: [docker.io/x/y@md5:abc]\n",
         "unsupported digest algorithm"),
        ("image: a\ndepends:\n  docker-images:\n    target: t.tar\n    list: ['docker.io/x/y@sha256:" + "A" * 64 + "']\n",
         "invalid checksum digest format"),
        ("image: a\ndepends:\n  docker-images:\n    target: t.tar\n    list: [nginx@" + DIGEST + "]\n",
         'image "nginx@sha256:' + "a" * 64 + '" is not a valid reference'),
        ("image: a\ndepends:\n  docker-images:\n    list: [docker.io/x/y@" + DIGEST + "]\n",
         'neither "target" nor "target-dir"'),
        ("image: a\ndepends:\n  docker-images:\n    target: t.tar\n    from-file: images.txt\n",
         'depends.docker-images.from-file: "images.txt" does not exist'),
    ],
)  # fmt: skip
def test_errors_are_one_line_naming_file_line_and_field(text: str, message: str) -> None:
    assert message in error(text)


def test_from_file_lines() -> None:
    listing = f"# comment\n\ndocker.io/library/a:1@{DIGEST}\ndocker.io/library/b@{DIGEST}\n".encode()
    pkg = load(
        "image: a\ndepends:\n  docker-images:\n    target-dir: deps\n    from-file: images.txt\n",
        files={"images.txt": listing},
    )
    assert pkg.depends.images == (f"docker.io/library/a:1@{DIGEST}", f"docker.io/library/b@{DIGEST}")
    bad = b"docker.io/library/a:1\n"
    message = error(
        "image: a\ndepends:\n  docker-images:\n    target-dir: deps\n    from-file: images.txt\n",
        files={"images.txt": bad},
    )
    assert message == 'pkg/x/build.yml: images.txt:1: image "docker.io/library/a:1" lacks a digest'


def test_from_file_that_is_not_utf8() -> None:
    message = error(
        "image: a\ndepends:\n  docker-images:\n    target-dir: deps\n    from-file: images.txt\n",
        files={"images.txt": b"docker.io/library/a\xff\n"},
    )
    assert message == (
        'pkg/x/build.yml:5: depends.docker-images.from-file: "images.txt" is not UTF-8 text '
        "(invalid start byte at byte 19)"
    )


def test_disable_content_trust_is_a_known_bool_field() -> None:
    assert load("image: a\n").disable_content_trust is False
    assert load("image: a\ndisable-content-trust: true\n").disable_content_trust is True
    assert load("image: a\n", overrides={"disable-content-trust": True}).disable_content_trust is True
    assert error("image: a\ndisable-content-trust: sometimes\n").startswith(
        "pkg/x/build.yml:2: disable-content-trust: "
    )
