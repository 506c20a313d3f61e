"""Secrets handed to processes by file: `/tmp/linuxkit-secrets-<uid>/` (mode 0700, files 0600).

A process definition holds only a file's path (or, for `lk-buildctl`, a masked value that names
the file), so no secret enters an argv or environment that Pants caches, stores or logs (Pants
logs every process's argv and environment at debug level). The directory is outside the named
caches on purpose: CI systems often save those. Files are replaced atomically and kept: a
memoized rule may hand out the same path in a later run."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile

from linuxkit.pkglib.errors import LinuxkitError

SECRETS_ROOT = "/tmp"  # lk-buildctl finds the directory here too, with no variable to tell it


def private_dir(root: str = SECRETS_ROOT) -> str:
    """This user's secrets directory, created if absent; an error if anyone else could use it."""
    path = os.path.join(root, f"linuxkit-secrets-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise LinuxkitError(f"{path}: cannot create the private directory for secrets: {e.strerror}")
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise LinuxkitError(
            f"{path}: not a private directory (a directory owned by uid {os.getuid()}, mode 0700): "
            "remove it"
        )
    return path


def write_private(name: str, content: bytes, root: str = SECRETS_ROOT) -> str:
    """`content` in the file `name` of the private directory (mode 0600); its path."""
    directory = private_dir(root)
    path = os.path.join(directory, name)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(temporary, path)
    except OSError as e:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise LinuxkitError(f"{path}: cannot write: {e.strerror}")
    return path


def build_arg_secret_name(masked_option: str) -> str:
    """The file holding the real `--opt` value of a masked one (`build-arg:K=http://u:***@h`);
    lk-buildctl computes the same name (sha256 of the masked value)."""
    return hashlib.sha256(masked_option.encode()).hexdigest()
