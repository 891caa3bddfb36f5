"""Files: atomic writes (an output either appears complete or not at all), JSON reading, and naming what a
path that is not a regular file is."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deepfake_audio.errors import InputError


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds.

    Works for files and folders alike. On failure the temporary is removed and whatever
    stood at ``path`` before is left untouched. The temporary, ``.<name>.<pid>.<random>.tmp``,
    names its writer, so the next write of ``path`` can remove those of killed runs.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        _remove(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _remove_stale_temporaries(path: Path) -> None:
    """Remove the temporaries ``atomic_path`` left beside ``path`` in runs that were killed.

    A temporary whose writer is still running is kept. Names without a pid come from
    before pids were recorded, so no running writer owns them.
    """
    # The exact forms mkdtemp gives, so the temporaries of `<name>.json` are not taken for `<name>`'s.
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(?:(\d+)\.)?[a-z0-9_]{{8}}\.tmp")
    for sibling in path.parent.iterdir():
        match = pattern.fullmatch(sibling.name)
        if match and sibling.is_dir() and not sibling.is_symlink():
            if match[1] is None or not _running(int(match[1])):
                shutil.rmtree(sibling, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid <= 0:  # os.kill(0, ...) would signal our own process group
        return False
    try:
        os.kill(pid, 0)  # signal 0: checks that the process exists, sends nothing
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # it exists, and belongs to another user
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def read_json(path: str | Path):
    """The JSON document in ``path``; a missing or malformed file is an ``InputError`` naming it."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None


def write_json(path: str | Path, data) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_csv(path: str | Path, frame) -> None:
    """Write a pandas DataFrame as CSV without its index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


_FILE_TYPES = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_type(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words, when it is not a regular file."""
    return next((name for test, name in _FILE_TYPES if test(mode)), "not a regular file")
