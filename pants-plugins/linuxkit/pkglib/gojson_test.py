from __future__ import annotations

import pytest

from linuxkit.pkglib import build_yml


def label(config_yaml: str) -> str:
    text = "image: x\nconfig:\n" + "".join(f"  {line}\n" for line in config_yaml.splitlines())
    decoded = build_yml.decode_yaml(text, "build.yml")
    pkg = build_yml.make_build_yml(decoded.keys, path="build.yml", read_package_file=lambda _: None)
    assert pkg.config_label is not None
    return pkg.config_label


def test_binfmt_example_from_the_spec() -> None:
    # linuxkit's pkg/binfmt/build.yml, whose label the spec quotes (§1.5).
    config = "capabilities:\n  - CAP_SYS_ADMIN\nreadonly: true\nnet: new\nipc: new\n"
    assert label(config) == '{"capabilities":["CAP_SYS_ADMIN"],"net":"new","ipc":"new","readonly":true}'


def test_struct_order_not_yaml_order_and_raw_string_mode() -> None:
    config = (
        "devices:\n  - {path: /dev/console, type: c, major: 5, minor: 1, mode: 0666}\n"
        "  - {path: all, type: b}\npid: host\ncapabilities: [all]\noomScoreAdj: -800\n"
    )
    assert label(config) == (
        '{"capabilities":["all"],"devices":[{"path":"/dev/console","type":"c","major":5,'
        '"minor":1,"mode":"0666"},{"path":"all","type":"b","major":0,"minor":0}],"pid":"host",'
        '"oomScoreAdj":-800}'
    )


def test_explicit_empty_and_false_pointers_are_kept() -> None:
    assert label("binds: []\nreadonly: false\ncwd: ''\n") == '{"binds":[],"readonly":false}'


def test_runtime_always_has_bind_ns_and_interfaces_create_in_root() -> None:
    config = "runtime:\n  interfaces:\n    - name: eth0\n  mkdir: [/var/lib]\n"
    assert label(config) == (
        '{"runtime":{"mkdir":["/var/lib"],"interfaces":[{"name":"eth0","createInRoot":false}],"bindNS":{}}}'
    )


def test_mounts_use_lower_cased_yaml_keys_and_json_tags() -> None:
    config = (
        "mounts:\n  - type: cgroup\n    options: [rw]\n"
        "uidMappings:\n  - {containerid: 0, hostid: 1000, size: 1}\n"
        "resources:\n  blockio:\n    weight: 10\n  memory:\n    limit: 1024\n"
    )
    assert label(config) == (
        '{"mounts":[{"destination":"","type":"cgroup","options":["rw"]}],'
        '"resources":{"memory":{"limit":1024},"blockIO":{"weight":10}},'
        '"uidMappings":[{"containerID":0,"hostID":1000,"size":1}]}'
    )


def test_maps_sorted_and_go_escaping() -> None:
    config = "sysctl:\n  z: '1'\n  a: '<&>'\nannotations: {k: \"caf\u00e9\\u2028\"}\nenv: [\"A=b\\tc\"]\n"
    assert label(config) == (
        '{"env":["A=b\\tc"],"sysctl":{"a":"\\u003c\\u0026\\u003e","z":"1"},'
        '"annotations":{"k":"caf\u00e9\\u2028"}}'
    )


@pytest.mark.parametrize(
    "value, expected",
    [("0666", "438"), ("0x10", "16"), ("1_000", "1000"), ("'1000'", '"1000"'), ("true", "true"),
     ("~", None), ("1.5", "1.5"), ("abc", '"abc"')],
)  # fmt: skip
def test_interface_fields_keep_the_yaml_v3_type(value: str, expected: str | None) -> None:
    if expected is None:
        assert label(f"uid: {value}\nnet: host\n") == '{"net":"host"}'
    else:
        assert label(f"uid: {value}\n") == f'{{"uid":{expected}}}'
