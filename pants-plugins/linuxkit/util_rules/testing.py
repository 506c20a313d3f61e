"""Fake process results for rule tests (`run_rule_with_mocks`)."""

from __future__ import annotations

from pants.engine.fs import EMPTY_DIGEST, EMPTY_FILE_DIGEST, Digest
from pants.engine.process import FallibleProcessResult


def process_result(exit_code: int, stdout: bytes = b"", stderr: bytes = b"", output: Digest = EMPTY_DIGEST):
    return FallibleProcessResult(
        stdout=stdout, stdout_digest=EMPTY_FILE_DIGEST, stderr=stderr, stderr_digest=EMPTY_FILE_DIGEST,
        exit_code=exit_code, output_digest=output, metadata=None,  # type: ignore[arg-type]
    )  # fmt: skip


def ok_result(stdout: bytes = b"", output: Digest = EMPTY_DIGEST) -> FallibleProcessResult:
    return process_result(0, stdout=stdout, output=output)


def failed_result(stderr: str) -> FallibleProcessResult:
    return process_result(1, stderr=stderr.encode())
