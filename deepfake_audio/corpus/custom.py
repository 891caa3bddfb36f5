"""Custom datasets: a CSV listing each file's path, label and split.

Required columns: ``path`` (relative to the CSV's folder, or absolute), ``label``
(``bonafide``, ``genuine`` or ``spoof``) and ``split`` (``train``, ``dev``, ``eval``);
optional: ``speaker``, ``condition`` and ``attack`` (an attack id, for per-attack EER). Any format libsndfile reads is accepted; the
features stage converts every file to the configured rate, mono.

Each recording may be listed once. Two rows naming the same audio are refused with their
line numbers, however they name it: the same path spelled alike (``duplicate path``), or a
symlink, a hard link or a byte-identical copy of it. In two splits that would leak evaluation
audio into training (``the same audio in two splits (train and eval)``); within one split it
would count a recording twice (``the same audio more than once in one split (train)``). Rows
are compared by their resolved real path, then, only among files whose sizes collide, by the
SHA-256 of their bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import pandas as pd

from deepfake_audio.corpus.manifest import COLUMNS, CorpusError
from deepfake_audio.tables import read_table, refuse_rows
from deepfake_audio.vocabulary import BONAFIDE, GENUINE, SPLITS, SPOOF

REQUIRED = ("path", "label", "split")
OPTIONAL = ("speaker", "condition", "attack")
_LABEL_FROM_CSV = {BONAFIDE: BONAFIDE, GENUINE: BONAFIDE, SPOOF: SPOOF}


def manifest_from_csv(csv_path: str | Path) -> pd.DataFrame:
    """The manifest of a custom dataset; every problem is reported with its CSV line numbers."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise CorpusError(f"{csv_path}: protocol CSV not found")
    try:
        table = read_table(csv_path, all_text=True, skipinitialspace=True, index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CorpusError(f"{csv_path}: not a readable CSV: {err}") from None
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise CorpusError(f"{csv_path}: missing required columns: {', '.join(missing)}")
    if table.empty:
        raise CorpusError(f"{csv_path}: lists no files")
    lines = table.index + 2  # the header is line 1

    label = table["label"].str.strip().str.lower()
    refuse_rows(
        csv_path,
        "unknown label (use bonafide, genuine or spoof)",
        lines[~label.isin(_LABEL_FROM_CSV)],
        values=table["label"][~label.isin(_LABEL_FROM_CSV)],
        error=CorpusError,
    )
    split = table["split"].str.strip().str.lower()
    refuse_rows(
        csv_path,
        "unknown split (use train, dev or eval)",
        lines[~split.isin(SPLITS)],
        values=table["split"][~split.isin(SPLITS)],
        error=CorpusError,
    )

    paths = pd.Series([str(_resolve(csv_path.parent, value)) for value in table["path"]])
    duplicated = paths.duplicated(keep=False)
    refuse_rows(
        csv_path, "duplicate path", lines[duplicated], values=table["path"][duplicated], error=CorpusError
    )
    absent = ~paths.map(lambda path: Path(path).is_file())
    refuse_rows(csv_path, "file not found", lines[absent], values=table["path"][absent], error=CorpusError)
    # The id is the path as listed, without its extension: readable, and unique unless two
    # files differ only in their extension.
    utt_ids = pd.Series([str(Path(value.strip()).with_suffix("")) for value in table["path"]])
    clash = utt_ids.duplicated(keep=False)
    refuse_rows(
        csv_path,
        "paths that differ only in their extension",
        lines[clash],
        values=table["path"][clash],
        error=CorpusError,
    )
    try:
        keys = _audio_keys(paths)
    except OSError as err:
        raise CorpusError(f"{csv_path}: cannot read {err.filename}: {err.strerror}") from None
    _refuse_same_audio(
        csv_path, pd.DataFrame({"line": lines, "listed": table["path"], "split": split, "audio": keys})
    )

    manifest = pd.DataFrame(
        {
            "utt_id": utt_ids,
            "path": paths,
            "split": split,
            "label": label.map(_LABEL_FROM_CSV),
            **{
                column: table[column].str.strip().replace("", "-") if column in table.columns else "-"
                for column in OPTIONAL
            },
        }
    )
    for column in COLUMNS:
        if column not in manifest.columns:
            manifest[column] = "-"
    return manifest[COLUMNS]


def _resolve(folder: Path, value: str) -> Path:
    """The file a CSV path names, normalised so that two spellings of one file compare equal."""
    path = Path(value.strip())
    return Path(os.path.normpath(path if path.is_absolute() else folder / path))


_HOW_MANY = {2: "two", 3: "three"}


def _refuse_same_audio(csv_path: Path, rows: pd.DataFrame) -> None:
    """Stop if two rows hold the same audio (equal ``audio`` keys): leakage across splits comes
    first. One message covers every group with the same splits, listed group by group."""
    repeated = rows[rows["audio"].duplicated(keep=False)]
    if repeated.empty:
        return
    groups = [group for _, group in repeated.groupby("audio", sort=False)]  # by first line
    reasons = [_same_audio_reason(set(group["split"])) for group in groups]
    first = min(range(len(groups)), key=lambda at: (groups[at]["split"].nunique() == 1, at))
    shown = pd.concat(
        [group for group, reason in zip(groups, reasons, strict=True) if reason == reasons[first]]
    )
    refuse_rows(csv_path, reasons[first], shown["line"], values=shown["listed"], error=CorpusError)


def _same_audio_reason(splits: set[str]) -> str:
    named = [split for split in SPLITS if split in splits]
    if len(named) == 1:
        return f"the same audio more than once in one split ({named[0]})"
    listed = " and ".join([", ".join(named[:-1]), named[-1]])
    return f"the same audio in {_HOW_MANY[len(named)]} splits ({listed})"


def _audio_keys(paths) -> list[str]:
    """A key per file, equal for two files exactly when they hold the same bytes: the resolved
    real path (so symlinks compare equal), or, where another file has the same size, the
    SHA-256 of the content (hard links and copies). Files of a unique size are not read."""
    real = [os.path.realpath(path) for path in paths]
    sizes = {path: os.path.getsize(path) for path in set(real)}
    colliding = Counter(sizes.values())
    digests: dict[tuple[int, int], str] = {}  # by (device, inode): a hard-linked file is read once
    keys = []
    for path in real:
        if colliding[sizes[path]] < 2:
            keys.append(path)
            continue
        stat = os.stat(path)
        inode = (stat.st_dev, stat.st_ino)
        if inode not in digests:
            digests[inode] = "sha256:" + _sha256(path)
        keys.append(digests[inode])
    return keys


def _sha256(path: str) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
