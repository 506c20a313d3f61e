from __future__ import annotations


class LinuxkitError(Exception):
    """A user-facing error: its message is one line that names the file and field at fault."""


class BuildYmlError(LinuxkitError):
    """`build.yml` (or the BUILD overrides of it) is not a valid LinuxKit package definition."""

    def __init__(self, path: str, problem: str, *, line: int | None = None, field: str = "") -> None:
        self.path = path
        self.line = line
        self.field = field
        # Values quoted in the problem come from the file: their line breaks must not split it.
        problem = problem.replace("\r", "\\r").replace("\n", "\\n")
        self.problem = problem
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


class GitError(LinuxkitError):
    """The package's git state cannot be read the way LinuxKit reads it."""


class RegistryError(LinuxkitError):
    """Talking to a registry failed (network, authentication, or the registry said no)."""


class RegistryContentError(RegistryError):
    """The registry sent content that is malformed or does not match its digest."""
