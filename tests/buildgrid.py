"""A real REAPI server for Pants' remote cache: BuildGrid (`bgd`, installed by
build-support/tools/install.sh) on 127.0.0.1, with a disk CAS, an LRU action cache and no TLS
or authentication (`insecure-mode`).

    with BuildGrid(tmp_path / "buildgrid") as grid:
        grid.address, grid.instance      # "grpc://127.0.0.1:PORT", "linuxkit"
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from busybox_base import tools_dir
from registry import free_port

CONFIG = """\
server:
  - !channel
    address: "127.0.0.1:{port}"
    insecure-mode: true
authorization:
  method: none
storages:
  - !disk-storage &cas
    path: {cas}
caches:
  - !lru-action-cache &action-cache
    storage: *cas
    max-cached-refs: 100000
    allow-updates: true
    cache-failed-actions: false
instances:
  - name: {instance}
    services:
      - !action-cache
        cache: *action-cache
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
"""


def bgd_binary() -> str | None:
    """BuildGrid's `bgd`: the one install.sh put in the tools dir, else one on PATH."""
    installed = tools_dir() / "bin" / "bgd"
    return str(installed) if installed.exists() else shutil.which("bgd")


class BuildGrid:
    def __init__(self, workdir: Path, instance: str = "linuxkit", start_timeout: float = 120) -> None:
        self.workdir = workdir
        self.instance = instance
        self.start_timeout = start_timeout
        self.port = 0
        self._proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "bgd.log"

    def __enter__(self) -> "BuildGrid":
        bgd = bgd_binary()
        if bgd is None:
            raise RuntimeError("bgd not found: run build-support/tools/install.sh")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = self.workdir / "bgd.yml"
        config.write_text(CONFIG.format(port=self.port, cas=self.workdir / "cas", instance=self.instance))
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                [bgd, "server", "start", str(config)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        try:
            self._wait_until_listening()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_until_listening(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"bgd exited ({self._proc.returncode}):\n{self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"bgd not listening after {self.start_timeout}s:\n{self.log.read_text()[-2000:]}")

    def __exit__(self, *exc) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
