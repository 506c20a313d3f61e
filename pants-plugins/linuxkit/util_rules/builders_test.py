"""Builder choice, and the docker-context builder container (the Docker SDK faked at its edge:
no daemon here)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import docker
import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.buildkit import BuildkitSubsystem
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules import builders
from linuxkit.util_rules.builders import (
    BuilderContainer,
    DockerContexts,
    PlatformBuilderRequest,
    ensure_builder_container,
    platform_builder,
)
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict


class FakeContainer:
    def __init__(self, image: str, status: str = "running") -> None:
        self.image = type("Image", (), {"tags": [image]})()
        self.status, self.events, self.archives = status, [], []

    def start(self) -> None:
        self.events.append("start")

    def remove(self, force: bool) -> None:
        self.events.append("remove")

    def put_archive(self, path: str, data: bytes) -> None:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            self.archives.append({m.name: tar.extractfile(m).read() for m in tar.getmembers()})  # type: ignore[union-attr]


class FakeContainers:
    def __init__(self, existing: FakeContainer | None) -> None:
        self.existing, self.created = existing, []

    def get(self, name: str) -> FakeContainer:
        if self.existing is None:
            raise docker.errors.NotFound(name)
        return self.existing

    def create(self, image: str, **kwargs) -> FakeContainer:
        container = FakeContainer(image, "created")
        self.created.append((image, kwargs, container))
        return container


def client(existing=None):
    return type("Client", (), {"containers": FakeContainers(existing)})()


def test_running_container_with_the_image_is_kept() -> None:
    running = FakeContainer("moby/buildkit:v1")
    c = client(running)
    ensure_builder_container("ctx", "unix:///d", BuilderContainer("lk", "moby/buildkit:v1", None, False), c)
    assert running.events == [] and c.containers.created == []


@pytest.mark.parametrize("image, restart", [("moby/buildkit:v2", False), ("moby/buildkit:v1", True)])
def test_other_image_or_restart_replaces_it_with_the_config(tmp_path: Path, image: str, restart: bool) -> None:
    config = tmp_path / "buildkitd.toml"
    config.write_text('[registry."docker.io"]\nmirrors = ["m:5000"]\n')
    old = FakeContainer("moby/buildkit:v1")
    c = client(old)
    ensure_builder_container("ctx", "unix:///d", BuilderContainer("lk", image, str(config), restart), c)
    assert old.events == ["remove"]
    ((created_image, kwargs, new),) = c.containers.created
    assert created_image == image and kwargs["name"] == "lk" and kwargs["privileged"] is True
    assert new.archives == [{"etc/buildkit/buildkitd.toml": config.read_bytes()}]
    assert new.events == ["start"]


def test_unreadable_config_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LinuxkitError, match=r"^\[linuxkit\]\.builder_config: cannot read .*/nope: No such file"):
        ensure_builder_container("ctx", "unix:///d", BuilderContainer("lk", "i", str(tmp_path / "nope"), False), client())


def test_builder_options_win_over_their_environment_variables(monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(builders, "ensure_builder_container", lambda ctx, endpoint, wanted: seen.append(wanted))
    env = {"LINUXKIT_BUILDERS": "linux/arm64=ctx", "LINUXKIT_BUILDER_NAME": "env-name",
           "LINUXKIT_BUILDER_IMAGE": "env/image:1"}  # fmt: skip
    linuxkit = create_subsystem(LinuxkitSubsystem, builders=[], builder_tls_dir=None, builder_name=None,
                                builder_image="opt/image:2", builder_config=None, builder_restart=False)  # fmt: skip
    result = run_rule_with_mocks(
        platform_builder,
        rule_args=[PlatformBuilderRequest("linux/arm64"), linuxkit, create_subsystem(BuildkitSubsystem, version="v0.32.2"),
                   DockerContexts(FrozenDict({"ctx": "unix:///d"}))],
        mock_gets=[MockGet(output_type=EnvironmentVars, input_types=(EnvironmentVarsRequest,),
                           mock=lambda r: EnvironmentVars({k: v for k, v in env.items() if k in r.requested}))],
    )  # fmt: skip
    assert seen == [BuilderContainer("env-name", "opt/image:2", None, False)]
    assert result.env["LINUXKIT_BUILDKIT_ADDR"] == "docker-container://env-name"
