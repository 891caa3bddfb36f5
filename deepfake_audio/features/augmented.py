"""Features of the augmented copies of the training files, computed by the train stage that asks for them.

They are not in the feature folder: augmentation is a choice of each model
(``train_svc.augment``, ``train_cnn.augment``), and no other stage may see them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from deepfake_audio.augment import AugmentedFile
from deepfake_audio.features.analysis import feature_names
from deepfake_audio.features.extract import extract_in_memory
from deepfake_audio.features.spectrogram import SpectrogramStats
from deepfake_audio.features.store import ID_COLUMNS
from deepfake_audio.params import AnalysisSettings, AugmentParams, ComputeParams
from deepfake_audio.vocabulary import BONAFIDE


def augmented_copies(manifest: pd.DataFrame, params: AugmentParams) -> pd.DataFrame:
    """One row per augmented copy: the training file's ``ID_COLUMNS``, ``path``, manifest ``row`` and ``copy``.

    Copies of each file of ``params.classes`` in the train split, file by file.
    """
    train = manifest["split"] == "train"
    if params.classes == "bonafide":
        train &= manifest["label"] == BONAFIDE
    files = manifest[train].assign(row=np.flatnonzero(train))
    copies = pd.concat([files.assign(copy=copy) for copy in range(params.copies)])
    return copies.sort_values(["row", "copy"], kind="stable").reset_index(drop=True)[
        [*ID_COLUMNS, "path", "duration_s", "row", "copy"]
    ]


def extract_augmented(
    manifest: pd.DataFrame,
    settings: AnalysisSettings,
    params: AugmentParams,
    *,
    seed: int,
    compute: ComputeParams,
    stats: SpectrogramStats | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature table and spectrograms of the augmented copies of ``manifest``'s training files.

    The table has ``ID_COLUMNS`` and the feature names, as the feature folder's; the
    spectrograms are normalised as the folder's are (``stats`` for ``normalize: global``).
    """
    if not params.copies:
        raise ValueError("augmentation is off (copies: 0); there is nothing to extract")
    copies = augmented_copies(manifest, params)
    sources = [
        AugmentedFile(path, row=int(row), copy=int(copy), seed=seed, params=params)
        for path, row, copy in zip(copies["path"], copies["row"], copies["copy"], strict=True)
    ]
    features, spectrograms = extract_in_memory(
        sources, copies["duration_s"], settings, compute=compute, load=AugmentedFile.load, desc="augment"
    )
    if stats is not None:
        spectrograms = stats.apply(spectrograms)
    table = pd.concat(
        [
            copies[ID_COLUMNS].reset_index(drop=True),
            pd.DataFrame(features, columns=feature_names(settings.features)),
        ],
        axis=1,
    )
    return table, spectrograms


def with_copies(
    spectrograms: np.ndarray, train_rows: np.ndarray, dev_rows: np.ndarray, *, copies: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One array in memory of the train rows of ``spectrograms``, then ``copies``, then its dev rows;
    with the rows of train (its own and the copies) and of dev in it."""
    stacked = np.concatenate([spectrograms[train_rows], copies, spectrograms[dev_rows]])
    n_train = len(train_rows) + len(copies)
    return stacked, np.arange(n_train), np.arange(n_train, len(stacked))
