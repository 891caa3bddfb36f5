"""The feature folder: aligned files, row i of each being the same utterance.

``utterances.csv`` holds ``utt_id, split, label, speaker`` and the named features;
``spectrogram.npy`` is a float16 array (utterances, bins, frames), read memory-mapped.
With ``normalize: global`` the folder also holds the training statistics applied to
the spectrograms (see ``spectrogram.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from deepfake_audio.errors import InputError
from deepfake_audio.tables import read_table

TABLE_FILE = "utterances.csv"
SPECTROGRAM_FILE = "spectrogram.npy"
ID_COLUMNS = ["utt_id", "split", "label", "speaker"]


def read_feature_table(feature_dir: Path) -> pd.DataFrame:
    return read_table(Path(feature_dir) / TABLE_FILE)


def read_features(feature_dir: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature table and the memory-mapped spectrograms, checked to be aligned."""
    table = read_feature_table(feature_dir)
    spectrograms = np.load(Path(feature_dir) / SPECTROGRAM_FILE, mmap_mode="r")
    if spectrograms.shape[0] != len(table):
        raise InputError(
            f"{feature_dir}: {SPECTROGRAM_FILE} has {spectrograms.shape[0]} rows but "
            f"{TABLE_FILE} has {len(table)}; rerun the featurize stage"
        )
    return table, spectrograms


def split_rows(table: pd.DataFrame, *splits: str) -> np.ndarray:
    """Row positions of the given splits, usable in all aligned files."""
    return np.flatnonzero(table["split"].isin(splits).to_numpy())


def feature_columns(table: pd.DataFrame) -> list[str]:
    return [column for column in table.columns if column not in ID_COLUMNS]
