"""Saving, loading and scoring of the scikit-learn models (SVC, GMM, fusion), shared by all three.

Models are stored with skops, which refuses to load any type outside its trusted
defaults and ``TRUSTED_TYPES`` instead of running it, so a model file cannot carry code.
Each file also carries its model card (``card.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from deepfake_audio.errors import InputError
from deepfake_audio.io import atomic_path
from deepfake_audio.models.card import ModelCard, attach_card

# Everything our pipelines are built from; skops' own defaults cover NumPy arrays and builtins.
TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.decomposition._pca.PCA",
    "sklearn.svm._classes.SVC",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.mixture._gaussian_mixture.GaussianMixture",
]


def decision_scores(model: Pipeline, table: pd.DataFrame, name: str, *, table_kind: str) -> np.ndarray:
    """``model``'s decision function on the columns it was trained on (higher = more bona fide)."""
    missing = [column for column in model.feature_names_in_ if column not in table.columns]
    if missing:
        raise InputError(
            f"{table_kind} lacks {len(missing)} columns the {name} was trained on: {missing[:5]}"
        )
    return model.decision_function(table[list(model.feature_names_in_)])


def save_model(model, path: Path, card: ModelCard) -> None:
    # Imported here: skops imports all of scikit-learn on import (1.2-3 s), which the
    # stages and commands that never read a scikit-learn model need not pay.
    import skops.io

    with atomic_path(path) as tmp:
        skops.io.dump(model, tmp)
        attach_card(tmp, card)


def load_model(path: Path, name: str):
    import skops.io  # see save_model

    try:
        return skops.io.load(path, trusted=TRUSTED_TYPES)
    except FileNotFoundError:
        raise InputError(f"{path}: model file not found") from None
    except Exception as err:  # skops raises several types for untrusted or corrupt files
        raise InputError(f"{path}: refused to load the {name} model: {err}") from None
