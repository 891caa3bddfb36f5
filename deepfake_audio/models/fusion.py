"""Score fusion: logistic regression on the per-model scores, trained on dev."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from deepfake_audio.errors import InputError
from deepfake_audio.models.card import ModelCard
from deepfake_audio.models.persist import decision_scores, load_model, save_model
from deepfake_audio.vocabulary import BONAFIDE

MODEL_FILE = "fusion.skops"


def fit_fusion(dev_scores: pd.DataFrame, labels) -> Pipeline:
    """Fit scaler + logistic regression on dev scores (one column per model); bona fide is class 1.

    lbfgs on a convex objective with no randomness, so the fit is deterministic.
    """
    if dev_scores.shape[1] == 0:
        raise InputError("fusion needs at least one score column")
    targets = (np.asarray(labels) == BONAFIDE).astype(int)
    if len(np.unique(targets)) < 2:
        raise InputError("fusion needs both bona fide and spoofed dev utterances")
    model = Pipeline([("scale", StandardScaler()), ("logreg", LogisticRegression())])
    return model.fit(dev_scores, targets)


def fusion_scores(model: Pipeline, score_frame: pd.DataFrame) -> np.ndarray:
    """Fused scores: log-odds of bona fide (higher = more bona fide)."""
    return decision_scores(model, score_frame, "fusion", table_kind="score table")


def save_fusion(model: Pipeline, path: Path, card: ModelCard) -> None:
    save_model(model, path, card)


def load_fusion(path: Path) -> Pipeline:
    return load_model(path, "fusion")
