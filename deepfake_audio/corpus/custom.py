"""Custom datasets: a CSV listing each file's path, label and split.

Required columns: ``path`` (relative to the CSV's folder, or absolute), ``label``
(``bonafide``, ``genuine`` or ``spoof``) and ``split`` (``train``, ``dev``, ``eval``);
optional: ``speaker`` and ``condition``. Any format libsndfile reads is accepted; the
features stage converts every file to the configured rate, mono.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from deepfake_audio.corpus.manifest import COLUMNS, CorpusError, refuse_rows
from deepfake_audio.params import SPLITS

REQUIRED = ("path", "label", "split")
OPTIONAL = ("speaker", "condition")
_LABELS = {"bonafide": "bonafide", "genuine": "bonafide", "spoof": "spoof"}


def manifest_from_csv(csv_path: Path) -> pd.DataFrame:
    """The manifest of a custom dataset; every problem is reported with its CSV line numbers."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise CorpusError(f"{csv_path}: protocol CSV not found")
    try:
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False, skipinitialspace=True, index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CorpusError(f"{csv_path}: not a readable CSV: {err}") from None
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise CorpusError(f"{csv_path}: missing required columns: {', '.join(missing)}")
    if table.empty:
        raise CorpusError(f"{csv_path}: lists no files")
    lines = table.index + 2  # the header is line 1

    label = table["label"].str.strip().str.lower()
    refuse_rows(csv_path, "unknown label (use bonafide, genuine or spoof)", lines[~label.isin(_LABELS)],
                table["label"][~label.isin(_LABELS)])
    split = table["split"].str.strip().str.lower()
    refuse_rows(csv_path, "unknown split (use train, dev or eval)", lines[~split.isin(SPLITS)],
                table["split"][~split.isin(SPLITS)])

    paths = pd.Series([str(_resolve(csv_path.parent, value)) for value in table["path"]])
    duplicated = paths.duplicated(keep=False)
    refuse_rows(csv_path, "duplicate path", lines[duplicated], table["path"][duplicated])
    absent = ~paths.map(lambda path: Path(path).is_file())
    refuse_rows(csv_path, "file not found", lines[absent], table["path"][absent])
    # The id is the path as listed, without its extension: readable, and unique unless two
    # files differ only in their extension.
    utt_ids = pd.Series([str(Path(value.strip()).with_suffix("")) for value in table["path"]])
    clash = utt_ids.duplicated(keep=False)
    refuse_rows(csv_path, "paths that differ only in their extension", lines[clash], table["path"][clash])

    manifest = pd.DataFrame({
        "utt_id": utt_ids,
        "path": paths,
        "split": split,
        "label": label.map(_LABELS),
        **{column: table[column].str.strip().replace("", "-") if column in table.columns else "-"
           for column in OPTIONAL},
    })
    for column in COLUMNS:
        if column not in manifest.columns:
            manifest[column] = "-"
    return manifest[COLUMNS]


def _resolve(folder: Path, value: str) -> Path:
    """The file a CSV path names, normalised so that two spellings of one file compare equal."""
    path = Path(value.strip())
    return Path(os.path.normpath(path if path.is_absolute() else folder / path))
