"""Countermeasure metrics, computed the way the ASVspoof organisers compute them.

Scores follow the ASVspoof convention: higher means more likely bona fide. An utterance
is classified as spoof when its score is at or below the decision threshold. For
precision, recall and F1, spoof is the positive class.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def det_curve(bonafide: np.ndarray, spoof: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False rejection and false acceptance rates at every threshold, as the organisers' code.

    Bona fide scores come first and the sort is stable, so tied scores are not grouped:
    at a tie the bona fide utterance is rejected first.
    """
    bonafide, spoof = _as_scores(bonafide, "bonafide"), _as_scores(spoof, "spoof")
    scores = np.concatenate([bonafide, spoof])
    is_bonafide = np.concatenate([np.ones(bonafide.size), np.zeros(spoof.size)])
    order = np.argsort(scores, kind="stable")
    rejected_bonafide = np.cumsum(is_bonafide[order])
    accepted_spoof = spoof.size - (np.arange(1, scores.size + 1) - rejected_bonafide)
    frr = np.concatenate([[0.0], rejected_bonafide / bonafide.size])
    far = np.concatenate([[1.0], accepted_spoof / spoof.size])
    thresholds = np.concatenate([[scores[order[0]] - 0.001], scores[order]])
    return frr, far, thresholds


def equal_error_rate(bonafide: np.ndarray, spoof: np.ndarray) -> tuple[float, float]:
    """EER as a fraction and its threshold: the first point minimising |FRR - FAR|."""
    frr, far, thresholds = det_curve(bonafide, spoof)
    index = int(np.argmin(np.abs(frr - far)))
    return float((frr[index] + far[index]) / 2), float(thresholds[index])


def countermeasure_metrics(labels, scores, threshold: float) -> dict:
    """The metrics of DESIGN.md for one split; ``threshold`` is the one chosen on dev."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    is_spoof = labels == "spoof"
    eer, eer_threshold = equal_error_rate(scores[~is_spoof], scores[is_spoof])
    predicted_spoof = scores <= threshold
    true_positive = int(np.sum(predicted_spoof & is_spoof))
    precision = true_positive / max(int(predicted_spoof.sum()), 1)
    recall = true_positive / max(int(is_spoof.sum()), 1)
    return {
        "eer": round(100 * eer, 4),
        "eer_threshold": float(eer_threshold),
        "decision_threshold": float(threshold),
        "roc_auc": round(float(roc_auc_score(is_spoof, -scores)), 6),
        "accuracy": round(float(np.mean(predicted_spoof == is_spoof)), 6),
        "precision": round(precision, 6),
        "recall": round(recall, 6),
        "f1": round(2 * precision * recall / (precision + recall) if precision + recall else 0.0, 6),
        "n_bonafide": int((~is_spoof).sum()),
        "n_spoof": int(is_spoof.sum()),
    }


def evaluate_scores(scores) -> dict:
    """``{"dev": {...}, "eval": {...}}`` from a score table; the dev EER threshold is applied to both.

    A corpus fetched without its eval part yields dev alone.
    """
    splits = {name: scores[scores["split"] == name] for name in ("dev", "eval") if (scores["split"] == name).any()}
    dev = splits["dev"]
    _, threshold = equal_error_rate(dev.loc[dev["label"] == "bonafide", "score"],
                                    dev.loc[dev["label"] == "spoof", "score"])
    return {name: countermeasure_metrics(part["label"], part["score"], threshold)
            for name, part in splits.items()}


def roc_points(labels, scores) -> dict[str, np.ndarray]:
    """ROC with spoof as the positive class, thinned to its corners."""
    fpr, tpr, _ = roc_curve(np.asarray(labels) == "spoof", -np.asarray(scores, dtype=float),
                            drop_intermediate=True)
    return {"fpr": fpr, "tpr": tpr}


def _as_scores(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"no {name} scores: the EER needs both classes")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} scores contain NaN or Inf")
    return array
