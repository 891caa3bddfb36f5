"""The trained models as a set: loaded and saved by name, scoring analysed utterances together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.metrics import SCORE_DECIMALS
from deepfake_audio.models import cnn, files, fusion, svc
from deepfake_audio.models.card import ModelCard

MODEL_FILES = {"svc": svc.MODEL_FILE, "cnn": cnn.MODEL_FILE, "fusion": fusion.MODEL_FILE}
_SAVERS = {"svc": svc.save_svc, "cnn": cnn.save_cnn, "fusion": fusion.save_fusion}


def load_models(models_dir: str | Path, names) -> dict:
    """The models ``names`` (svc, cnn, fusion) from their files in ``models_dir``, checked (``files.load_model``)."""
    return {name: files.load_model(Path(models_dir) / MODEL_FILES[name], name) for name in names}


def save_model(name: str, model, models_dir: str | Path, card: ModelCard) -> None:
    """Write model ``name`` (svc, cnn, fusion) with its card to its file in ``models_dir``."""
    _SAVERS[name](model, Path(models_dir) / MODEL_FILES[name], card)


def read_scores(model: str, split: str) -> pd.DataFrame:
    """The ``split`` rows of the score file evaluate wrote for ``model``: utt_id, split, label, score."""
    scores = pd.read_csv(paths.scores_file(model), dtype={"utt_id": str})
    return scores[scores["split"] == split].reset_index(drop=True)


def model_scores(models: dict, features: pd.DataFrame, spectrograms: np.ndarray, rows=None) -> pd.DataFrame:
    """One column per model of ``models`` (keys ``svc``, ``cnn``, ``fusion``); higher = more bona fide.

    ``features`` holds the utterances' named features, ``spectrograms[rows]`` their CNN
    inputs (all rows by default). Scores are rounded to ``SCORE_DECIMALS``, and the fusion
    combines the rounded single scores, as it was trained on them.
    """
    scores = pd.DataFrame(index=range(len(features)))
    if "svc" in models:
        scores["svc"] = svc.svc_scores(models["svc"], features)
    if "cnn" in models:
        scores["cnn"] = cnn.cnn_scores(models["cnn"], spectrograms, rows)
    scores = scores.astype(float).round(SCORE_DECIMALS)
    if "fusion" in models:
        scores["fusion"] = np.round(
            fusion.fusion_scores(models["fusion"], scores[["svc", "cnn"]]), SCORE_DECIMALS
        )
    return scores
