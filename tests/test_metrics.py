import json
import re

import numpy as np
import pandas as pd
import pytest
from helpers import PROJECT

from deepfake_audio.metrics import (
    act_dcf,
    bayes_threshold,
    bootstrap_ci,
    cllr,
    condition_eers,
    countermeasure_metrics,
    det_curve,
    dev_threshold,
    eer_percent,
    equal_error_rate,
    evaluate_scores,
    labelled_eer_percent,
    min_cllr,
    min_dcf,
    roc_auc,
    roc_points,
    rocch_eer,
    rounded,
)
from deepfake_audio.params import BootstrapParams, EvaluateParams, MinDcfParams
from deepfake_audio.vocabulary import FRACTION_DECIMALS, PERCENT_DECIMALS, SCORE_DECIMALS

PARAMS = EvaluateParams(bootstrap=BootstrapParams(resamples=50, seed=0))


@pytest.mark.parametrize(
    "bonafide, spoof, eer, threshold",
    [
        # sorted: .1s .2s .3b .4s .6b .7s .8b .9b -> FRR = FAR = 1/4 after the fourth score
        ([0.3, 0.6, 0.8, 0.9], [0.1, 0.2, 0.4, 0.7], 0.25, 0.4),
        # |FRR - FAR| is 1/4 after the third and the fourth score; the first counts: (0 + 1/4) / 2
        ([4, 5], [1, 2, 3, 6], 0.125, 3.0),
        ([2, 3], [0, 1], 0.0, 1.0),  # perfect separation
        ([1, 1], [1, 1], 1.0, 1.0),  # all equal: bona fide sorts first, so everything is wrong
        ([1, 2], [1, 0], 0.5, 1.0),  # a tie between classes is not grouped
        ([1], [0], 0.0, 0.0),  # one utterance per class
        ([0], [1], 1.0, 0.0),
    ],
)
def test_eer_matches_hand_computed_values(bonafide, spoof, eer, threshold):
    got_eer, got_threshold = equal_error_rate(np.array(bonafide), np.array(spoof))
    assert got_eer == pytest.approx(eer)
    assert got_threshold == pytest.approx(threshold)


def test_labelled_eer_is_in_percent_rounded_and_reads_the_labels():
    # The second case above, its scores interleaved and labelled: (0 + 1/4) / 2 = 12.5 %.
    labels = pd.Series(["spoof", "bonafide", "spoof", "spoof", "bonafide", "spoof"])
    assert labelled_eer_percent(labels, np.array([1, 4, 2, 3, 5, 6])) == 12.5
    # A third of the spoofs above the lowest bona fide score: (0 + 1/3) / 2, to 4 decimals.
    assert labelled_eer_percent(["bonafide", "spoof", "spoof", "spoof"], [0.5, 0.9, 0.1, 0.2]) == 16.6667


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
    metrics = countermeasure_metrics(labels, scores, threshold=0.3, params=PARAMS)
    # spoof predicted for 0.2, 0.1, 0.3: two true spoofs among three flagged, two of three spoofs found
    assert metrics["precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert metrics["recall"] == pytest.approx(2 / 3, abs=1e-6)
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["n_bonafide"] == 2 and metrics["n_spoof"] == 3
    assert metrics["roc_auc"] == pytest.approx(4 / 6, abs=1e-6)


def test_dev_threshold_is_applied_unchanged_to_eval():
    scores = pd.DataFrame(
        {
            "split": ["dev"] * 4 + ["eval"] * 4,
            "label": ["bonafide", "bonafide", "spoof", "spoof"] * 2,
            "score": [2.0, 3.0, 0.0, 1.0, 12.0, 13.0, 10.0, 11.0],
        }
    )
    metrics = evaluate_scores(scores, PARAMS)
    assert metrics["dev"]["eer"] == 0.0 and metrics["dev"]["eer_threshold"] == 1.0
    assert metrics["eval"]["eer"] == 0.0 and metrics["eval"]["eer_threshold"] == 11.0
    # eval scores are all above the dev threshold, so every spoof is accepted
    assert metrics["eval"]["decision_threshold"] == 1.0
    assert metrics["eval"]["recall"] == 0.0 and metrics["eval"]["accuracy"] == 0.5
    assert set(metrics["dev"]) >= {
        "eer",
        "eer_threshold",
        "roc_auc",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "n_bonafide",
        "n_spoof",
    }


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
    metrics = countermeasure_metrics(
        ["bonafide", "spoof", "spoof", "spoof"], [0.1, 0.2, 0.9, 0.3], 0.5, params=PARAMS
    )
    # flagged: 0.1 (wrong), 0.2, 0.3 -> precision 2/3; recall 2/3
    assert metrics["f1"] == pytest.approx(2 / 3, abs=1e-6)
    assert countermeasure_metrics(["bonafide", "spoof"], [0.1, 0.9], 0.5, params=PARAMS)["f1"] == 0.0


def test_a_corpus_without_eval_gets_dev_metrics_only():
    scores = pd.DataFrame(
        {
            "split": ["dev"] * 4,
            "label": ["bonafide", "bonafide", "spoof", "spoof"],
            "score": [2.0, 3.0, 0.0, 1.0],
        }
    )
    assert list(evaluate_scores(scores, PARAMS)) == ["dev"]


@pytest.mark.parametrize(
    "bonafide, spoof, eer",
    [
        # hull vertices (Pfa, Pmiss): (1, 0) (.5, 0) (0, .5) (0, 1) -> crossing at 1/4
        ([0.3, 0.6, 0.8, 0.9], [0.1, 0.2, 0.4, 0.7], 0.25),
        # hull (1, 0) (.25, 0) (0, 1): the line 4 Pfa + Pmiss = 1 meets the diagonal at 1/5
        ([4, 5], [1, 2, 3, 6], 0.2),
        ([2, 3], [0, 1], 0.0),  # perfect separation
        ([1, 1], [1, 1], 0.5),  # all equal: one hull segment from (1, 0) to (0, 1)
        ([1, 2], [1, 0], 0.25),  # the tie is pooled: hull (1, 0) (.5, 0) (0, .5) (0, 1)
        ([1], [0], 0.0),  # one utterance per class
        ([0], [1], 0.5),
    ],
)
def test_rocch_eer_matches_hand_computed_values(bonafide, spoof, eer):
    assert rocch_eer(np.array(bonafide), np.array(spoof)) == pytest.approx(eer)


@pytest.mark.parametrize("seed", range(20))
def test_rocch_eer_is_never_above_the_step_curve_eer(seed):
    rng = np.random.default_rng(seed)
    bonafide = rng.integers(0, 12, rng.integers(1, 40)).astype(float)
    spoof = rng.integers(-4, 8, rng.integers(1, 60)).astype(float)
    frr, far, _ = det_curve(bonafide, spoof)
    # where the staircase crosses the diagonal; the organisers' (FRR + FAR) / 2 can be lower
    # than the hull EER (0.125 against 0.2 for [4, 5] vs [1, 2, 3, 6])
    step_eer = np.min(np.maximum(frr, far))
    assert 0.0 <= rocch_eer(bonafide, spoof) <= step_eer + 1e-12


def test_min_dcf_matches_hand_computed_values():
    bonafide, spoof = np.array([0.3, 0.6, 0.8, 0.9]), np.array([0.1, 0.2, 0.4, 0.7])
    # defaults: cost (.95 Pmiss + .5 Pfa) / .5, lowest at Pmiss = 0, Pfa = .5
    assert min_dcf(bonafide, spoof, MinDcfParams()) == pytest.approx(0.5)
    # equal costs and prior: Pmiss + Pfa, lowest at Pmiss = 0, Pfa = 1/4
    even = MinDcfParams(p_spoof=0.5, c_miss=1.0, c_fa=1.0)
    assert min_dcf(np.array([4.0, 5.0]), np.array([1.0, 2.0, 3.0, 6.0]), even) == pytest.approx(0.25)
    assert min_dcf(np.array([2.0, 3.0]), np.array([0.0, 1.0]), MinDcfParams()) == 0.0


# --------------------------------------------------------------------------- calibration metrics

# Calibrated by construction: four bona fide and four spoofs in two blocks of tied LLRs, the low
# one holding 1 bona fide and 3 spoofs (LLR log(1/3)), the high one 3 and 1 (LLR log 3). Each
# block's LLR is its own log-odds less the set's (0), so PAV cannot improve on them: Cllr =
# minCllr = the binary entropy of 1/4, H(1/4) = 0.811278 bits.
CALIBRATED_BONAFIDE = np.log([1 / 3, 3, 3, 3])
CALIBRATED_SPOOF = np.log([1 / 3, 1 / 3, 1 / 3, 3])
ENTROPY_OF_A_QUARTER = -(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75))


def test_cllr_of_llrs_that_say_nothing_is_one_bit_exactly():
    assert cllr(np.zeros(3), np.zeros(5)) == 1.0
    assert min_cllr(np.zeros(3), np.zeros(5)) == 1.0  # all tied: one block, no better than nothing


def test_cllr_of_calibrated_llrs_is_the_entropy_left_and_pav_cannot_improve_on_it():
    assert cllr(CALIBRATED_BONAFIDE, CALIBRATED_SPOOF) == pytest.approx(ENTROPY_OF_A_QUARTER, abs=1e-12)
    assert min_cllr(CALIBRATED_BONAFIDE, CALIBRATED_SPOOF) == pytest.approx(ENTROPY_OF_A_QUARTER, abs=1e-12)
    # separated classes: minCllr 0; any confident LLRs on the right side come close
    assert min_cllr(np.array([1.0, 2.0]), np.array([-1.0, 0.0])) == 0.0
    assert cllr(np.array([30.0, 40.0]), np.array([-30.0])) < 1e-12


def test_mis_scaled_llrs_cost_more_cllr_but_the_same_min_cllr():
    base = cllr(CALIBRATED_BONAFIDE, CALIBRATED_SPOOF)
    for k in (0.3, 3.0):
        bonafide, spoof = k * CALIBRATED_BONAFIDE, k * CALIBRATED_SPOOF
        assert cllr(bonafide, spoof) > base + 0.05
        assert min_cllr(bonafide, spoof) == pytest.approx(ENTROPY_OF_A_QUARTER, abs=1e-12)
    # by hand, k = 3: the LLRs are +-log 27; (log2(28) + 3 log2(28 / 27)) / 4 for each class
    assert cllr(3 * CALIBRATED_BONAFIDE, 3 * CALIBRATED_SPOOF) == pytest.approx(
        (np.log2(28) + 3 * np.log2(28 / 27)) / 4, abs=1e-12
    )


def test_the_bayes_threshold_and_act_dcf_of_calibrated_and_shifted_llrs():
    params = MinDcfParams()  # P(spoof) 0.05, C_miss 1, C_fa 10
    assert bayes_threshold(params) == pytest.approx(-np.log(0.95 * 1 / (0.05 * 10)))
    assert bayes_threshold(MinDcfParams(p_spoof=0.5, c_miss=1.0, c_fa=1.0)) == 0.0
    # Calibrated: the low block (LLR -1.10) is rejected at the threshold -0.64, the high one accepted:
    # (0.95 * 1/4 + 0.5 * 1/4) / 0.5 = 0.725, which is also the best threshold's cost.
    assert act_dcf(CALIBRATED_BONAFIDE, CALIBRATED_SPOOF, params) == pytest.approx(0.725)
    assert min_dcf(CALIBRATED_BONAFIDE, CALIBRATED_SPOOF, params) == pytest.approx(0.725)
    # Shifted up by 1, every LLR is above the threshold: all accepted, Pfa = 1, cost 0.5 / 0.5 = 1.
    # The ranking is the same, so minDCF is too; actDCF - minDCF is the cost of the shift.
    shifted = CALIBRATED_BONAFIDE + 1, CALIBRATED_SPOOF + 1
    assert act_dcf(*shifted, params) == pytest.approx(1.0)
    assert min_dcf(*shifted, params) == pytest.approx(0.725)
    # Shifted down by 2, all rejected: Pmiss = 1, cost 0.95 / 0.5.
    assert act_dcf(CALIBRATED_BONAFIDE - 2, CALIBRATED_SPOOF - 2, params) == pytest.approx(1.9)
    # An LLR exactly at the threshold is rejected (spoof at or below it), as every decision here.
    at = bayes_threshold(params)
    assert act_dcf(np.array([at]), np.array([at - 1]), params) == pytest.approx(0.95 / 0.5)


@pytest.mark.parametrize("seed", range(20))
def test_act_dcf_is_never_below_min_dcf_nor_cllr_below_min_cllr(seed):
    rng = np.random.default_rng(seed)
    bonafide = rng.integers(0, 12, rng.integers(1, 40)).astype(float)  # coarse scores: many ties
    spoof = rng.integers(-4, 8, rng.integers(1, 60)).astype(float)
    params = MinDcfParams(
        p_spoof=rng.uniform(0.01, 0.99), c_miss=rng.uniform(0.1, 10), c_fa=rng.uniform(0.1, 10)
    )
    slope, offset = rng.uniform(0, 3), rng.uniform(-10, 10)  # any calibration that keeps the ranking
    bonafide_llr, spoof_llr = slope * bonafide + offset, slope * spoof + offset
    assert act_dcf(bonafide_llr, spoof_llr, params) >= min_dcf(bonafide, spoof, params) - 1e-12
    assert cllr(bonafide_llr, spoof_llr) >= min_cllr(bonafide, spoof) - 1e-12
    assert min_cllr(bonafide, spoof) <= 1.0 + 1e-12


@pytest.mark.parametrize("seed", range(10))
def test_min_cllr_agrees_with_scikit_learns_isotonic_regression(seed):
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(seed)
    bonafide = rng.integers(0, 12, rng.integers(2, 40)).astype(float)
    spoof = rng.integers(-4, 8, rng.integers(2, 60)).astype(float)
    scores = np.concatenate([bonafide, spoof])
    targets = np.r_[np.ones(bonafide.size), np.zeros(spoof.size)]
    posterior = np.clip(IsotonicRegression().fit_transform(scores, targets), 1e-300, 1 - 1e-16)
    llr = np.log(posterior / (1 - posterior)) - np.log(bonafide.size / spoof.size)
    # where the posterior is 0 or 1 only one class lies, at no cost; clipping keeps the logs finite
    assert min_cllr(bonafide, spoof) == pytest.approx(
        cllr(llr[: bonafide.size], llr[bonafide.size :]), abs=1e-9
    )


def test_the_calibration_metrics_of_a_split_are_rounded_and_need_a_calibration_for_llrs():
    from deepfake_audio.models.calibration import Calibration

    rng = np.random.default_rng(0)
    labels = ["bonafide"] * 30 + ["spoof"] * 30
    scores = np.round(np.concatenate([rng.normal(1, 1, 30), rng.normal(-1, 1, 30)]), 6)
    plain = countermeasure_metrics(labels, scores, 0.0, params=PARAMS)
    assert "cllr" not in plain and "act_dcf" not in plain and 0 < plain["min_cllr"] < 1
    calibrated = countermeasure_metrics(labels, scores, 0.0, params=PARAMS, calibration=Calibration(2.0, 0.5))
    assert calibrated["min_cllr"] == plain["min_cllr"]
    assert calibrated["cllr"] == rounded(
        cllr(2 * scores[:30] + 0.5, 2 * scores[30:] + 0.5), FRACTION_DECIMALS
    )
    assert calibrated["act_dcf"] >= calibrated["min_dcf"] and calibrated["cllr"] >= calibrated["min_cllr"]
    assert all(decimals_of(calibrated[key]) <= FRACTION_DECIMALS for key in ("cllr", "min_cllr", "act_dcf"))


def test_bootstrap_interval_contains_the_estimate_narrows_and_is_reproducible():
    rng = np.random.default_rng(1)
    widths = []
    for n in (50, 2000):
        bonafide, spoof = rng.normal(1.0, 1.0, n), rng.normal(-1.0, 1.0, n)
        for statistic in (eer_percent, roc_auc):
            low, high = bootstrap_ci(bonafide, spoof, statistic, resamples=200, seed=7)
            assert low <= statistic(bonafide, spoof) <= high
            assert bootstrap_ci(bonafide, spoof, statistic, resamples=200, seed=7) == (low, high)
        widths.append(high - low)
    assert widths[1] < widths[0] / 3


def test_countermeasure_metrics_carry_the_new_keys_as_dicts():
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(1, 1, 30), rng.normal(-1, 1, 30)])
    metrics = countermeasure_metrics(["bonafide"] * 30 + ["spoof"] * 30, scores, 0.0, params=PARAMS)
    assert metrics["eer_rocch"] <= 100 * np.min(np.maximum(*det_curve(scores[:30], scores[30:])[:2]))
    assert 0.0 <= metrics["min_dcf"] <= 1.0
    assert metrics["eer_ci95"]["low"] <= metrics["eer"] <= metrics["eer_ci95"]["high"]
    assert metrics["roc_auc_ci95"]["low"] <= metrics["roc_auc"] <= metrics["roc_auc_ci95"]["high"]


def test_condition_eers_use_same_condition_bonafide_else_all():
    frame = pd.DataFrame(
        {
            "label": ["bonafide", "bonafide", "bonafide", "spoof", "spoof", "spoof", "spoof"],
            "score": [1.0, 2.0, 5.0, 0.0, 3.0, 4.0, 6.0],
            "environment": ["E1", "E1", "E2", "E1", "E1", "E3", "E3"],
            "playback": ["-", "-", "-", "P1", "P1", "-", "-"],
        }
    )
    result = condition_eers(frame, ("condition", "environment", "playback"))
    assert list(result) == ["environment", "playback"]  # no condition column; '-' never a key
    # E1: bona fide 1, 2 against spoofs 0, 3 -> sorted 0s 1b 2b 3s, |FRR - FAR| = 0 at k = 2: 1/2
    assert result["environment"]["E1"] == {"eer": 50.0, "n_bonafide": 2, "n_spoof": 2}
    # E3 has no bona fide: all three (1, 2, 5) against 4 and 6
    assert result["environment"]["E3"]["n_bonafide"] == 3
    assert result["environment"]["E3"]["eer"] == pytest.approx(
        100 * equal_error_rate(np.array([1.0, 2.0, 5.0]), np.array([4.0, 6.0]))[0], abs=1e-4
    )
    assert set(result["environment"]) == {"E1", "E3"}  # E2 has no spoofs
    # playback of bona fide is '-': P1 spoofs (0, 3) against all bona fide (1, 2, 5)
    assert result["playback"] == {
        "P1": {
            "eer": round(100 * equal_error_rate(np.array([1.0, 2.0, 5.0]), np.array([0.0, 3.0]))[0], 4),
            "n_bonafide": 3,
            "n_spoof": 2,
        }
    }


def test_evaluate_scores_breaks_eer_down_by_condition():
    scores = pd.DataFrame(
        {
            "split": ["dev"] * 4 + ["eval"] * 4,
            "label": ["bonafide", "bonafide", "spoof", "spoof"] * 2,
            "score": [2.0, 3.0, 0.0, 1.0, 12.0, 13.0, 10.0, 11.0],
            "condition": ["-", "-", "S1", "S2", "-", "-", "S1", "-"],
        }
    )
    metrics = evaluate_scores(scores, PARAMS)
    assert list(metrics) == ["dev", "eval", "by_condition"]
    assert set(metrics["by_condition"]["dev"]["condition"]) == {"S1", "S2"}
    assert metrics["by_condition"]["eval"]["condition"] == {"S1": {"eer": 0.0, "n_bonafide": 2, "n_spoof": 1}}
    assert "by_condition" not in evaluate_scores(scores.drop(columns="condition"), PARAMS)


# --------------------------------------------------------------------------- rounding


def decimals_of(value: float) -> int:
    """Digits after the point in the shortest repr of ``value``, as JSON writes it."""
    text = repr(float(value))
    return 0 if "e" in text or "." not in text else len(text.split(".")[1].rstrip("0"))


def test_the_threshold_is_rounded_once_and_the_card_the_scores_and_the_metrics_agree(tmp_path):
    from helpers import model_card

    from deepfake_audio.models.files import read_card
    from deepfake_audio.models.svc import build_svc, save_svc, svc_scores
    from deepfake_audio.models.trained import model_scores
    from deepfake_audio.params import TrainSvcParams

    rng = np.random.default_rng(0)
    labels = pd.Series(["bonafide", "spoof"] * 40)
    features = pd.DataFrame(
        {
            "mfcc_0_mean": rng.standard_normal(80) + 1.5 * (labels == "bonafide"),
            "lfcc_0_mean": rng.standard_normal(80),
        }
    )
    model = build_svc(TrainSvcParams().setting(), seed=0).fit(features, (labels == "bonafide").astype(int))
    dev = slice(0, 40)
    raw = svc_scores(model, features)
    assert max(decimals_of(score) for score in raw) > SCORE_DECIMALS  # the model's own scores are not rounded

    threshold = dev_threshold(labels[dev], raw[dev])  # as train_svc computes it for the card
    save_svc(model, tmp_path / "svc.skops", model_card("svc", threshold))
    card_threshold = read_card(tmp_path / "svc.skops").threshold
    assert card_threshold == threshold and decimals_of(threshold) <= SCORE_DECIMALS

    scores = model_scores({"svc": model}, features, None)["svc"]  # as the score files hold them
    table = pd.DataFrame({"split": ["dev"] * 40 + ["eval"] * 40, "label": labels, "score": scores})
    metrics = evaluate_scores(table, PARAMS)
    assert metrics["dev"]["decision_threshold"] == metrics["eval"]["decision_threshold"] == card_threshold
    assert metrics["dev"]["eer_threshold"] == card_threshold
    assert decimals_of(metrics["eval"]["eer_threshold"]) <= SCORE_DECIMALS
    # Every other number is at its fixed precision, so a rerun writes the same digits.
    for split in ("dev", "eval"):
        part = metrics[split]
        assert all(decimals_of(part[key]) <= PERCENT_DECIMALS for key in ("eer", "eer_rocch"))
        assert all(
            decimals_of(part[key]) <= FRACTION_DECIMALS
            for key in ("roc_auc", "accuracy", "precision", "recall", "f1", "min_dcf")
        )
        assert all(decimals_of(value) <= PERCENT_DECIMALS for value in part["eer_ci95"].values())


def test_eer_threshold_is_a_score_at_score_precision():
    bonafide, spoof = np.array([0.91234567, 0.5]), np.array([0.12345678, 0.3123456789])
    eer, threshold = equal_error_rate(bonafide, spoof)
    assert eer == 0.0 and threshold == 0.312346
    assert rounded(np.float32(0.1) * 3, 4) == 0.3 and type(rounded(np.float64(1.23456), 2)) is float


# --------------------------------------------------------------------------- metrics hold numbers

# The rule for strings in metrics/*.json (the metrics contract): a string value is a
# label that names something (a split, a risk level, a feature, a kernel), never a sentence:
# 1 to 32 characters from letters, digits and _ . + -, so no spaces. The longest feature
# name of the pipeline (band_energy_1000_2000hz_mean) has 28 characters.
LABEL = re.compile(r"[A-Za-z0-9_.+-]{1,32}")


def strings_in(data, where: str = "") -> list[tuple[str, str]]:
    """(dotted key, value) of every string value in a JSON document."""
    if isinstance(data, dict):
        return [
            found for key, value in data.items() for found in strings_in(value, f"{where}.{key}".lstrip("."))
        ]
    if isinstance(data, list):
        return [found for i, value in enumerate(data) for found in strings_in(value, f"{where}.{i}")]
    return [(where, data)] if isinstance(data, str) else []


def not_labels(data) -> list[tuple[str, str]]:
    return [(where, value) for where, value in strings_in(data) if not LABEL.fullmatch(value)]


def test_the_label_rule_keeps_names_and_refuses_sentences():
    assert not_labels({"a": "high", "b": ["band_energy_1000_2000hz_mean", "E07_P10_R07"], "c": 1.5}) == []
    assert not_labels({"svc": {"verdict": "low: 100 ms transplant"}, "x": ["a" * 33]}) == [
        ("svc.verdict", "low: 100 ms transplant"),
        ("x.0", "a" * 33),
    ]


@pytest.mark.parametrize("path", sorted((PROJECT / "metrics").glob("*.json")), ids=lambda path: path.name)
def test_committed_metrics_hold_numbers_and_short_labels_only(path):
    assert not_labels(json.loads(path.read_text())) == [], f"{path.name}: sentences belong beside the plots"


def test_the_metrics_writers_put_no_sentence_in_metrics():
    from deepfake_audio.audit.verdicts import audit_models, audit_retrained
    from deepfake_audio.corpus.manifest import summarize
    from deepfake_audio.explain.svc import permutation_summary
    from deepfake_audio.params import AuditParams

    table = pd.DataFrame(
        {
            "split": ["dev"] * 4 + ["eval"] * 4,
            "label": ["bonafide", "bonafide", "spoof", "spoof"] * 2,
            "score": [2.0, 3.0, 0.0, 1.0, 12.0, 13.0, 10.0, 11.0],
            "condition": ["-", "-", "S1", "S2"] * 2,
            "speaker": "s1",
            "duration_s": 1.0,
        }
    )
    labels, scores = table["label"][:4], table[["score"]][:4].rename(columns={"score": "svc"})
    ranking = pd.DataFrame(
        {
            "feature": ["band_energy_1000_2000hz_mean", "mfcc_0_mean"],
            "importance": [1.0, 0.0],
            "std": [0.1, 0.0],
        }
    )
    written = {
        "svc": evaluate_scores(table, PARAMS),
        "data": summarize(
            table, [{"utt_id": "T_1", "path": "a b.wav", "reason": "silent: every sample is zero"}]
        ),
        "audit": {
            **audit_models(
                labels, scores, scores, transplanted=scores, thresholds={"svc": 1.0}, settings=AuditParams()
            ),
            "retrained": audit_retrained(
                labels, scores, transplanted=scores, thresholds={"svc": 1.0}, settings=AuditParams()
            ),
        },
        "explain": permutation_summary(
            ranking, pd.DataFrame({"family": ["mfcc"], "importance": [0.0], "std": [0.0]}), 5
        ),
    }
    assert not_labels(written) == []
    assert written["audit"]["svc"]["shortcut_risk"] == "low" and written["data"]["n_rejected"] == 1
