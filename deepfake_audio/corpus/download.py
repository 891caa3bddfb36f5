"""Download one file over HTTP(S): resumable, retried, size-checked, renamed into place atomically.

The file is streamed into ``<dest>.part`` and renamed onto ``dest`` only once complete, so
``dest`` never holds a partial download. A ``.part`` left by an interrupted run, or by a body
cut short, is resumed with an HTTP Range request. A request that fails before its body starts
is repeated by urllib3 (``Retry``, mounted on the session).
"""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from tqdm import tqdm
from urllib3.util import Retry

from deepfake_audio.errors import InputError

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")
_RETRIED_STATUSES = frozenset({429, *range(500, 600)})


class DownloadError(InputError):
    """A download could not be completed; the message names the URL or file and the reason."""


class _Resume(Exception):
    """A body cut short, or a ``.part`` the server's answer does not fit: the next attempt
    resumes from the ``.part`` file (or starts over where it was removed)."""


class _RetriesSpent(Exception):
    """A transient failure that urllib3 has already retried as often as allowed."""


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

    ``retries`` is the number of further attempts after the first one. A request that cannot
    connect, times out or gets HTTP 5xx/429 is repeated by urllib3 up to ``retries`` times: at
    once, then after ``backoff_s * 2**k`` s before retry ``k + 1`` (k = 1, 2, ...; at most 120 s),
    or as long as a Retry-After header asks. A body cut short is resumed, up to ``retries``
    times, after ``backoff_s * 2**k`` s before resume ``k + 1`` (k = 0, 1, ...). Any other HTTP
    4xx (except 416, see below) fails at once.

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
    with _session(retries, backoff_s) as session:
        for attempt in range(attempts):
            if attempt:
                time.sleep(backoff_s * 2 ** (attempt - 1))
            try:
                _fetch_once(
                    session,
                    url,
                    part=part,
                    dest=dest,
                    expected_size=expected_size,
                    timeout_s=timeout_s,
                    chunk_size=chunk_size,
                    progress=progress,
                )
                break
            except _Resume as err:
                reason = str(err)
            except _RetriesSpent as err:
                raise _gave_up(url, attempts, str(err)) from None
        else:
            raise _gave_up(url, attempts, reason)
    _check_size(url, part=part, dest=dest, expected_size=expected_size)
    os.replace(part, dest)
    return dest


def _session(retries: int, backoff_s: float) -> requests.Session:
    """A session on which urllib3 repeats a request that cannot connect, times out or gets
    HTTP 5xx/429 (honouring Retry-After), up to ``retries`` times."""
    retry = Retry(
        total=retries,
        backoff_factor=backoff_s,
        status_forcelist=_RETRIED_STATUSES,
        raise_on_status=False,  # the last answer comes back, to be reported with its status
    )
    adapter = HTTPAdapter(max_retries=retry)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _gave_up(url: str, attempts: int, reason: str) -> DownloadError:
    return DownloadError(f"{url}: download failed after {attempts} attempts; last error: {reason}")


def _already_complete(dest: Path, expected_size: int | None) -> bool:
    if not dest.is_file():
        return False
    return expected_size is None or dest.stat().st_size == expected_size


def _fetch_once(
    session: requests.Session,
    url: str,
    *,
    part: Path,
    dest: Path,
    expected_size: int | None,
    timeout_s: float,
    chunk_size: int,
    progress: bool,
) -> None:
    """One request (repeated by urllib3): leave the complete body in ``part`` or raise
    ``_Resume``, ``_RetriesSpent`` or ``DownloadError``."""
    offset = part.stat().st_size if part.is_file() else 0
    # identity: the byte counts (Content-Length, Range) must be those of the file itself.
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = session.get(url, headers=headers, stream=True, timeout=timeout_s)
    except requests.exceptions.Timeout as err:
        raise _RetriesSpent(f"timed out after {timeout_s:g} s ({err})") from err
    except requests.exceptions.ConnectionError as err:
        raise _RetriesSpent(f"connection error ({err})") from err
    except requests.exceptions.RequestException as err:  # a malformed URL, an unsupported scheme, ...
        raise DownloadError(f"{url}: {err}") from err
    with response:
        start = _start_offset(url, response, part=part, offset=offset, expected_size=expected_size)
        if start is None:
            return  # the .part already holds the whole file
        try:
            _stream_body(
                response, part=part, dest=dest, start=start, chunk_size=chunk_size, progress=progress
            )
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as err:
            raise _Resume(f"connection error ({err})") from err  # read timeouts mid-body included
        except requests.exceptions.RequestException as err:
            raise DownloadError(f"{url}: {err}") from err


def _start_offset(
    url: str, response: requests.Response, *, part: Path, offset: int, expected_size: int | None
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
        raise _Resume(f"{label} for a partial file of {offset} bytes; restarting")
    if status in _RETRIED_STATUSES:  # still, after urllib3's retries
        raise _RetriesSpent(label)
    if 400 <= status < 500:
        raise DownloadError(f"{url}: server refused the download ({label})")
    if status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if not match or int(match.group(1)) != offset:
            part.unlink(missing_ok=True)
            raise _Resume(
                f"{label} with an unexpected Content-Range "
                f"{response.headers.get('Content-Range')!r}; restarting"
            )
        return offset
    if status == 200:
        return 0  # a server that ignores Range sends the whole file
    raise DownloadError(f"{url}: unexpected response ({label})")


def _stream_body(
    response: requests.Response, *, part: Path, dest: Path, start: int, chunk_size: int, progress: bool
) -> None:
    header = response.headers.get("Content-Length")
    length = int(header) if header and header.isdigit() else None
    total = start + length if length is not None else None
    written = 0
    try:
        fh = open(part, "ab" if start else "wb")
    except OSError as err:
        _raise_write_error(err, part=part, dest=dest, done=start)
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
                _raise_write_error(err, part=part, dest=dest, done=start + written)
            written += len(chunk)
            bar.update(len(chunk))
    if length is not None and written < length:
        raise _Resume(f"truncated body: got {written} of {length} bytes")


def _write_chunk(fh, chunk: bytes) -> None:
    """Write one chunk through to the OS, so that a full disk shows here and not at close.

    A separate function, so that tests can simulate a full disk.
    """
    fh.write(chunk)
    fh.flush()


def _raise_write_error(err: OSError, *, part: Path, dest: Path, done: int) -> None:
    """A full disk is reported without retrying; the .part is kept for a later resume."""
    if err.errno == errno.ENOSPC:
        raise DownloadError(f"{dest}: no space left on device after {done} bytes") from err
    raise DownloadError(f"{part}: cannot write: {err.strerror or err}") from err


def _check_size(url: str, *, part: Path, dest: Path, expected_size: int | None) -> None:
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
