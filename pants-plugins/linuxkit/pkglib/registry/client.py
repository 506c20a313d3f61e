"""The distribution API of one repository: manifests and blobs, read and written. Everything
read is checked against its digest; every tag or digest is validated before it goes in a URL."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import IO, Callable

from linuxkit.pkglib.errors import RegistryContentError, RegistryError
from linuxkit.pkglib.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    OciError,
    is_digest,
    sha256_digest,
)
from linuxkit.pkglib.registry.references import TAG_RE
from linuxkit.pkglib.registry.transport import Body, Response, Transient, Transport, error_detail

MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))
DEFAULT_CHUNK_SIZE = 64 << 20  # one PATCH per 64 MiB; most layers go up in a single request


class _Slice:
    """`length` bytes of `f` from `offset`, as a read()-able body."""

    def __init__(self, f: IO[bytes], offset: int, length: int) -> None:
        if offset:
            f.seek(offset)
        self._f = f
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        if size < 0 or size > self._left:
            size = self._left
        data = self._f.read(size)
        if not data:
            raise OciError("blob in the OCI archive is shorter than its size")
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._f.close()


def _error_codes(resp: Response) -> set[str]:
    try:
        return {e.get("code", "") for e in json.loads(resp.body).get("errors") or []}
    except (ValueError, AttributeError, TypeError):
        return set()


def _upload_lost(resp: Response) -> bool:
    """The registry forgot or cancelled an upload session: start a new one."""
    return resp.status == 404 or (
        resp.status == 400
        and bool(_error_codes(resp) & {"BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN"})
    )


class RegistryClient(Transport):
    """One repository on one registry (see `Transport` for the connection options)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._known_blobs: set[str] = set()

    def __enter__(self) -> RegistryClient:
        return self

    def _url(self, path: str) -> str:
        return f"{self.base_url}/v2/{self.ref.repository}/{path}"

    def _manifest_url(self, reference: str) -> str:
        if not (TAG_RE.fullmatch(reference) or is_digest(reference)):
            raise RegistryError(f"{self.endpoint}: invalid tag or digest {reference!r}")
        return self._url(f"manifests/{reference}")

    def _blob_url(self, digest: str) -> str:
        if not is_digest(digest):
            raise RegistryError(f"{self.endpoint}: invalid blob digest {digest!r}")
        return self._url(f"blobs/{digest}")

    def manifest_digest(self, reference: str) -> str | None:
        """The digest a tag (or digest) resolves to, or None if the registry does not have it."""
        what = f"looking up {self.ref.with_tag(reference) if ':' not in reference else reference}"
        headers = {"Accept": MANIFEST_ACCEPT}
        url = self._manifest_url(reference)
        resp = self._request(what, "HEAD", url, headers=headers)
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise self._unexpected(what, resp)
        digest = resp.header("docker-content-digest")
        if digest:
            return self._checked_digest(what, digest)
        resp = self._request(what, "GET", url, headers=headers)
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise self._unexpected(what, resp)
        return self._verified(what, resp, reference)

    def get_manifest(self, reference: str) -> tuple[bytes, str] | None:
        """A manifest or index by tag or digest: (bytes, media type), or None if absent. The
        bytes match the digest asked for, or the one the registry reports for a tag."""
        what = f"fetching {reference}"
        resp = self._request(
            what, "GET", self._manifest_url(reference), headers={"Accept": MANIFEST_ACCEPT}
        )
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise self._unexpected(what, resp)
        self._verified(what, resp, reference)
        return resp.body, resp.header("content-type") or ""

    def get_blob(self, digest: str) -> bytes:
        what = f"fetching blob {digest}"
        resp = self._request(what, "GET", self._blob_url(digest))
        if resp.status != 200:
            raise self._unexpected(what, resp)
        if sha256_digest(resp.body) != digest:
            raise RegistryContentError(f"{self.endpoint}: {what}: content does not match")
        return resp.body

    def _checked_digest(self, what: str, digest: str) -> str:
        if not is_digest(digest):
            raise RegistryContentError(
                f"{self.endpoint}: {what}: invalid Docker-Content-Digest {digest[:80]!r}"
            )
        return digest

    def _verified(self, what: str, resp: Response, reference: str) -> str:
        """The digest of a manifest response, checked against the digest asked for and the one
        the registry reports (bytes that match neither were altered on the way)."""
        actual = sha256_digest(resp.body)
        reported = resp.header("docker-content-digest")
        for expected in (reference if ":" in reference else "", reported):
            if expected and self._checked_digest(what, expected) != actual:
                raise RegistryContentError(
                    f"{self.endpoint}: {what}: content does not match its digest {expected}"
                )
        return actual

    def blob_exists(self, digest: str) -> bool:
        if digest in self._known_blobs:
            return True
        what = f"checking blob {digest}"
        resp = self._request(what, "HEAD", self._blob_url(digest))
        if resp.status == 404:
            return False
        if resp.status != 200:
            raise self._unexpected(what, resp)
        self._known_blobs.add(digest)
        return True

    def upload_blob(
        self,
        digest: str,
        size: int,
        opener: Callable[[], IO[bytes]],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        """Upload a blob streamed from `opener()` (called again for every request that sends
        bytes, so nothing is held in memory). `chunk_size` > 0: PATCH chunks, then a closing
        PUT; a failed chunk is resumed from the offset the registry reports. 0: one monolithic
        PUT. When the upload session itself is lost, a fresh one is started."""
        what = f"uploading blob {digest}"
        self._retrying(what, lambda: self._upload_session(what, digest, size, opener, chunk_size))
        self._known_blobs.add(digest)

    def _upload_session(
        self, what: str, digest: str, size: int, opener: Callable[[], IO[bytes]], chunk_size: int
    ) -> None:
        """One upload session. Raises `Transient` when it has to be started over."""
        resp = self._request(
            what, "POST", self._url("blobs/uploads/"), headers={"Content-Length": "0"}
        )
        if resp.status != 202:
            raise self._unexpected(what, resp)
        location = self._location(resp, what)
        octets = {"Content-Type": "application/octet-stream"}
        if chunk_size > 0:
            offset = 0
            rejected_at = -1
            delays = self._retry.delays()
            while offset < size:
                start, length = offset, min(chunk_size, size - offset)
                try:
                    resp = self._once(
                        "PATCH",
                        location,
                        headers={
                            **octets,
                            "Content-Length": str(length),
                            "Content-Range": f"{start}-{start + length - 1}",
                        },
                        body=lambda: _Slice(opener(), start, length),
                    )
                except Transient as e:
                    delay = next(delays, None)
                    if delay is None:
                        raise RegistryError(
                            f"{self.endpoint}: {what} failed after {self._retry.attempts} "
                            f"attempts ({e})"
                        )
                    self._sleep(delay)
                    offset, location = self._upload_status(what, location, start)
                    continue
                if resp.status == 416:  # the registry has a different offset: ask it
                    if start == rejected_at:
                        raise Transient("upload offset rejected twice")
                    rejected_at = start
                    offset, location = self._upload_status(what, location, -1)
                    continue
                if _upload_lost(resp):
                    raise Transient(f"upload session lost ({error_detail(resp)})")
                if resp.status != 202:
                    raise self._unexpected(what, resp)
                location = self._location(resp, what)
                offset = self._range_end(resp, start + length)
            final_body: Body = None
            final_length = 0
        else:
            final_body = lambda: _Slice(opener(), 0, size)  # noqa: E731
            final_length = size
        sep = "&" if urllib.parse.urlsplit(location).query else "?"
        put_url = f"{location}{sep}digest={urllib.parse.quote(digest, safe='')}"
        headers = {**octets, "Content-Length": str(final_length)}
        if final_body is None:  # empty body: safe to retry on its own
            resp = self._request(what, "PUT", put_url, headers=headers)
        else:  # a failed monolithic PUT restarts the session (`Transient` propagates)
            resp = self._once("PUT", put_url, headers=headers, body=final_body)
        if resp.status not in (201, 204):
            # A retried closing PUT finds the session gone if the first one did land.
            self._known_blobs.discard(digest)
            if resp.status == 404 and self.blob_exists(digest):
                return
            if _upload_lost(resp):
                raise Transient(f"upload session lost ({error_detail(resp)})")
            raise self._unexpected(what, resp)
        returned = resp.header("docker-content-digest")
        if returned and returned != digest:
            raise RegistryError(f"{self.endpoint}: {what}: registry stored it as {returned}")

    @staticmethod
    def _range_end(resp: Response, default: int) -> int:
        """The offset after the bytes a `Range: 0-<last>` header says the registry has."""
        m = re.fullmatch(r"(?:bytes=)?0-(\d+)", resp.header("range").strip())
        return int(m.group(1)) + 1 if m else default

    def _upload_status(self, what: str, location: str, expected: int) -> tuple[int, str]:
        """Where an interrupted upload session stands (GET on it), to resume from there.
        A lost session, or an offset that cannot be told apart, means starting over."""
        resp = self._request(what, "GET", location)
        if _upload_lost(resp):
            # e.g. distribution cancels a session whose data no longer matches its offset
            raise Transient(f"upload session lost ({error_detail(resp)})")
        if resp.status not in (200, 204):
            raise self._unexpected(what, resp)
        offset = self._range_end(resp, -1)
        if offset <= 1:
            # distribution answers `0-0` for both "nothing" and "one byte"; nothing is what we
            # expect when the first chunk failed (a 416 on retrying it restarts the session).
            if expected != 0:
                raise Transient("upload session has no usable offset")
            offset = 0
        return offset, self._location(resp, what) if resp.header("location") else location

    def _location(self, resp: Response, what: str) -> str:
        location = resp.header("location")
        if not location:
            raise RegistryError(f"{self.endpoint}: {what}: registry sent no upload location")
        return urllib.parse.urljoin(self.base_url + "/", location)

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        """PUT the exact bytes under a tag or digest; returns the digest the registry reports."""
        digest = sha256_digest(data)
        target = str(self.ref.with_tag(reference)) if ":" not in reference else reference
        what = f"pushing {target}"
        resp = self._request(
            what,
            "PUT",
            self._manifest_url(reference),
            headers={"Content-Type": media_type, "Content-Length": str(len(data))},
            body=data,
        )
        if resp.status not in (200, 201, 202):
            raise self._unexpected(what, resp)
        returned = resp.header("docker-content-digest")
        if returned and returned != digest:
            raise RegistryError(
                f"{self.endpoint}: {what}: registry stored digest {returned}, expected {digest}"
            )
        return digest
