"""What the GMM relies on: permutation importance of its frame-level coefficients.

The GMM scores frames, not named utterance features, so SHAP and LIME on the SVC's table do
not apply; permutation importance works on any scorer. A coefficient is shuffled across all
the frames of the explained utterances (with its deltas, which are computed from it), which
breaks its relation to the rest of each frame and to its utterance; the rise in EER says how
much the model needs it. Shuffling all the coefficients of one order (static, delta,
delta-delta) together says which order it relies on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from deepfake_audio.explain.svc import importance_ranking
from deepfake_audio.metrics import eer_percent
from deepfake_audio.models.gmm import gmm_scores
from deepfake_audio.vocabulary import BONAFIDE

ORDERS = ("static", "delta", "delta2")


def coefficient_groups(names: list[str]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """The columns of ``frame_names`` grouped by coefficient (``cqcc_3``: it and its deltas) and by
    order (``static``, ``delta``, ``delta2``: every coefficient of that order)."""
    by_coefficient: dict[str, list[int]] = {}
    by_order: dict[str, list[int]] = {}
    for column, name in enumerate(names):
        base, order = name, "static"
        for suffix in ("_delta2", "_delta"):
            if name.endswith(suffix):
                base, order = name.removesuffix(suffix), suffix[1:]
                break
        by_coefficient.setdefault(base, []).append(column)
        by_order.setdefault(order, []).append(column)
    return by_coefficient, by_order


def frame_permutation(
    model: dict,
    frames: list[np.ndarray],
    labels,
    *,
    groups: dict[str, list[int]],
    column: str,
    repeats: int,
    seed: int,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """``<column>, importance, std``, a row per group: the rise in EER (percentage points) when the columns of each group are
    shuffled across the frames of all utterances, mean and spread over ``repeats`` shuffles, largest
    first. Every group gets the same shuffles, drawn from ``seed``, so the figures do not depend
    on ``n_jobs``, the worker processes the groups are shared among."""
    bonafide = np.asarray(labels) == BONAFIDE
    lengths = np.array([len(utterance) for utterance in frames])
    pooled = np.concatenate(frames)
    baseline = _eer(model, frames, bonafide)
    rises = Parallel(n_jobs=min(n_jobs, len(groups)))(
        delayed(_shuffled_rises)(
            model,
            pooled,
            lengths,
            bonafide=bonafide,
            columns=columns,
            repeats=repeats,
            seed=seed,
            baseline=baseline,
        )
        for columns in groups.values()
    )
    return importance_ranking(column, list(groups), np.array(rises))


def _shuffled_rises(
    model: dict, pooled: np.ndarray, lengths, *, bonafide, columns, repeats: int, seed: int, baseline: float
) -> list[float]:
    rng = np.random.default_rng(seed)
    rises = []
    for _ in range(repeats):
        shuffled = pooled.copy()
        shuffled[:, columns] = pooled[rng.permutation(len(pooled))][:, columns]
        rises.append(_eer(model, np.split(shuffled, np.cumsum(lengths)[:-1]), bonafide) - baseline)
    return rises


def _eer(model: dict, utterances: list[np.ndarray], bonafide: np.ndarray) -> float:
    scores = gmm_scores(model, utterances)
    return eer_percent(scores[bonafide], scores[~bonafide])
