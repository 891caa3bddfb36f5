"""The ASVspoof baseline countermeasure: a Gaussian mixture per class on frame-level cepstra.

One mixture is fitted to the frames (``features/frames.py``) of the bona fide training
files, one to those of the spoofed ones; an utterance's score is the mean over its frames
of the log-likelihood ratio, log p(frame | bona fide) - log p(frame | spoof), as in the
ASVspoof 2017 CQCC-GMM baseline (Todisco et al., 2017; Kinnunen et al., 2017).

The model is stored as a dict ``{"bonafide": GaussianMixture, "spoof": GaussianMixture}``
with skops, like the SVC.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from sklearn.mixture import GaussianMixture

from deepfake_audio.errors import InputError
from deepfake_audio.models.card import ModelCard
from deepfake_audio.models.persist import load_model, save_model
from deepfake_audio.params import TrainGmmParams
from deepfake_audio.progress import step
from deepfake_audio.vocabulary import BONAFIDE, LABELS, SPOOF

MODEL_FILE = "gmm.skops"
_BLOCK_FRAMES = 200_000  # frames scored at once: bounds the (frames, components) likelihood matrix


def fit_gmm(frames: list[np.ndarray], labels, params: TrainGmmParams, *, seed: int) -> dict:
    """The two mixtures, each fitted (EM, k-means start, seeded) on at most ``params.max_frames`` frames
    drawn at random from the ``frames`` of the utterances of its class."""
    labels = np.asarray(labels)
    model = {}
    for label in LABELS:
        chosen = [utterance for utterance, of in zip(frames, labels, strict=True) if of == label]
        if not chosen:
            raise InputError(f"train_gmm: the training split has no {label} utterances")
        pooled = np.concatenate(chosen).astype(np.float64)  # float32 likelihoods would differ by CPU
        rng = np.random.default_rng([seed, LABELS.index(label)])
        if len(pooled) > params.max_frames:
            pooled = pooled[np.sort(rng.choice(len(pooled), params.max_frames, replace=False))]
        if len(pooled) < params.components:
            raise InputError(
                f"train_gmm: {len(pooled)} {label} training frames, fewer than the "
                f"{params.components} components (train_gmm.components)"
            )
        mixture = GaussianMixture(
            n_components=params.components,
            covariance_type=params.covariance,
            max_iter=params.max_iter,
            random_state=seed,
        )
        with step(f"train_gmm: fitting {params.components} components to {len(pooled):,} {label} frames"):
            model[label] = mixture.fit(pooled)
    return model


def gmm_scores(model: dict, frames: list[np.ndarray]) -> np.ndarray:
    """Each utterance's mean log-likelihood ratio over its frames (higher = more bona fide)."""
    scores = np.empty(len(frames))
    start = 0
    while start < len(frames):
        stop, n_frames = start, 0
        while stop < len(frames) and (stop == start or n_frames + len(frames[stop]) <= _BLOCK_FRAMES):
            n_frames += len(frames[stop])
            stop += 1
        block = frames[start:stop]
        stacked = np.concatenate(block).astype(np.float64)
        ratio = model[BONAFIDE].score_samples(stacked) - model[SPOOF].score_samples(stacked)
        lengths = np.array([len(utterance) for utterance in block])
        scores[start:stop] = np.add.reduceat(ratio, np.cumsum(lengths) - lengths) / lengths
        start = stop
    return scores


def streamed_gmm_scores(model: dict, utterances: Iterable[tuple[int, np.ndarray]], count: int) -> np.ndarray:
    """``gmm_scores`` of ``count`` utterances that arrive one at a time as ``(position, frames)``,
    in any order: each block is scored once it is full, so only one block of frames is held."""
    scores = np.full(count, np.nan)
    positions: list[int] = []
    block: list[np.ndarray] = []
    n_frames = 0
    for position, frames in utterances:
        if block and n_frames + len(frames) > _BLOCK_FRAMES:
            scores[positions] = gmm_scores(model, block)
            positions, block, n_frames = [], [], 0
        positions.append(position)
        block.append(frames)
        n_frames += len(frames)
    if block:
        scores[positions] = gmm_scores(model, block)
    return scores


def save_gmm(model: dict, path: Path, card: ModelCard) -> None:
    save_model(model, path, card)


def load_gmm(path: Path) -> dict:
    return load_model(path, "GMM")
