"""Zip archives of the corpus: integrity check, quarantine, safe extraction and a checksum record."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
import zlib
from pathlib import Path

from deepfake_audio.errors import InputError
from deepfake_audio.io import atomic_path

CHECKSUMS_HEADER = "# SHA-256 and size of each archive, recorded at its first successful verification"
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_DRIVE = re.compile(r"[A-Za-z]:")
# What reading a damaged member can raise: bad CRC or header (BadZipFile), damaged deflate
# data (zlib.error), a short file (EOFError), bz2/lzma damage (OSError and its kin).
_MEMBER_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,
    NotImplementedError,
    ValueError,
)


class ArchiveError(InputError):
    """A damaged, unsafe or unreadable archive, or a malformed checksum file."""


def verify_zip(path: Path) -> None:
    """Check every member's CRC-32 (``ZipFile.testzip``); raise ArchiveError if any fails."""
    path = Path(path)
    with _open_zip(path) as archive:
        try:
            damaged = archive.testzip()
        except _MEMBER_ERRORS as err:  # damage testzip does not catch, in deflate, bz2 or lzma data
            raise ArchiveError(f"{path}: corrupt archive: {_reason(err)}") from err
    if damaged is not None:
        raise ArchiveError(f"{path}: corrupt archive: member {damaged!r}: bad CRC-32 or header")


def quarantine(path: Path) -> Path:
    """Move a bad archive aside to ``<name>.corrupt`` (replacing an older one) and return that path."""
    path = Path(path)
    corrupt = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, corrupt)
    except OSError as err:
        raise ArchiveError(f"{path}: cannot move aside to {corrupt}: {_reason(err)}") from err
    return corrupt


def safe_extract(path: Path, target: Path) -> None:
    """Extract ``path`` into the folder ``target``, which appears only once complete.

    Every member is checked before anything is written: absolute paths, drive letters,
    ``..`` components and symbolic links are refused, since each could write outside
    ``target``. An existing ``target`` is replaced only when extraction succeeds.
    """
    path, target = Path(path), Path(target)
    with _open_zip(path) as archive:
        members = archive.infolist()
        for info in members:
            _check_member(path, info)
        try:
            with atomic_path(target) as tmp:
                tmp.mkdir()
                for info in members:
                    archive.extract(info, tmp)
        except _MEMBER_ERRORS as err:
            raise ArchiveError(f"{path}: cannot extract into {target}: {_reason(err)}") from err


def sha256_of(path: Path) -> str:
    """The SHA-256 hex digest of a file, read in chunks (archives can exceed 1 GB)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as err:
        raise ArchiveError(f"{path}: cannot read: {_reason(err)}") from err


def read_checksums(path: Path) -> dict[str, tuple[str, int]]:
    """Read a checksum file written by ``write_checksums``: name -> (sha256 hex, size)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ArchiveError(f"{path}: cannot read checksums: {_reason(err)}") from err
    entries: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, entry = _parse_checksum_line(path, number, line)
        if name in entries:
            raise ArchiveError(f"{path}:{number}: duplicate entry for {name!r}")
        entries[name] = entry
    return entries


def write_checksums(path: Path, entries: dict[str, tuple[str, int]]) -> None:
    """Write ``entries`` sorted by name as ``<sha256>  <size>  <name>`` lines, atomically."""
    lines = [CHECKSUMS_HEADER]
    for name in sorted(entries):
        sha256, size = entries[name]
        if not name or name != name.strip() or "\n" in name or "\r" in name:
            raise ArchiveError(f"{path}: cannot record archive name {name!r}")
        lines.append(f"{sha256.lower()}  {size}  {name}")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise ArchiveError(f"{path}: corrupt archive: {_reason(err)}") from err
    except OSError as err:
        raise ArchiveError(f"{path}: cannot open archive: {_reason(err)}") from err


def _check_member(path: Path, info: zipfile.ZipInfo) -> None:
    reason = _unsafe_reason(info)
    if reason:
        raise ArchiveError(f"{path}: unsafe member {info.filename!r}: {reason}; nothing extracted")


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a member could escape the target folder, or None if it cannot."""
    name = info.filename
    if name.startswith(("/", "\\")):
        return "absolute path"
    if _DRIVE.match(name):
        return "drive letter"
    if ".." in re.split(r"[/\\]", name):
        return "'..' path component"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    return None


def _parse_checksum_line(path: Path, number: int, line: str) -> tuple[str, tuple[str, int]]:
    fields = line.split(None, 2)
    if len(fields) == 3 and _SHA256.fullmatch(fields[0]) and fields[1].isascii() and fields[1].isdigit():
        return fields[2], (fields[0].lower(), int(fields[1]))
    raise ArchiveError(
        f"{path}:{number}: malformed checksum line {line!r} (expected '<sha256>  <size>  <name>')"
    )


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__
