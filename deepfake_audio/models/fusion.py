"""Score fusion: logistic regression on the per-model scores, trained on dev."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import skops.io
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from deepfake_audio.errors import InputError
from deepfake_audio.io import atomic_path

MODEL_FILE = "fusion.skops"


def train_fusion(dev_scores: pd.DataFrame, labels) -> Pipeline:
    """Fit scaler + logistic regression on dev scores (one column per model); bona fide is class 1.

    lbfgs on a convex objective with no randomness, so the fit is deterministic.
    """
    if dev_scores.shape[1] == 0:
        raise InputError("fusion needs at least one score column")
    targets = (np.asarray(labels) == "bonafide").astype(int)
    if len(np.unique(targets)) < 2:
        raise InputError("fusion needs both bona fide and spoofed dev utterances")
    model = Pipeline([("scale", StandardScaler()), ("logreg", LogisticRegression())])
    return model.fit(dev_scores, targets)


def fusion_scores(model: Pipeline, score_frame: pd.DataFrame) -> np.ndarray:
    """Fused scores: log-odds of bona fide (higher = more bona fide)."""
    missing = [name for name in model.feature_names_in_ if name not in score_frame.columns]
    if missing:
        raise InputError(f"score table lacks {len(missing)} columns the fusion was trained on: {missing}")
    return model.decision_function(score_frame[list(model.feature_names_in_)])


def save_fusion(model: Pipeline, path: Path) -> None:
    with atomic_path(path) as tmp:
        skops.io.dump(model, tmp)


def load_fusion(path: Path) -> Pipeline:
    """Load with skops, which refuses any type outside its trusted defaults instead of running it."""
    try:
        return skops.io.load(path)
    except FileNotFoundError:
        raise InputError(f"{path}: model file not found") from None
    except Exception as err:  # skops raises several types for untrusted or corrupt files
        raise InputError(f"{path}: refused to load the fusion model: {err}") from None
