"""Countermeasure metrics, computed the way the ASVspoof organisers compute them.

Scores follow the ASVspoof convention: higher means more likely bona fide. An utterance
is classified as spoof when its score is at or below the decision threshold. For
precision, recall and F1, spoof is the positive class.

Two EERs are reported: ``eer`` is the step-curve EER of the ASVspoof evaluation package
(2019 on), ``eer_rocch`` the ROC-convex-hull EER of BOSARIS used by the 2017 baseline.
Pmiss is the rate of rejected bona fide utterances, Pfa that of accepted spoofs; both
feed the normalised minimum detection cost ``min_dcf``. Bootstrap intervals resample
each class separately with a seeded generator, so every number is reproducible.
``by_condition`` breaks the EER down by the condition columns of the manifest.

The ASVspoof 5 calibration metrics judge a score as a log-likelihood ratio (LLR, in nats, bona
fide over spoof; a model's calibrated score, ``models/calibration.py``): ``cllr`` (bits),
``min_cllr`` (after the optimal monotone recalibration: what the ranking alone allows) and
``act_dcf`` (the normalised cost of the Bayes decision at ``bayes_threshold``, normalised as
``min_dcf``, so ``act_dcf >= min_dcf`` for the same scores).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import accuracy_score, f1_score, make_scorer, precision_score, recall_score, roc_curve

from deepfake_audio.vocabulary import BONAFIDE, FRACTION_DECIMALS, PERCENT_DECIMALS, SCORE_DECIMALS, SPOOF

if TYPE_CHECKING:
    import pandas as pd

    from deepfake_audio.models.calibration import Calibration
    from deepfake_audio.params import EvaluateParams, MinDcfParams

CONDITION_COLUMNS = ("attack", "condition", "environment", "playback", "recorder")


def rounded(value, decimals: int) -> float:
    """``value`` as a plain float rounded to ``decimals`` places: the one rounding of a number that
    is reported, done where it is computed, so that the same result is always written as the same
    digits and an unchanged value never shows as a change in ``dvc metrics diff``."""
    return round(float(value), decimals)


def det_curve(bonafide: np.ndarray, spoof: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False rejection and false acceptance rates at every threshold, as the organisers' code.

    Bona fide scores come first and the sort is stable, so tied scores are not grouped:
    at a tie the bona fide utterance is rejected first.

    Parameters
    ----------
    bonafide, spoof : array_like
        Finite scores of each class (higher = more bona fide), any shape, flattened; neither empty.

    Returns
    -------
    frr, far, thresholds : numpy.ndarray
        Each of shape (n_bonafide + n_spoof + 1,): the fractions of bona fide utterances
        rejected and of spoofs accepted when the utterances up to ``thresholds[i]`` (in the
        sorted order) are rejected. ``thresholds`` are the sorted scores, after one 0.001
        below the lowest where nothing is rejected (FRR 0, FAR 1).

    Raises
    ------
    ValueError
        When a class has no scores or a score is NaN or infinite.
    """
    bonafide, spoof = _as_scores(bonafide, BONAFIDE), _as_scores(spoof, SPOOF)
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
    """EER as a fraction and its threshold: the first point of ``det_curve`` minimising |FRR - FAR|.

    The threshold is a score (or 0.001 below the lowest), rounded to ``SCORE_DECIMALS`` as
    the score files are: for scores at that precision, the decisions do not change.

    Parameters
    ----------
    bonafide, spoof : array_like
        Finite scores of each class (higher = more bona fide); neither empty.

    Returns
    -------
    eer : float
        (FRR + FAR) / 2 at that point, a fraction in [0, 1].
    threshold : float
        The score there; spoof at or below it.
    """
    frr, far, thresholds = det_curve(bonafide, spoof)
    index = int(np.argmin(np.abs(frr - far)))
    return float((frr[index] + far[index]) / 2), rounded(thresholds[index], SCORE_DECIMALS)


def dev_threshold(labels, scores) -> float:
    """The EER threshold of a labelled score set, its scores rounded in float64 as the score files
    hold them: on dev, a model's decision threshold for every split, saved in its card, so that it
    is the number evaluate derives from the model's score file and reports as ``decision_threshold``."""
    labels = np.asarray(labels)
    scores = np.round(np.asarray(scores, dtype=np.float64), SCORE_DECIMALS)
    return equal_error_rate(scores[labels == BONAFIDE], scores[labels == SPOOF])[1]


def rocch(bonafide: np.ndarray, spoof: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pmiss and Pfa at the vertices of the ROC convex hull, as BOSARIS ``rocch``.

    Each block of ``pav_blocks`` is one hull segment.
    """
    bonafide, spoof = _as_scores(bonafide, BONAFIDE), _as_scores(spoof, SPOOF)
    counts, widths = pav_blocks(bonafide, spoof)
    missed = np.concatenate([[0], np.cumsum(counts)])
    accepted = spoof.size - (np.concatenate([[0], np.cumsum(widths)]) - missed)
    return missed / bonafide.size, accepted / spoof.size


def pav_blocks(bonafide: np.ndarray, spoof: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pool-adjacent-violators blocks of the labels sorted by score, lowest scores first.

    The labels (1 bona fide, 0 spoof), sorted by score with bona fide first at a tie, are
    pooled into blocks of non-decreasing bona fide fraction: the isotonic regression of the
    label on the score, whose blocks are the segments of the ROC convex hull (``rocch``) and
    give the optimal monotone recalibration (``min_cllr``). A tie always ends up in one block,
    so ties are grouped. Block means are compared exactly as fractions of integers, so the
    blocks do not depend on rounding.

    Returns
    -------
    counts, widths : numpy.ndarray of int
        Per block, lowest scores first: the bona fide utterances in it and all of them.
    """
    bonafide, spoof = _as_scores(bonafide, BONAFIDE), _as_scores(spoof, SPOOF)
    is_bonafide = np.concatenate([np.ones(bonafide.size, int), np.zeros(spoof.size, int)])
    labels = is_bonafide[np.argsort(np.concatenate([bonafide, spoof]), kind="stable")]
    blocks: list[list[int]] = []  # [bona fide count, width]
    for label in labels.tolist():
        blocks.append([label, 1])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] >= blocks[-1][0] * blocks[-2][1]:
            count, width = blocks.pop()
            blocks[-1][0] += count
            blocks[-1][1] += width
    counts, widths = np.array(blocks).T
    return counts, widths


def rocch_eer(bonafide: np.ndarray, spoof: np.ndarray) -> float:
    """ROC-convex-hull EER as a fraction, as BOSARIS ``rocch2eer``.

    For every sloping hull segment, the point where its line crosses Pmiss = Pfa is a
    candidate; the EER is the largest. Horizontal or vertical segments count as 0.

    Parameters
    ----------
    bonafide, spoof : array_like
        Finite scores of each class (higher = more bona fide); neither empty.

    Returns
    -------
    float
        The EER, a fraction in [0, 1].
    """
    pmiss, pfa = rocch(bonafide, spoof)
    eer = 0.0
    for x1, y1, x2, y2 in zip(pfa[:-1], pmiss[:-1], pfa[1:], pmiss[1:], strict=True):
        dx, dy = x2 - x1, y2 - y1
        if dx != 0 and dy != 0:
            eer = max(eer, float(x1 + dx * (y1 - x1) / (dx - dy)))
    return eer


def min_dcf(bonafide: np.ndarray, spoof: np.ndarray, params: MinDcfParams) -> float:
    """Minimum normalised detection cost over the thresholds of ``det_curve``.

    Parameters
    ----------
    bonafide, spoof : array_like
        Finite scores of each class (higher = more bona fide); neither empty.
    params : MinDcfParams
        The prior ``p_spoof`` and the costs ``c_miss`` (a rejected bona fide utterance) and
        ``c_fa`` (an accepted spoof).

    Returns
    -------
    float
        min over thresholds of ``normalised_dcf``: 0 is perfect, 1 no better than a fixed decision.
    """
    pmiss, pfa, _ = det_curve(bonafide, spoof)
    return float(np.min(normalised_dcf(pmiss, pfa, params)))


def normalised_dcf(pmiss, pfa, params: MinDcfParams):
    """The detection cost ``c_miss * (1 - p_spoof) * Pmiss + c_fa * p_spoof * Pfa``, divided by
    the cost of the better of accepting or rejecting everything, ``min(c_miss * (1 - p_spoof),
    c_fa * p_spoof)``: the one normalisation of ``min_dcf`` and ``act_dcf``.

    Parameters
    ----------
    pmiss, pfa : float or numpy.ndarray
        Rates of rejected bona fide utterances and of accepted spoofs, of one shape.
    params : MinDcfParams
        The prior ``p_spoof`` and the costs ``c_miss`` and ``c_fa``.

    Returns
    -------
    float or numpy.ndarray
        Of their shape.
    """
    miss_weight, fa_weight = params.c_miss * (1 - params.p_spoof), params.c_fa * params.p_spoof
    return (miss_weight * np.asarray(pmiss) + fa_weight * np.asarray(pfa)) / min(miss_weight, fa_weight)


def bayes_threshold(params: MinDcfParams) -> float:
    """The Bayes decision threshold on log-likelihood ratios for the prior and costs of ``params``.

    ``-log(P * c_miss / ((1 - P) * c_fa))`` with ``P = 1 - p_spoof``, the prior of bona fide
    (the class a miss concerns): an utterance whose LLR is at or below it costs less, in
    expectation, when rejected than accepted. With the defaults (p_spoof 0.05, c_miss 1,
    c_fa 10) it is ``-log(1.9) = -0.642``.
    """
    prior = 1 - params.p_spoof
    return -math.log(prior * params.c_miss / ((1 - prior) * params.c_fa))


def act_dcf(bonafide_llr: np.ndarray, spoof_llr: np.ndarray, params: MinDcfParams) -> float:
    """Actual normalised detection cost: ``normalised_dcf`` of the decisions at ``bayes_threshold``.

    Spoof at or below the threshold, as every decision of this project. The decisions are one
    of the points of ``det_curve`` (all utterances up to a score rejected), so ``act_dcf`` is
    never below ``min_dcf`` of the same scores, or of any scores the LLRs rise with; the
    difference is the cost of the calibration's error.

    Parameters
    ----------
    bonafide_llr, spoof_llr : array_like
        Finite log-likelihood ratios (nats, bona fide over spoof) of each class; neither empty.
    params : MinDcfParams
        The prior and the costs.

    Returns
    -------
    float
        0 is perfect, 1 the cost of the better fixed decision; can exceed 1.
    """
    bonafide_llr, spoof_llr = _as_scores(bonafide_llr, BONAFIDE), _as_scores(spoof_llr, SPOOF)
    threshold = bayes_threshold(params)
    pmiss, pfa = np.mean(bonafide_llr <= threshold), np.mean(spoof_llr > threshold)
    return float(normalised_dcf(pmiss, pfa, params))


def cllr(bonafide_llr: np.ndarray, spoof_llr: np.ndarray) -> float:
    """Log-likelihood-ratio cost in bits, as BOSARIS ``cllr`` and the ASVspoof 5 package.

    ``(mean over bona fide of log2(1 + e^-llr) + mean over spoofs of log2(1 + e^llr)) / 2``:
    0 for perfect, confident LLRs; 1 for LLRs that are all 0 (no evidence either way); above
    1 for LLRs worse than none.

    Parameters
    ----------
    bonafide_llr, spoof_llr : array_like
        Finite log-likelihood ratios (nats, bona fide over spoof) of each class; neither empty.

    Returns
    -------
    float
    """
    bonafide_llr, spoof_llr = _as_scores(bonafide_llr, BONAFIDE), _as_scores(spoof_llr, SPOOF)
    nats = np.mean(np.logaddexp(0.0, -bonafide_llr)) + np.mean(np.logaddexp(0.0, spoof_llr))
    return float(nats / (2 * math.log(2)))


def min_cllr(bonafide: np.ndarray, spoof: np.ndarray) -> float:
    """Cllr (bits) after the optimal monotone recalibration of the scores, as BOSARIS ``min_cllr``.

    Pool-adjacent-violators (``pav_blocks``) gives, per block of the scores sorted, the bona
    fide fraction ``b / w``: the monotone posterior that fits best. Its LLR is that posterior's
    log-odds less the prior log-odds of the set, ``log(b / s) - log(N_bonafide / N_spoof)``
    (``s = w - b`` spoofs in the block), and ``min_cllr`` is the Cllr of those LLRs: the lowest
    Cllr any non-decreasing map of the scores reaches. It depends on the ranking alone (no
    calibration needed), is at most 1 (all scores one block) and at most ``cllr`` of any LLRs
    that rise with the scores.

    Parameters
    ----------
    bonafide, spoof : array_like
        Finite scores of each class (higher = more bona fide); neither empty.

    Returns
    -------
    float
    """
    bonafide, spoof = _as_scores(bonafide, BONAFIDE), _as_scores(spoof, SPOOF)
    counts, widths = pav_blocks(bonafide, spoof)
    counts, spoofs = counts.astype(float), (widths - counts).astype(float)
    # e^-llr of a block is (s / b) (N_bonafide / N_spoof). A block of spoofs alone has LLR -inf,
    # where spoofs cost nothing and no bona fide term exists; one of bona fide alone, +inf,
    # likewise: the masks leave those terms out (0 * log of 0 / 0).
    has_bonafide, has_spoof = counts > 0, spoofs > 0
    odds = bonafide.size / spoof.size
    bonafide_nats = counts[has_bonafide] * np.log1p(spoofs[has_bonafide] / counts[has_bonafide] * odds)
    spoof_nats = spoofs[has_spoof] * np.log1p(counts[has_spoof] / spoofs[has_spoof] / odds)
    nats = bonafide_nats.sum() / bonafide.size + spoof_nats.sum() / spoof.size
    return float(nats / (2 * math.log(2)))


def bootstrap_ci(
    bonafide, spoof, statistic: Callable[[np.ndarray, np.ndarray], float], *, resamples: int, seed: int
) -> tuple[float, float]:
    """95 % percentile interval of ``statistic``, each class resampled with replacement.

    Parameters
    ----------
    bonafide, spoof : array_like
        Finite scores of each class; neither empty.
    statistic : callable
        ``statistic(bonafide, spoof)`` of two 1-D arrays, returning a float.
    resamples : int
        Resamples drawn, each of both classes at their own sizes.
    seed : int
        Seed of the generator: the same arguments give the same interval.

    Returns
    -------
    low, high : float
        The 2.5th and 97.5th percentiles of the resampled statistic, in its units.
    """
    bonafide, spoof = _as_scores(bonafide, BONAFIDE), _as_scores(spoof, SPOOF)
    rng = np.random.default_rng(seed)
    values = [
        statistic(rng.choice(bonafide, bonafide.size), rng.choice(spoof, spoof.size))
        for _ in range(resamples)
    ]
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def eer_percent(bonafide, spoof) -> float:
    return 100 * equal_error_rate(bonafide, spoof)[0]


def labelled_eer_percent(labels, scores) -> float:
    """EER (%) of scores labelled bona fide or spoof, rounded as the metrics files hold it."""
    labels, scores = np.asarray(labels), np.asarray(scores)
    return rounded(eer_percent(scores[labels == BONAFIDE], scores[labels == SPOOF]), PERCENT_DECIMALS)


def _targets_eer_percent(targets: np.ndarray, scores: np.ndarray) -> float:
    return eer_percent(scores[targets == 1], scores[targets == 0])


# EER (%) of the decision function, negated as scikit-learn maximises scores (targets: 1 = bona fide).
EER_SCORER = make_scorer(_targets_eer_percent, greater_is_better=False, response_method="decision_function")


def roc_auc(bonafide, spoof) -> float:
    """ROC AUC with spoof as the positive class: P(bona fide score > spoof score), the Mann-Whitney U.

    ``sklearn.metrics.roc_auc_score`` gives the same number (to the last bit or so) in about ten
    times the time, which the bootstrap, calling this a thousand times per split, cannot afford.

    Parameters
    ----------
    bonafide, spoof : array_like
        Finite scores of each class (higher = more bona fide); neither empty.

    Returns
    -------
    float
        A fraction in [0, 1]; a tie between a bona fide and a spoof score counts one half.
    """
    bonafide, spoof = _as_scores(bonafide, BONAFIDE), _as_scores(spoof, SPOOF)
    ranks = rankdata(np.concatenate([bonafide, spoof]))  # ties get their mean rank: count as half
    return float(
        (ranks[: bonafide.size].sum() - bonafide.size * (bonafide.size + 1) / 2)
        / (bonafide.size * spoof.size)
    )


def countermeasure_metrics(
    labels, scores, threshold: float, *, params: EvaluateParams, calibration: Calibration | None = None
) -> dict:
    """The metrics of one split, as ``docs/metrics.md`` describes them.

    Parameters
    ----------
    labels : array_like of str
        ``bonafide`` or ``spoof`` per utterance, shape (n,).
    scores : array_like of float
        Score per utterance, shape (n,); higher = more bona fide.
    threshold : float
        The decision threshold chosen on dev: spoof at or below it.
    params : EvaluateParams
        The minDCF costs and the bootstrap's resamples and seed.
    calibration : Calibration, optional
        The model's (its card's): turns the scores into the LLRs that ``cllr`` and ``act_dcf``
        judge. Without it those two are left out, as a raw score is no LLR.

    Returns
    -------
    dict
        ``eer``, ``eer_rocch`` and ``eer_ci95`` in percent; ``eer_threshold`` and
        ``decision_threshold`` as scores; ``roc_auc``, ``roc_auc_ci95``, ``accuracy``,
        ``precision``, ``recall`` and ``f1`` (spoof the positive class) and ``min_dcf`` (and
        ``act_dcf``) as fractions; ``min_cllr`` (and ``cllr``) in bits; ``n_bonafide`` and
        ``n_spoof`` as counts.
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    is_spoof = labels == SPOOF
    bonafide, spoof = scores[~is_spoof], scores[is_spoof]
    eer, eer_threshold = equal_error_rate(bonafide, spoof)
    predicted_spoof = scores <= threshold
    # Spoof is the positive class; a rate with nothing to count (no spoof flagged, none present) is 0.
    decisions = {"y_true": is_spoof, "y_pred": predicted_spoof}
    boot = params.bootstrap
    eer_ci = bootstrap_ci(bonafide, spoof, eer_percent, resamples=boot.resamples, seed=boot.seed)
    auc_ci = bootstrap_ci(bonafide, spoof, roc_auc, resamples=boot.resamples, seed=boot.seed)
    return {
        "eer": rounded(100 * eer, PERCENT_DECIMALS),
        "eer_threshold": eer_threshold,  # rounded by equal_error_rate
        "decision_threshold": float(threshold),  # the card's, rounded by dev_threshold
        "roc_auc": rounded(roc_auc(bonafide, spoof), FRACTION_DECIMALS),
        "accuracy": rounded(accuracy_score(**decisions), FRACTION_DECIMALS),
        "precision": rounded(precision_score(**decisions, zero_division=0), FRACTION_DECIMALS),
        "recall": rounded(recall_score(**decisions, zero_division=0), FRACTION_DECIMALS),
        "f1": rounded(f1_score(**decisions, zero_division=0), FRACTION_DECIMALS),
        "n_bonafide": int((~is_spoof).sum()),
        "n_spoof": int(is_spoof.sum()),
        "eer_rocch": rounded(100 * rocch_eer(bonafide, spoof), PERCENT_DECIMALS),
        "min_dcf": rounded(min_dcf(bonafide, spoof, params.min_dcf), FRACTION_DECIMALS),
        **_calibration_metrics(bonafide, spoof, params, calibration=calibration),
        "eer_ci95": {
            "low": rounded(eer_ci[0], PERCENT_DECIMALS),
            "high": rounded(eer_ci[1], PERCENT_DECIMALS),
        },
        "roc_auc_ci95": {
            "low": rounded(auc_ci[0], FRACTION_DECIMALS),
            "high": rounded(auc_ci[1], FRACTION_DECIMALS),
        },
    }


def _calibration_metrics(
    bonafide: np.ndarray, spoof: np.ndarray, params: EvaluateParams, *, calibration: Calibration | None
) -> dict:
    """``act_dcf``, ``min_cllr`` and ``cllr`` of the scores of each class; ``min_cllr`` alone
    without a calibration."""
    if calibration is None:
        return {"min_cllr": rounded(min_cllr(bonafide, spoof), FRACTION_DECIMALS)}
    bonafide_llr, spoof_llr = calibration.llr(bonafide), calibration.llr(spoof)
    return {
        "act_dcf": rounded(act_dcf(bonafide_llr, spoof_llr, params.min_dcf), FRACTION_DECIMALS),
        "min_cllr": rounded(min_cllr(bonafide, spoof), FRACTION_DECIMALS),
        "cllr": rounded(cllr(bonafide_llr, spoof_llr), FRACTION_DECIMALS),
    }


def condition_eers(frame: pd.DataFrame, columns=CONDITION_COLUMNS) -> dict:
    """EER of the spoofs of each condition value against the bona fide of that value.

    Where no bona fide utterance has the value (an attack-only condition), the spoofs are
    scored against all bona fide utterances of the frame. The value "-" is skipped.
    """
    is_spoof = (frame["label"] == SPOOF).to_numpy()
    if is_spoof.all() or not is_spoof.any():
        return {}
    result = {}
    for column in (c for c in columns if c in frame.columns):
        values = frame[column].astype(str).to_numpy()
        per_value = {}
        for value in sorted(set(values[is_spoof]) - {"-", "nan"}):
            spoof = frame["score"].to_numpy()[is_spoof & (values == value)]
            same = ~is_spoof & (values == value)
            bonafide = frame["score"].to_numpy()[same if same.any() else ~is_spoof]
            per_value[value] = {
                "eer": rounded(eer_percent(bonafide, spoof), PERCENT_DECIMALS),
                "n_bonafide": int(bonafide.size),
                "n_spoof": int(spoof.size),
            }
        if per_value:
            result[column] = per_value
    return result


def evaluate_scores(
    scores: pd.DataFrame,
    params: EvaluateParams,
    condition_columns=CONDITION_COLUMNS,
    *,
    threshold: float | None = None,
    calibration: Calibration | None = None,
) -> dict:
    """``{"dev": {...}, "eval": {...}, "by_condition": {...}}`` from a score table.

    ``threshold``, the model's decision threshold (its card's), is applied to both splits;
    without it, the dev EER threshold of the scores (``dev_threshold``, the same number for a
    model's own dev scores). ``calibration``, the model's (its card's), turns the scores of
    both splits into LLRs for ``cllr`` and ``act_dcf``; without it these two keys are left
    out (a raw score is no LLR), ``min_cllr``, which needs none, stays. A corpus fetched
    without its eval part yields dev alone; ``by_condition`` is left out when no column has
    entries.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per utterance: ``split``, ``label``, ``score`` and any of ``condition_columns``.
    params : EvaluateParams
        As for ``countermeasure_metrics``.
    condition_columns : sequence of str
        The columns ``by_condition`` breaks the EER down by (see ``condition_eers``).
    threshold : float, optional
        The decision threshold; by default the dev EER threshold of ``scores``.
    calibration : Calibration, optional
        The score-to-LLR map (``trained.decision_calibration``); none by default.

    Returns
    -------
    dict
        ``countermeasure_metrics`` of each split present, and ``by_condition``: per split,
        column and value, the EER (%) and the class counts.
    """
    splits = {
        name: scores[scores["split"] == name] for name in ("dev", "eval") if (scores["split"] == name).any()
    }
    if threshold is None:
        threshold = dev_threshold(splits["dev"]["label"], splits["dev"]["score"])
    result = {
        name: countermeasure_metrics(
            part["label"], part["score"], threshold, params=params, calibration=calibration
        )
        for name, part in splits.items()
    }
    by_condition = {name: condition_eers(part, condition_columns) for name, part in splits.items()}
    by_condition = {name: entries for name, entries in by_condition.items() if entries}
    if by_condition:
        result["by_condition"] = by_condition
    return result


def roc_points(labels, scores) -> dict[str, np.ndarray]:
    """ROC with spoof as the positive class, thinned to its corners."""
    fpr, tpr, _ = roc_curve(
        np.asarray(labels) == SPOOF, -np.asarray(scores, dtype=float), drop_intermediate=True
    )
    return {"fpr": fpr, "tpr": tpr}


def _as_scores(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"no {name} scores: the EER needs both classes")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} scores contain NaN or Inf")
    return array
