"""The registry of trained models: for each model name its file, loader, saver and scorer.

Models are loaded by name through ``files.load_model`` (the checked reader); a model's
decision threshold and the calibration of its score are the ones its card holds
(``decision_threshold``, ``decision_calibration``). The CNN's module
imports TensorFlow, so it is imported only when a CNN is loaded, saved or scored: an SVC
alone never loads TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.models import files, fusion, gmm, svc
from deepfake_audio.models.calibration import Calibration
from deepfake_audio.models.card import ModelCard
from deepfake_audio.tables import read_table
from deepfake_audio.vocabulary import FUSION, SCORE_DECIMALS, SINGLE_MODELS


def _cnn():
    """The CNN module, imported on first use (it imports TensorFlow)."""
    from deepfake_audio.models import cnn

    return cnn


@dataclass(frozen=True)
class Registered:
    """How one model is stored and scored; scores are higher for more bona fide."""

    file: str  # its file name in a models folder (the module's MODEL_FILE)
    save: Callable  # (model, path, card)
    # svc: (model, feature table); cnn: (model, spectrograms, rows); gmm: (model, frames of each
    # utterance); fusion: (model, score table)
    score: Callable
    inputs: tuple[str, ...] = ()  # the models whose scores it combines, loaded with it


REGISTRY = {
    "svc": Registered(svc.MODEL_FILE, svc.save_svc, svc.svc_scores),
    "cnn": Registered(
        "cnn.keras",
        lambda model, path, card: _cnn().save_cnn(model, path, card),
        lambda model, spectrograms, rows=None: _cnn().cnn_scores(model, spectrograms, rows),
    ),
    "gmm": Registered(gmm.MODEL_FILE, gmm.save_gmm, gmm.gmm_scores),
    FUSION: Registered(fusion.MODEL_FILE, fusion.save_fusion, fusion.fusion_scores, SINGLE_MODELS),
}
MODEL_FILES = {name: model.file for name, model in REGISTRY.items()}


def model_path(models_dir: str | Path, name: str) -> Path:
    """Where model ``name`` (svc, cnn, gmm, fusion) lies in ``models_dir``."""
    return Path(models_dir) / REGISTRY[name].file


def models_needed(name: str) -> tuple[str, ...]:
    """The models that scoring with ``name`` loads: itself, after those whose scores it combines."""
    return (*REGISTRY[name].inputs, name)


def load_models(models_dir: str | Path, names) -> dict:
    """The models ``names`` (svc, cnn, gmm, fusion) from their files in ``models_dir``, checked (``files.load_model``)."""
    return {name: files.load_model(model_path(models_dir, name), name) for name in names}


def save_model(name: str, model, models_dir: str | Path, *, card: ModelCard) -> None:
    """Write model ``name`` (svc, cnn, gmm, fusion) with its card to its file in ``models_dir``."""
    REGISTRY[name].save(model, model_path(models_dir, name), card)


def decision_threshold(models_dir: str | Path, name: str) -> float:
    """The decision threshold of model ``name`` in ``models_dir``: its card's (the dev EER
    threshold, ``metrics.dev_threshold``); a score at or below it is spoof."""
    return files.read_card(model_path(models_dir, name), name).threshold


def decision_calibration(models_dir: str | Path, name: str) -> Calibration:
    """The calibration of model ``name`` in ``models_dir``: its card's (fitted on dev with the
    threshold, ``calibration.fit_on_dev``), which turns a score into a log-likelihood ratio."""
    return files.read_card(model_path(models_dir, name), name).score_calibration


def read_scores(model: str, split: str) -> pd.DataFrame:
    """The ``split`` rows of the score file evaluate wrote for ``model``: utt_id, split, label, score."""
    scores = read_table(paths.scores_file(model))
    return scores[scores["split"] == split].reset_index(drop=True)


def model_scores(
    models: dict,
    features: pd.DataFrame,
    spectrograms: np.ndarray | None,
    *,
    rows=None,
    frames: list[np.ndarray] | None = None,
) -> pd.DataFrame:
    """One column per model of ``models`` (keys ``svc``, ``cnn``, ``gmm``, ``fusion``); higher = more bona fide.

    ``features`` holds the utterances' named features, ``spectrograms[rows]`` their CNN
    inputs (all rows by default), ``frames`` their GMM inputs (``features/frames.py``); each is
    needed only by its model. Scores are rounded to ``SCORE_DECIMALS``, and the fusion
    combines the rounded single scores, as it was trained on them.
    """
    scores = pd.DataFrame(index=range(len(features)))
    if "svc" in models:
        scores["svc"] = REGISTRY["svc"].score(models["svc"], features)
    if "cnn" in models:
        scores["cnn"] = REGISTRY["cnn"].score(models["cnn"], spectrograms, rows)
    if "gmm" in models:
        if frames is None or len(frames) != len(features):
            raise ValueError("the GMM scores frames: give the frames of every utterance")
        scores["gmm"] = REGISTRY["gmm"].score(models["gmm"], frames)
    scores = scores.astype(float).round(SCORE_DECIMALS)
    if FUSION in models:
        scores[FUSION] = fused_scores(models[FUSION], scores)
    return scores


def fused_scores(model, single: pd.DataFrame) -> np.ndarray:
    """The fusion's scores of utterances whose single models' scores (rounded as written) are
    the columns of ``single``; rounded likewise."""
    return np.round(REGISTRY[FUSION].score(model, single[list(SINGLE_MODELS)]), SCORE_DECIMALS)
