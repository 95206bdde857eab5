"""fetch_raw_dataset against a local HTTP server serving good, bad and truncated payloads."""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
import socketserver
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bankml.data import source
from bankml.data.source import (
    EXPECTED_SHA256,
    DatasetDownloadError,
    DatasetIntegrityError,
    fetch_raw_dataset,
)
from tests.paths import FULL_DATASET


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def csv_bytes() -> bytes:
    return gzip.decompress((FULL_DATASET).read_bytes())


@pytest.fixture(scope="session")
def payloads(csv_bytes: bytes) -> dict[str, bytes]:
    """Files by URL path, laid out like the real UCI downloads plus broken variants."""
    bank_additional = _zip(
        {
            "bank-additional/bank-additional-names.txt": b"names",
            "__MACOSX/bank-additional/._bank-additional-full.csv": b"resource fork",
            "bank-additional/bank-additional-full.csv": csv_bytes,
        }
    )
    tampered = bytearray(csv_bytes)
    tampered[-10] ^= 1
    return {
        "/bank+marketing.zip": _zip(
            {
                "bank.zip": _zip({"bank-full.csv": b"other"}),
                "__MACOSX/._bank-additional.zip": b"resource fork, not a zip",
                "bank-additional.zip": bank_additional,
            }
        ),
        "/bank-additional.zip": bank_additional,
        "/bank-additional-full.csv": csv_bytes,
        "/bank-additional-full.csv.gz": gzip.compress(csv_bytes),
        "/tampered.csv": bytes(tampered),
        "/short.csv.gz": gzip.compress(csv_bytes[: len(csv_bytes) // 2]),
        "/broken.zip": bank_additional[: len(bank_additional) // 2],
        "/broken.csv.gz": gzip.compress(csv_bytes)[:1000],
        "/no-member.zip": _zip({"bank-additional/bank-additional-names.txt": b"names"}),
    }


class _Handler(BaseHTTPRequestHandler):
    payloads: dict[str, bytes] = {}
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.requests.append(self.path)
        if self.path == "/down":
            self.send_error(503)
        elif self.path == "/cut-short.csv":  # announces more bytes than it sends
            self.send_response(200)
            self.send_header("Content-Length", "5834924")
            self.end_headers()
            self.wfile.write(b"age;job\r\n" * 100)
            self.close_connection = True
        elif self.path == "/cut-chunked.csv":  # a chunk that never arrives in full
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"1000\r\nage;job\r\n")
            self.close_connection = True
        elif self.path in self.payloads:
            body = self.payloads[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def server(payloads: dict[str, bytes]) -> Iterator[str]:
    _Handler.payloads = payloads
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def requests_seen() -> list[str]:
    _Handler.requests = []
    return _Handler.requests


@pytest.fixture
def refused_url() -> str:
    """A port that was just free: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/bank+marketing.zip"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_cache_clean(cache: Path) -> None:
    assert list(cache.iterdir()) == [], "a failed fetch must leave nothing in the cache"


@pytest.mark.parametrize(
    "path",
    ["/bank+marketing.zip", "/bank-additional.zip", "/bank-additional-full.csv", "/bank-additional-full.csv.gz"],
)
def test_download_of_each_format_is_verified_and_cached(server: str, path: str, tmp_path: Path) -> None:
    result = fetch_raw_dataset(server + path, tmp_path / "cache")

    assert result.origin == "download"
    assert result.path == tmp_path / "cache" / "bank-additional-full.csv"
    assert result.sha256 == EXPECTED_SHA256 == _sha256(result.path)
    assert server + path in result.message
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["bank-additional-full.csv"]


def test_verified_cache_hit_skips_the_download(server: str, tmp_path: Path, requests_seen: list[str]) -> None:
    fetch_raw_dataset(server + "/bank-additional-full.csv.gz", tmp_path)
    again = fetch_raw_dataset(server + "/bank-additional-full.csv.gz", tmp_path)

    assert again.origin == "cache"
    assert "no download" in again.message
    assert requests_seen == ["/bank-additional-full.csv.gz"]


def test_bad_cached_file_is_replaced_by_a_fresh_download(server: str, tmp_path: Path) -> None:
    (tmp_path / "bank-additional-full.csv").write_bytes(b"age;job\r\n")

    result = fetch_raw_dataset(server + "/bank-additional-full.csv.gz", tmp_path)

    assert result.origin == "download"
    assert _sha256(result.path) == EXPECTED_SHA256
    assert "Discarded the cached copy" in result.message
    assert "expected 5834924 bytes" in result.message


def test_connection_refused_falls_back_to_the_shipped_copy(refused_url: str, tmp_path: Path) -> None:
    result = fetch_raw_dataset(refused_url, tmp_path)

    assert result.origin == "shipped"
    assert _sha256(result.path) == EXPECTED_SHA256
    assert "could not download" in result.message and "ConnectionRefusedError" in result.message
    assert "shipped" in result.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank-additional-full.csv"]


def test_dns_failure_falls_back_to_the_shipped_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)

    result = fetch_raw_dataset("https://archive.invalid/bank+marketing.zip", tmp_path)

    assert result.origin == "shipped"
    assert "gaierror" in result.message


def test_timeout_falls_back_to_the_shipped_copy(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/bank+marketing.zip"

        result = fetch_raw_dataset(url, tmp_path, timeout=0.2)

    assert result.origin == "shipped"
    assert "timed out" in result.message


def test_server_error_falls_back_loudly(server: str, tmp_path: Path) -> None:
    result = fetch_raw_dataset(server + "/down", tmp_path)

    assert result.origin == "shipped"
    assert result.message.startswith("WARNING")
    assert "HTTP 503" in result.message


def test_http_404_is_an_error_not_a_fallback(server: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetDownloadError, match="HTTP 404") as raised:
        fetch_raw_dataset(server + "/moved.zip", tmp_path)

    assert server + "/moved.zip" in str(raised.value)
    assert source.DEFAULT_URL in str(raised.value)
    _assert_cache_clean(tmp_path)


def test_non_http_answer_is_an_error(tmp_path: Path) -> None:
    class Garbage(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)
            self.request.sendall(b"this is not http\r\n\r\n")

    with socketserver.TCPServer(("127.0.0.1", 0), Garbage) as garbage:
        thread = threading.Thread(target=garbage.handle_request, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{garbage.server_address[1]}/x.zip"
        with pytest.raises(DatasetDownloadError, match="valid HTTP response"):
            fetch_raw_dataset(url, tmp_path, timeout=5)
        thread.join(timeout=5)
    _assert_cache_clean(tmp_path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/tampered.csv", f"expected 5834924 bytes with sha256 {EXPECTED_SHA256}, got 5834924 bytes"),
        ("/short.csv.gz", "got 2917462 bytes .* \\(the file is truncated\\)"),
        ("/broken.zip", "not a valid zip archive"),
        ("/broken.csv.gz", "not a valid gzip archive"),
        ("/no-member.zip", "holds no bank-additional-full.csv.*bank-additional-names.txt"),
        ("/cut-short.csv", "truncated: received 900 of the 5834924 bytes"),
        ("/cut-chunked.csv", "truncated"),
    ],
)
def test_wrong_content_raises_and_leaves_no_file(server: str, path: str, expected: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetIntegrityError, match=expected) as raised:
        fetch_raw_dataset(server + path, tmp_path)

    assert server + path in str(raised.value)
    _assert_cache_clean(tmp_path)


def test_tampered_file_reports_the_sha_it_got(server: str, payloads: dict[str, bytes], tmp_path: Path) -> None:
    with pytest.raises(DatasetIntegrityError) as raised:
        fetch_raw_dataset(server + "/tampered.csv", tmp_path)

    assert hashlib.sha256(payloads["/tampered.csv"]).hexdigest() in str(raised.value)


def test_corrupt_shipped_copy_is_an_integrity_error(
    refused_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_copy = tmp_path / "shipped.csv.gz"
    bad_copy.write_bytes(gzip.compress(b"age;job\r\n"))
    monkeypatch.setattr(source, "SHIPPED_COPY", bad_copy)
    cache = tmp_path / "cache"

    with pytest.raises(DatasetIntegrityError, match="the shipped copy .*shipped.csv.gz failed verification"):
        fetch_raw_dataset(refused_url, cache)
    _assert_cache_clean(cache)


def test_shipped_copy_is_the_shared_file() -> None:
    shipped = gzip.decompress(source.SHIPPED_COPY.read_bytes())
    assert hashlib.sha256(shipped).hexdigest() == EXPECTED_SHA256
    assert len(shipped) == source.EXPECTED_SIZE


def test_verified_cache_is_used_even_when_offline(refused_url: str, tmp_path: Path) -> None:
    fetch_raw_dataset(refused_url, tmp_path)  # fills the cache from the shipped copy

    assert fetch_raw_dataset(refused_url, tmp_path).origin == "cache"


@pytest.mark.parametrize(
    ("url", "timeout", "message"),
    [
        ("ftp://example.org/bank.zip", 30.0, "must be http"),
        ("bank+marketing.zip", 30.0, "must be http"),
        ("http://127.0.0.1/bank.zip", 0.0, "timeout must be positive"),
    ],
)
def test_bad_arguments_are_rejected(url: str, timeout: float, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        fetch_raw_dataset(url, tmp_path, timeout=timeout)


def test_another_export_is_accepted_by_its_own_checksum(
    server: str, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    tampered = payloads["/tampered.csv"]
    sha = hashlib.sha256(tampered).hexdigest()
    raw = fetch_raw_dataset(f"{server}/tampered.csv", tmp_path, expected_sha256=sha.upper())
    assert raw.origin == "download" and raw.sha256 == sha
    assert raw.path.read_bytes() == tampered
    assert raw.path.name != "bank-additional-full.csv"  # never mistaken for the pinned file
    assert fetch_raw_dataset(f"{server}/tampered.csv", tmp_path, expected_sha256=sha).origin == "cache"


def test_unpinned_checksum_has_no_offline_fallback(refused_url: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetDownloadError, match="only the pinned UCI file"):
        fetch_raw_dataset(refused_url, tmp_path, expected_sha256="0" * 64)
    _assert_cache_clean(tmp_path)


def test_pinned_file_fails_an_unpinned_checksum(server: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetIntegrityError, match="expected sha256 " + "a" * 64):
        fetch_raw_dataset(f"{server}/bank-additional-full.csv", tmp_path, expected_sha256="a" * 64)


def test_malformed_checksum_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64 hex digits"):
        fetch_raw_dataset("http://127.0.0.1/x.csv", tmp_path, expected_sha256="abc")
