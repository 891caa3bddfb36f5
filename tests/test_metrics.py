import numpy as np
import pandas as pd
import pytest

from deepfake_audio.metrics import (
    countermeasure_metrics, det_curve, equal_error_rate, evaluate_scores, roc_points,
)


@pytest.mark.parametrize("bonafide, spoof, eer, threshold", [
    # sorted: .1s .2s .3b .4s .6b .7s .8b .9b -> FRR = FAR = 1/4 after the fourth score
    ([0.3, 0.6, 0.8, 0.9], [0.1, 0.2, 0.4, 0.7], 0.25, 0.4),
    # |FRR - FAR| is 1/4 after the third and the fourth score; the first counts: (0 + 1/4) / 2
    ([4, 5], [1, 2, 3, 6], 0.125, 3.0),
    ([2, 3], [0, 1], 0.0, 1.0),  # perfect separation
    ([1, 1], [1, 1], 1.0, 1.0),  # all equal: bona fide sorts first, so everything is wrong
    ([1, 2], [1, 0], 0.5, 1.0),  # a tie between classes is not grouped
    ([1], [0], 0.0, 0.0),  # one utterance per class
    ([0], [1], 1.0, 0.0),
])
def test_eer_matches_hand_computed_values(bonafide, spoof, eer, threshold):
    got_eer, got_threshold = equal_error_rate(np.array(bonafide), np.array(spoof))
    assert got_eer == pytest.approx(eer)
    assert got_threshold == pytest.approx(threshold)


def test_det_curve_starts_accepting_everything():
    frr, far, thresholds = det_curve(np.array([1.0, 2.0]), np.array([0.0]))
    assert frr.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert far.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert thresholds[0] == pytest.approx(-0.001)


def test_empty_or_non_finite_scores_are_refused():
    with pytest.raises(ValueError, match="no spoof scores"):
        equal_error_rate(np.array([1.0]), np.array([]))
    with pytest.raises(ValueError, match="bonafide scores contain NaN or Inf"):
        equal_error_rate(np.array([np.nan]), np.array([1.0]))


def test_threshold_metrics_treat_spoof_as_positive():
    labels = ["bonafide", "bonafide", "spoof", "spoof", "spoof"]
    scores = [0.9, 0.2, 0.1, 0.3, 0.8]
    metrics = countermeasure_metrics(labels, scores, threshold=0.3)
    # spoof predicted for 0.2, 0.1, 0.3: two true spoofs among three flagged, two of three spoofs found
    assert metrics["precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert metrics["recall"] == pytest.approx(2 / 3, abs=1e-6)
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["n_bonafide"] == 2 and metrics["n_spoof"] == 3
    assert metrics["roc_auc"] == pytest.approx(4 / 6, abs=1e-6)


def test_dev_threshold_is_applied_unchanged_to_eval():
    scores = pd.DataFrame({
        "split": ["dev"] * 4 + ["eval"] * 4,
        "label": ["bonafide", "bonafide", "spoof", "spoof"] * 2,
        "score": [2.0, 3.0, 0.0, 1.0, 12.0, 13.0, 10.0, 11.0],
    })
    metrics = evaluate_scores(scores)
    assert metrics["dev"]["eer"] == 0.0 and metrics["dev"]["eer_threshold"] == 1.0
    assert metrics["eval"]["eer"] == 0.0 and metrics["eval"]["eer_threshold"] == 11.0
    # eval scores are all above the dev threshold, so every spoof is accepted
    assert metrics["eval"]["decision_threshold"] == 1.0
    assert metrics["eval"]["recall"] == 0.0 and metrics["eval"]["accuracy"] == 0.5
    assert set(metrics["dev"]) >= {"eer", "eer_threshold", "roc_auc", "accuracy", "precision",
                                   "recall", "f1", "n_bonafide", "n_spoof"}


def test_roc_points_run_from_corner_to_corner():
    points = roc_points(["bonafide", "spoof", "spoof", "bonafide"], [0.9, 0.1, 0.6, 0.4])
    assert points["fpr"][0] == 0.0 and points["tpr"][-1] == 1.0
    assert np.all(np.diff(points["fpr"]) >= 0)


def organisers_compute_eer(target_scores, nontarget_scores):
    """The ASVspoof evaluation package's compute_det_curve + compute_eer, verbatim in substance."""
    n_scores = target_scores.size + nontarget_scores.size
    all_scores = np.concatenate((target_scores, nontarget_scores))
    labels = np.concatenate((np.ones(target_scores.size), np.zeros(nontarget_scores.size)))
    indices = np.argsort(all_scores, kind="mergesort")
    labels = labels[indices]
    tar_trial_sums = np.cumsum(labels)
    nontarget_trial_sums = nontarget_scores.size - (np.arange(1, n_scores + 1) - tar_trial_sums)
    frr = np.concatenate((np.atleast_1d(0), tar_trial_sums / target_scores.size))
    far = np.concatenate((np.atleast_1d(1), nontarget_trial_sums / nontarget_scores.size))
    thresholds = np.concatenate((np.atleast_1d(all_scores[indices[0]] - 0.001), all_scores[indices]))
    min_index = np.argmin(np.abs(frr - far))
    return np.mean((frr[min_index], far[min_index])), thresholds[min_index]


@pytest.mark.parametrize("seed", range(20))
def test_eer_agrees_with_the_organisers_code_on_random_scores_with_ties(seed):
    rng = np.random.default_rng(seed)
    bonafide = rng.integers(0, 12, rng.integers(1, 40)).astype(float)  # coarse scores: many ties
    spoof = rng.integers(-4, 8, rng.integers(1, 60)).astype(float)
    assert equal_error_rate(bonafide, spoof) == organisers_compute_eer(bonafide, spoof)


def test_f1_is_the_harmonic_mean_of_precision_and_recall():
    metrics = countermeasure_metrics(["bonafide", "spoof", "spoof", "spoof"], [0.1, 0.2, 0.9, 0.3], 0.5)
    # flagged: 0.1 (wrong), 0.2, 0.3 -> precision 2/3; recall 2/3
    assert metrics["f1"] == pytest.approx(2 / 3, abs=1e-6)
    assert countermeasure_metrics(["bonafide", "spoof"], [0.1, 0.9], 0.5)["f1"] == 0.0


def test_a_corpus_without_eval_gets_dev_metrics_only():
    scores = pd.DataFrame({"split": ["dev"] * 4, "label": ["bonafide", "bonafide", "spoof", "spoof"],
                           "score": [2.0, 3.0, 0.0, 1.0]})
    assert list(evaluate_scores(scores)) == ["dev"]
