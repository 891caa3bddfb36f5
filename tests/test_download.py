"""download_file against a local HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import errno
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deepfake_audio.corpus import download
from deepfake_audio.corpus.download import DownloadError, download_file

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes
FAST = {"backoff_s": 0, "timeout_s": 5, "progress": False, "chunk_size": 1024}


@dataclass
class Behaviour:
    """How the test server answers; ``requests`` records the headers of each request."""

    payload: bytes = PAYLOAD
    fail_first: int = 0  # answer the first N requests with ``fail_status``
    fail_status: int = 503
    truncate_first_at: int | None = None  # first request: full Content-Length, K bytes, close
    ignore_range: bool = False
    status: int | None = None  # answer every request with this status
    requests: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        behaviour: Behaviour = self.server.behaviour
        with behaviour.lock:
            behaviour.requests.append(dict(self.headers))
            number = len(behaviour.requests)
        if behaviour.status is not None:
            return self._empty(behaviour.status)
        if number <= behaviour.fail_first:
            return self._empty(behaviour.fail_status)
        payload = behaviour.payload
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and not behaviour.ignore_range:
            start = int(match.group(1))
            if start >= len(payload):
                return self._empty(416, {"Content-Range": f"bytes */{len(payload)}"})
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
            body = payload[start:]
        else:
            self.send_response(200)
            body = payload
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if number == 1 and behaviour.truncate_first_at is not None:
            self.wfile.write(body[: behaviour.truncate_first_at])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _empty(self, status, headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def serve():
    """``serve(**behaviour)`` starts a server and returns (url, behaviour)."""
    servers = []

    def start(**kwargs):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.behaviour = Behaviour(**kwargs)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/file.zip", server.behaviour

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_downloads_whole_file(serve, tmp_path):
    url, behaviour = serve()
    dest = tmp_path / "sub" / "file.zip"
    assert download_file(url, dest, expected_size=len(PAYLOAD), **FAST) == dest
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "file.zip.part").exists()
    assert len(behaviour.requests) == 1


def test_retries_server_errors(serve, tmp_path):
    url, behaviour = serve(fail_first=2)
    dest = download_file(url, tmp_path / "f.zip", **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert len(behaviour.requests) == 3


def test_retries_too_many_requests(serve, tmp_path):
    url, behaviour = serve(fail_first=1, fail_status=429)
    assert download_file(url, tmp_path / "f.zip", **FAST).read_bytes() == PAYLOAD
    assert len(behaviour.requests) == 2


def test_gives_up_after_last_attempt(serve, tmp_path):
    url, behaviour = serve(status=503)
    with pytest.raises(DownloadError) as info:
        download_file(url, tmp_path / "f.zip", retries=2, **FAST)
    assert str(info.value) == (
        f"{url}: download failed after 3 attempts; last error: HTTP 503 Service Unavailable"
    )
    assert len(behaviour.requests) == 3
    assert not (tmp_path / "f.zip").exists()


def test_resumes_truncated_body(serve, tmp_path):
    url, behaviour = serve(truncate_first_at=3000)
    dest = download_file(url, tmp_path / "f.zip", expected_size=len(PAYLOAD), **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert len(behaviour.requests) == 2
    assert "Range" not in behaviour.requests[0]
    match = re.fullmatch(r"bytes=(\d+)-", behaviour.requests[1]["Range"])
    assert match and 0 < int(match.group(1)) <= 3000


def test_resumes_existing_part(serve, tmp_path):
    url, behaviour = serve()
    (tmp_path / "f.zip.part").write_bytes(PAYLOAD[:4000])
    dest = download_file(url, tmp_path / "f.zip", **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert behaviour.requests[0]["Range"] == "bytes=4000-"


def test_server_ignoring_range_starts_over(serve, tmp_path):
    url, behaviour = serve(ignore_range=True)
    (tmp_path / "f.zip.part").write_bytes(PAYLOAD[:4000])
    dest = download_file(url, tmp_path / "f.zip", expected_size=len(PAYLOAD), **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert behaviour.requests[0]["Range"] == "bytes=4000-"


def test_complete_part_answered_416_is_finished(serve, tmp_path):
    url, behaviour = serve()
    (tmp_path / "f.zip.part").write_bytes(PAYLOAD)
    dest = download_file(url, tmp_path / "f.zip", **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "f.zip.part").exists()
    assert len(behaviour.requests) == 1


def test_oversized_part_is_discarded(serve, tmp_path):
    url, behaviour = serve()
    (tmp_path / "f.zip.part").write_bytes(PAYLOAD + b"junk")
    dest = download_file(url, tmp_path / "f.zip", **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert len(behaviour.requests) == 2


def test_not_found_fails_at_once(serve, tmp_path):
    url, behaviour = serve(status=404)
    with pytest.raises(DownloadError) as info:
        download_file(url, tmp_path / "f.zip", **FAST)
    assert str(info.value) == f"{url}: server refused the download (HTTP 404 Not Found)"
    assert len(behaviour.requests) == 1


def test_wrong_size_is_moved_aside(serve, tmp_path):
    url, _ = serve()
    dest = tmp_path / "f.zip"
    with pytest.raises(DownloadError) as info:
        download_file(url, dest, expected_size=len(PAYLOAD) + 1, **FAST)
    bad = tmp_path / "f.zip.bad"
    assert str(info.value) == (
        f"{url}: downloaded {len(PAYLOAD)} bytes, expected "
        f"{len(PAYLOAD) + 1} bytes; the file was moved aside to {bad}"
    )
    assert not dest.exists()
    assert bad.read_bytes() == PAYLOAD


def test_complete_dest_makes_no_request(serve, tmp_path):
    url, behaviour = serve()
    dest = tmp_path / "f.zip"
    dest.write_bytes(PAYLOAD)
    assert download_file(url, dest, expected_size=len(PAYLOAD), **FAST) == dest
    assert download_file(url, dest, **FAST) == dest
    assert behaviour.requests == []


def test_dest_of_wrong_size_is_downloaded_again(serve, tmp_path):
    url, behaviour = serve()
    dest = tmp_path / "f.zip"
    dest.write_bytes(b"old")
    download_file(url, dest, expected_size=len(PAYLOAD), **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert len(behaviour.requests) == 1


def test_disk_full_keeps_part(serve, tmp_path, monkeypatch):
    url, behaviour = serve()
    real_write = download._write_chunk
    calls = []

    def write_then_fill(fh, chunk):
        calls.append(len(chunk))
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(fh, chunk)

    monkeypatch.setattr(download, "_write_chunk", write_then_fill)
    dest = tmp_path / "f.zip"
    with pytest.raises(DownloadError) as info:
        download_file(url, dest, **FAST)
    assert str(info.value) == f"{dest}: no space left on device after 2048 bytes"
    assert (tmp_path / "f.zip.part").read_bytes() == PAYLOAD[:2048]
    assert not dest.exists()
    assert len(behaviour.requests) == 1


def test_connection_refused_is_retried_then_reported(tmp_path):
    # Bind then close a socket to get a port nobody listens on.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/f.zip"
    with pytest.raises(
        DownloadError,
        match=r"download failed after 2 attempts; last error: "
        r"connection error",
    ):
        download_file(url, tmp_path / "f.zip", retries=1, **FAST)
