"""Support-vector countermeasure on the named utterance features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import skops.io
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from deepfake_audio.errors import InputError
from deepfake_audio.io import atomic_path
from deepfake_audio.params import TrainSvcParams

MODEL_FILE = "svc.skops"


def train_svc(features: pd.DataFrame, labels: pd.Series, params: TrainSvcParams, seed: int) -> Pipeline:
    """Fit scaler + SVC; bona fide is the positive class, so the decision function is a score."""
    model = Pipeline([
        ("scale", StandardScaler()),
        ("svc", SVC(kernel=params.kernel, C=params.C, gamma=params.gamma,
                    class_weight=params.class_weight, random_state=seed)),
    ])
    return model.fit(features, (labels == "bonafide").astype(int))


def svc_scores(model: Pipeline, table: pd.DataFrame) -> np.ndarray:
    """Scores (higher = more bona fide) for the rows of a feature table."""
    missing = [name for name in model.feature_names_in_ if name not in table.columns]
    if missing:
        raise InputError(f"feature table lacks {len(missing)} columns the SVC was trained on: {missing[:5]}")
    return model.decision_function(table[list(model.feature_names_in_)])


def save_svc(model: Pipeline, path: Path) -> None:
    with atomic_path(path) as tmp:
        skops.io.dump(model, tmp)


def load_svc(path: Path) -> Pipeline:
    """Load with skops, which refuses any type outside its trusted defaults instead of running it."""
    try:
        return skops.io.load(path)
    except FileNotFoundError:
        raise InputError(f"{path}: model file not found") from None
    except Exception as err:  # skops raises several types for untrusted or corrupt files
        raise InputError(f"{path}: refused to load the SVC model: {err}") from None
