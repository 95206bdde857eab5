"""Get the UCI bank-marketing CSV into a local cache, verified byte for byte.

The tutorial is only reproducible on the exact file it was built from, so that file is pinned
by size and sha256. Everything is written to a temporary directory inside the cache and renamed
into place only after it verifies, so the cache never holds a bad or half-written file (and
concurrent runs sharing a cache never see one).

What happens when the download does not work, and why:

- No network (connection refused, DNS failure, timeout, connection reset): the pipeline must
  also run on an offline laptop, so the copy shipped in ``bankml/resources`` is used and the
  message says so. The shipped copy has the pinned sha256, so results do not change.
- HTTP 5xx: the server is reachable but failing, which for the user is the same as an outage;
  same fallback, and the message names the status.
- HTTP 4xx (e.g. 404): the server is reachable and says the URL is wrong. That is a
  configuration mistake which a silent fallback would hide forever, so DatasetDownloadError
  is raised.
- The server sent something that is not the dataset (checksum or size mismatch, truncated
  transfer, bad zip or gzip, zip without the CSV): DatasetIntegrityError. The file is not
  what the URL promises, and training on "something else" must never happen quietly.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Literal

# The UCI dataset page's download: bank+marketing.zip holds bank-additional.zip, which holds
# bank-additional/bank-additional-full.csv.
DEFAULT_URL = "https://archive.ics.uci.edu/static/public/222/bank+marketing.zip"
DATASET_FILENAME = "bank-additional-full.csv"
EXPECTED_SHA256 = "74adfc578bf77a7ff4bb1ba4a9f8709d9e3c6907342959c2c8416847e0afb4d8"
EXPECTED_SIZE = 5_834_924
SHIPPED_COPY = Path(__file__).resolve().parents[1] / "resources" / f"{DATASET_FILENAME}.gz"

_CHUNK_BYTES = 1 << 20
_MAX_ZIP_NESTING = 3  # bank+marketing.zip -> bank-additional.zip -> csv, with room to spare
_ZIP_MAGIC = b"PK"
_GZIP_MAGIC = b"\x1f\x8b"

Origin = Literal["cache", "download", "shipped"]


class DatasetIntegrityError(RuntimeError):
    """The bytes obtained are not the pinned dataset (wrong checksum, truncated, bad archive)."""


class DatasetDownloadError(RuntimeError):
    """The server is reachable but refused the request: the URL needs fixing."""


class _Unreachable(Exception):
    """Internal: the network or the server is unavailable, so the shipped copy is used."""


@dataclass(frozen=True)
class RawDataset:
    """The verified, uncompressed CSV in the cache, where it came from and a line for the log."""

    path: Path
    sha256: str
    origin: Origin
    message: str


@dataclass(frozen=True)
class Expected:
    """What the file must be: the pinned UCI file, or a user's own export of it (sha256 only)."""

    sha256: str
    size: int | None

    @property
    def pinned(self) -> bool:
        return self.sha256 == EXPECTED_SHA256

    @property
    def cache_name(self) -> str:
        return DATASET_FILENAME if self.pinned else f"bank-additional-full.{self.sha256[:12]}.csv"


def fetch_raw_dataset(
    url: str, cache_dir: Path, *, expected_sha256: str = EXPECTED_SHA256, timeout: float = 30.0
) -> RawDataset:
    """Return the verified dataset from the cache, the URL, or (offline) the shipped copy.

    ``url`` may point at the UCI zip (nested zips are searched), at bank-additional.zip, or at
    a plain ``.csv`` / ``.csv.gz``; the format is recognised from the content, not the name.
    ``expected_sha256`` other than the pinned one accepts another export of the data (whose
    schema ``prepare`` then checks); only the pinned file has a shipped offline copy.
    Raises DatasetDownloadError (HTTP 4xx, or offline with an unpinned checksum) or
    DatasetIntegrityError (wrong content).
    """
    expected_sha256 = expected_sha256.strip().lower()
    if len(expected_sha256) != 64 or any(c not in "0123456789abcdef" for c in expected_sha256):
        raise ValueError(f"expected_sha256 must be 64 hex digits, got {expected_sha256!r}")
    expected = Expected(expected_sha256, EXPECTED_SIZE if expected_sha256 == EXPECTED_SHA256 else None)
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"dataset URL must be http(s), got {url!r}")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / expected.cache_name

    note = ""
    if target.exists():
        problem = _verification_problem(target, expected)
        if problem is None:
            return RawDataset(
                target,
                expected.sha256,
                "cache",
                f"Using the verified cached copy {target} (sha256 {expected.sha256}); no download needed.",
            )
        target.unlink(missing_ok=True)
        note = f"Discarded the cached copy {target} because it failed verification ({problem}). "

    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".fetch-") as work:
        payload = Path(work) / "payload"
        extracted = Path(work) / DATASET_FILENAME
        try:
            _download(url, payload, timeout)
        except _Unreachable as unreachable:
            if not expected.pinned:
                raise DatasetDownloadError(
                    f"could not download {url} ({unreachable}), and only the pinned UCI file "
                    f"(sha256 {EXPECTED_SHA256}) has a shipped offline copy"
                ) from None
            _extract(SHIPPED_COPY, extracted, expected, source=f"the shipped copy {SHIPPED_COPY}")
            os.replace(extracted, target)
            return RawDataset(
                target,
                EXPECTED_SHA256,
                "shipped",
                f"{note}WARNING: could not download {url} ({unreachable}). Using the copy "
                f"shipped with bankml ({SHIPPED_COPY.name}) instead; it is the same file "
                f"(sha256 {EXPECTED_SHA256}), so results are unaffected.",
            )
        size = _extract(payload, extracted, expected, source=url)
        os.replace(extracted, target)
    return RawDataset(
        target,
        expected.sha256,
        "download",
        f"{note}Downloaded {url} and verified {DATASET_FILENAME} "
        f"({size} bytes, sha256 {expected.sha256}) into {target}.",
    )


def _download(url: str, dest: Path, timeout: float) -> None:
    """Save the response body to ``dest``; classify failures as described in the module doc."""
    request = urllib.request.Request(url, headers={"User-Agent": "bankml-dataset-fetch"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code >= 500:
            raise _Unreachable(f"the server answered HTTP {err.code} {err.reason}") from err
        raise DatasetDownloadError(
            f"Downloading the dataset from {url} failed with HTTP {err.code} {err.reason}. The "
            "server is reachable but has nothing at that address, so the URL is probably wrong; "
            f"fix it (the UCI download is {DEFAULT_URL}). The shipped copy is deliberately not "
            "used here, so that a wrong URL does not go unnoticed."
        ) from err
    except urllib.error.URLError as err:  # connection refused, DNS failure, connect timeout
        raise _Unreachable(f"{type(err.reason).__name__}: {err.reason}") from err
    except OSError as err:  # timeout or reset while waiting for the response headers
        raise _Unreachable(f"{type(err).__name__}: {err}") from err
    except http.client.HTTPException as err:
        raise DatasetDownloadError(
            f"{url} did not answer with a valid HTTP response ({type(err).__name__}: {err})"
        ) from err

    announced = response.headers.get("Content-Length")
    received = 0
    with response, dest.open("wb") as out:
        while True:
            try:
                chunk = response.read(_CHUNK_BYTES)
            except OSError as err:  # the connection died mid-transfer: a network failure
                raise _Unreachable(f"{type(err).__name__} during the transfer: {err}") from err
            except http.client.IncompleteRead as err:
                raise _truncated_transfer(url, received + len(err.partial), announced) from err
            if not chunk:
                break
            out.write(chunk)
            received += len(chunk)
    if announced is not None and announced.isdigit() and received != int(announced):
        raise _truncated_transfer(url, received, announced)


def _truncated_transfer(url: str, received: int, announced: str | None) -> DatasetIntegrityError:
    return DatasetIntegrityError(
        f"The download of {url} was truncated: received {received} of the {announced} bytes the "
        "server announced. Nothing was cached; retry."
    )


def _extract(payload: Path, dest: Path, expected: Expected, *, source: str) -> int:
    """Write the CSV held by ``payload`` (zip, gzip or plain) to ``dest``, verify it, return its size."""
    with payload.open("rb") as head:
        magic = head.read(2)
    digest = hashlib.sha256()
    size = 0
    try:
        with _open_csv(payload, magic, source) as stream, dest.open("wb") as out:
            while chunk := stream.read(_CHUNK_BYTES):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, gzip.BadGzipFile, zlib.error, EOFError) as err:
        kind = "zip" if magic == _ZIP_MAGIC else "gzip"
        raise DatasetIntegrityError(
            f"{source} is not a valid {kind} archive (truncated or corrupt): {type(err).__name__}: {err}"
        ) from err
    problem = _mismatch(size, digest.hexdigest(), expected)
    if problem is not None:
        raise DatasetIntegrityError(f"{DATASET_FILENAME} from {source} failed verification: {problem}")
    return size


@contextmanager
def _open_csv(payload: Path, magic: bytes, source: str) -> Iterator[IO[bytes]]:
    if magic == _GZIP_MAGIC:
        with gzip.open(payload, "rb") as stream:
            yield stream
    elif magic == _ZIP_MAGIC:
        with ExitStack() as stack:
            archive = stack.enter_context(zipfile.ZipFile(payload))
            member = _find_member(archive, stack, depth=1)
            if member is None:
                raise DatasetIntegrityError(
                    f"{source} is a zip archive but holds no {DATASET_FILENAME} (nested .zip "
                    f"archives were searched too); its members are: {', '.join(archive.namelist())}"
                )
            yield member
    else:
        with payload.open("rb") as stream:
            yield stream


def _find_member(archive: zipfile.ZipFile, stack: ExitStack, depth: int) -> IO[bytes] | None:
    """The dataset inside ``archive`` or the zips it contains (skipping macOS resource forks)."""
    names = [name for name in archive.namelist() if not name.startswith("__MACOSX/")]
    for name in names:
        if PurePosixPath(name).name == DATASET_FILENAME:
            return stack.enter_context(archive.open(name))
    if depth >= _MAX_ZIP_NESTING:
        return None
    for name in names:
        if name.lower().endswith(".zip"):
            inner = stack.enter_context(zipfile.ZipFile(stack.enter_context(archive.open(name))))
            found = _find_member(inner, stack, depth + 1)
            if found is not None:
                return found
    return None


def _verification_problem(path: Path, expected: Expected) -> str | None:
    size = path.stat().st_size
    if expected.size is not None and size != expected.size:
        return _mismatch(size, "(not computed)", expected)
    with path.open("rb") as stream:
        return _mismatch(size, hashlib.file_digest(stream, "sha256").hexdigest(), expected)


def _mismatch(size: int, sha256: str, expected: Expected) -> str | None:
    if expected.size in (None, size) and sha256 == expected.sha256:
        return None
    hint = " (the file is truncated)" if expected.size is not None and size < expected.size else ""
    expected_size = "" if expected.size is None else f"{expected.size} bytes with "
    return f"expected {expected_size}sha256 {expected.sha256}, got {size} bytes with sha256 {sha256}{hint}"
