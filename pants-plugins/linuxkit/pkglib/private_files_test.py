from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.private_files import build_arg_secret_name, private_dir, write_private


def mode(path: str | Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_files_are_private_and_replaced_whole(tmp_path: Path) -> None:
    path = write_private("creds", b"r=u:one", str(tmp_path))
    assert path == str(tmp_path / f"linuxkit-secrets-{os.getuid()}" / "creds")
    assert (mode(os.path.dirname(path)), mode(path)) == (0o700, 0o600)
    assert write_private("creds", b"r=u:two", str(tmp_path)) == path
    assert Path(path).read_bytes() == b"r=u:two"
    assert os.listdir(os.path.dirname(path)) == ["creds"]  # no temporary file left


@pytest.mark.parametrize("make", ["open", "symlink", "file"])
def test_a_directory_others_could_use_is_refused_in_one_line(tmp_path: Path, make: str) -> None:
    path = tmp_path / f"linuxkit-secrets-{os.getuid()}"
    if make == "open":
        path.mkdir(mode=0o755)
        path.chmod(0o755)
    elif make == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        path.symlink_to(tmp_path / "elsewhere")
    else:
        path.write_text("")
    with pytest.raises(LinuxkitError) as e:
        write_private("creds", b"secret", str(tmp_path))
    assert str(e.value) == (
        f"{path}: not a private directory (a directory owned by uid {os.getuid()}, mode 0700): remove it"
    )
    assert not (tmp_path / "elsewhere" / "creds").exists()


def test_private_dir_is_made_once(tmp_path: Path) -> None:
    assert private_dir(str(tmp_path)) == private_dir(str(tmp_path))


def test_build_arg_secret_name_is_the_sha256_lk_buildctl_computes() -> None:
    option = "build-arg:http_proxy=http://u:***@p:3128"
    assert build_arg_secret_name(option) == hashlib.sha256(option.encode()).hexdigest()
