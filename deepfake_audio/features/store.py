"""The feature folder: two aligned files, row i of each being the same utterance.

``utterances.csv`` holds ``utt_id, split, label`` and the named features; ``log_mel.npy``
is a float16 array (utterances, n_mels, n_frames), read memory-mapped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from deepfake_audio.errors import InputError

TABLE_FILE = "utterances.csv"
LOG_MEL_FILE = "log_mel.npy"
ID_COLUMNS = ["utt_id", "split", "label"]


def read_feature_table(feature_dir: Path) -> pd.DataFrame:
    return pd.read_csv(Path(feature_dir) / TABLE_FILE, keep_default_na=False, dtype={"utt_id": str})


def read_features(feature_dir: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature table and the memory-mapped spectrograms, checked to be aligned."""
    table = read_feature_table(feature_dir)
    log_mel = np.load(Path(feature_dir) / LOG_MEL_FILE, mmap_mode="r")
    if log_mel.shape[0] != len(table):
        raise InputError(f"{feature_dir}: {LOG_MEL_FILE} has {log_mel.shape[0]} rows but {TABLE_FILE} "
                         f"has {len(table)}; rerun the featurize stage")
    return table, log_mel


def split_rows(table: pd.DataFrame, *splits: str) -> np.ndarray:
    """Row positions of the given splits, usable in both aligned files."""
    return np.flatnonzero(table["split"].isin(splits).to_numpy())


def feature_columns(table: pd.DataFrame) -> list[str]:
    return [column for column in table.columns if column not in ID_COLUMNS]
