"""Download one file over HTTP(S): resumable, retried, size-checked, renamed into place atomically.

The file is streamed into ``<dest>.part`` and renamed onto ``dest`` only once complete, so
``dest`` never holds a partial download. A ``.part`` left by an interrupted run is resumed
with an HTTP Range request.
"""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

import requests
from tqdm import tqdm

from deepfake_audio.errors import InputError

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")


class DownloadError(InputError):
    """A download could not be completed; the message names the URL or file and the reason."""


class _Retry(Exception):
    """A transient failure: the attempt may be repeated, resuming from the ``.part`` file."""


def download_file(
    url: str,
    dest: Path,
    *,
    expected_size: int | None = None,
    retries: int = 4,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
    chunk_size: int = 1 << 20,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` and return ``dest``.

    ``retries`` is the number of further attempts after the first one (so at most
    ``retries + 1`` requests for transient failures); the wait before retry ``k`` (k = 0, 1, ...)
    is ``backoff_s * 2**k``. Connection errors, timeouts, truncated bodies and HTTP 5xx/429
    are retried; any other HTTP 4xx (except 416, see below) fails at once.

    If ``dest`` already exists with ``expected_size`` bytes (any size when ``expected_size``
    is None) nothing is requested.
    """
    dest = Path(dest)
    if _already_complete(dest, expected_size):
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DownloadError(
            f"{dest.parent}: cannot create the download folder: {err.strerror or err}"
        ) from err
    part = dest.with_name(dest.name + ".part")
    attempts = retries + 1
    reason = ""
    with requests.Session() as session:
        for attempt in range(attempts):
            if attempt:
                time.sleep(backoff_s * 2 ** (attempt - 1))
            try:
                _fetch_once(
                    session,
                    url,
                    part,
                    dest,
                    expected_size=expected_size,
                    timeout_s=timeout_s,
                    chunk_size=chunk_size,
                    progress=progress,
                )
                break
            except _Retry as err:
                reason = str(err)
        else:
            raise DownloadError(f"{url}: download failed after {attempts} attempts; last error: {reason}")
    _check_size(url, part, dest, expected_size)
    os.replace(part, dest)
    return dest


def _already_complete(dest: Path, expected_size: int | None) -> bool:
    if not dest.is_file():
        return False
    return expected_size is None or dest.stat().st_size == expected_size


def _fetch_once(
    session: requests.Session,
    url: str,
    part: Path,
    dest: Path,
    *,
    expected_size: int | None,
    timeout_s: float,
    chunk_size: int,
    progress: bool,
) -> None:
    """One request: leave the complete body in ``part`` or raise ``_Retry``/``DownloadError``."""
    offset = part.stat().st_size if part.is_file() else 0
    # identity: the byte counts (Content-Length, Range) must be those of the file itself.
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        with session.get(url, headers=headers, stream=True, timeout=timeout_s) as response:
            start = _start_offset(url, response, part, offset, expected_size)
            if start is None:
                return  # the .part already holds the whole file
            _stream_body(response, part, dest, start, chunk_size, progress)
    except requests.exceptions.Timeout as err:
        raise _Retry(f"timed out after {timeout_s:g} s ({err})") from err
    except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as err:
        raise _Retry(f"connection error ({err})") from err
    except requests.exceptions.RequestException as err:  # a malformed URL, an unsupported scheme, ...
        raise DownloadError(f"{url}: {err}") from err


def _start_offset(
    url: str, response: requests.Response, part: Path, offset: int, expected_size: int | None
) -> int | None:
    """Where the body of ``response`` starts in the file; None when ``part`` is already complete."""
    status = response.status_code
    label = f"HTTP {status} {response.reason}".rstrip()
    if status == 416 and offset:
        match = _UNSATISFIED_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        total = int(match.group(1)) if match else expected_size
        if total == offset:
            return None
        part.unlink()  # the .part does not fit the file on the server: start over
        raise _Retry(f"{label} for a partial file of {offset} bytes; restarting")
    if status == 429 or status >= 500:
        raise _Retry(label)
    if 400 <= status < 500:
        raise DownloadError(f"{url}: server refused the download ({label})")
    if status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if not match or int(match.group(1)) != offset:
            part.unlink(missing_ok=True)
            raise _Retry(
                f"{label} with an unexpected Content-Range "
                f"{response.headers.get('Content-Range')!r}; restarting"
            )
        return offset
    if status == 200:
        return 0  # a server that ignores Range sends the whole file
    raise DownloadError(f"{url}: unexpected response ({label})")


def _stream_body(
    response: requests.Response, part: Path, dest: Path, start: int, chunk_size: int, progress: bool
) -> None:
    length = response.headers.get("Content-Length")
    length = int(length) if length and length.isdigit() else None
    total = start + length if length is not None else None
    written = 0
    try:
        fh = open(part, "ab" if start else "wb")
    except OSError as err:
        _raise_write_error(err, part, dest, start)
    with (
        fh,
        tqdm(
            total=total,
            initial=start,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=dest.name,
            disable=None if progress else True,
        ) as bar,
    ):
        # Network errors (requests' exceptions are OSErrors too) come from iter_content and
        # are retried by the caller; only writing is guarded here.
        for chunk in response.iter_content(chunk_size=chunk_size):
            try:
                _write_chunk(fh, chunk)
            except OSError as err:
                _raise_write_error(err, part, dest, start + written)
            written += len(chunk)
            bar.update(len(chunk))
    if length is not None and written < length:
        raise _Retry(f"truncated body: got {written} of {length} bytes")


def _write_chunk(fh, chunk: bytes) -> None:
    """Write one chunk through to the OS, so that a full disk shows here and not at close.

    A separate function, so that tests can simulate a full disk.
    """
    fh.write(chunk)
    fh.flush()


def _raise_write_error(err: OSError, part: Path, dest: Path, done: int) -> None:
    """A full disk is reported without retrying; the .part is kept for a later resume."""
    if err.errno == errno.ENOSPC:
        raise DownloadError(f"{dest}: no space left on device after {done} bytes") from err
    raise DownloadError(f"{part}: cannot write: {err.strerror or err}") from err


def _check_size(url: str, part: Path, dest: Path, expected_size: int | None) -> None:
    """Move a finished file of the wrong size aside to ``<dest>.bad`` and fail."""
    if expected_size is None:
        return
    actual = part.stat().st_size
    if actual == expected_size:
        return
    bad = dest.with_name(dest.name + ".bad")
    os.replace(part, bad)
    raise DownloadError(
        f"{url}: downloaded {actual} bytes, expected {expected_size} bytes; the file was moved aside to {bad}"
    )
