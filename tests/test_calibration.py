"""The calibration of a model's score into a log-likelihood ratio: the fit on dev, the card, evaluate."""

import math

import numpy as np
import pandas as pd
import pytest
from helpers import PROJECT, dev_fit

from deepfake_audio.errors import InputError
from deepfake_audio.metrics import cllr, dev_threshold, evaluate_scores
from deepfake_audio.models.calibration import (
    CALIBRATION_DIGITS,
    Calibration,
    check_prior,
    fit_calibration,
    fit_on_dev,
    posterior_bonafide,
)
from deepfake_audio.params import BootstrapParams, EvaluateParams, load_params
from deepfake_audio.vocabulary import SCORE_DECIMALS

PARAMS = EvaluateParams(bootstrap=BootstrapParams(resamples=20, seed=0))


def calibrated_llrs(n_bonafide: int, n_spoof: int, mu: float = 1.5, seed: int = 0):
    """LLRs that are calibrated by construction: N(mu, 2 mu) for bona fide and N(-mu, 2 mu) for
    spoofs, whose log density ratio at x is exactly x."""
    rng = np.random.default_rng(seed)
    spread = math.sqrt(2 * mu)
    return rng.normal(mu, spread, n_bonafide), rng.normal(-mu, spread, n_spoof)


def labelled(bonafide, spoof):
    labels = np.array(["bonafide"] * len(bonafide) + ["spoof"] * len(spoof))
    return labels, np.concatenate([bonafide, spoof])


@pytest.mark.parametrize("n_spoof", [4000, 12000])  # balanced, and three spoofs per bona fide
def test_the_fit_recovers_the_map_from_an_overlapping_score_to_its_llr(n_spoof):
    bonafide, spoof = calibrated_llrs(4000, n_spoof)
    labels, llr = labelled(bonafide, spoof)
    scores = (llr - 1.0) / 2.0  # a model whose score is the LLR halved and shifted: llr = 2 score + 1
    fitted = fit_calibration(labels, scores)
    assert fitted.slope == pytest.approx(2.0, abs=0.1)
    # The dev proportions' prior log-odds are removed: the offset is the LLR's, whatever the balance
    # (the regression's own intercept is 1 + log(4000 / n_spoof): -0.10 with three spoofs per bona fide).
    assert fitted.offset == pytest.approx(1.0, abs=0.1)
    # Each class's mean LLR is +-mu, as the LLRs the scores came from.
    assert fitted.llr(scores[: len(bonafide)]).mean() == pytest.approx(1.5, abs=0.1)
    assert fitted.llr(scores[len(bonafide) :]).mean() == pytest.approx(-1.5, abs=0.1)


def test_on_separable_scores_the_llr_is_finite_and_on_the_right_side_of_zero():
    labels, scores = labelled([2.0, 2.5, 3.0, 4.0], [-1.0, 0.0, 0.5, 1.0])
    fitted = fit_calibration(labels, scores)
    assert 0 < fitted.slope < 100 and math.isfinite(fitted.offset)  # the L2 penalty keeps it finite
    llr = fitted.llr(scores)
    assert (llr[:4] > 0).all() and (llr[4:] < 0).all()
    assert cllr(llr[:4], llr[4:]) < 0.5


def test_scores_that_rank_spoofs_higher_or_say_nothing_get_llr_zero():
    labels, scores = labelled([0.0, 0.5, 1.0], [2.0, 2.5, 3.0])
    assert fit_calibration(labels, scores) == Calibration(0.0, 0.0)  # never reverses the ranking
    assert fit_calibration(labels, np.ones(6)) == Calibration(0.0, 0.0)
    assert cllr(*np.split(Calibration(0.0, 0.0).llr(scores), 2)) == 1.0


def test_the_fit_needs_both_classes_and_finite_scores():
    with pytest.raises(InputError, match="both bona fide and spoofed dev utterances"):
        fit_calibration(["bonafide", "bonafide"], [1.0, 2.0])
    with pytest.raises(InputError, match="finite dev scores"):
        fit_calibration(["bonafide", "spoof"], [1.0, np.nan])


def test_fit_on_dev_gives_the_dev_eer_threshold_and_the_calibration_of_the_rounded_scores():
    bonafide, spoof = calibrated_llrs(300, 500, seed=3)
    labels, scores = labelled(bonafide, spoof)
    scores = scores / 7  # more decimals than the score files keep
    fitted = fit_on_dev(labels, scores)
    rounded = np.round(scores, SCORE_DECIMALS)
    assert fitted.threshold == dev_threshold(labels, scores)
    assert fitted.calibration == fit_calibration(labels, rounded)
    for value in (fitted.calibration.slope, fitted.calibration.offset):
        assert value == float(f"{value:.{CALIBRATION_DIGITS}g}")  # kept to its significant digits


def test_posterior_and_prior():
    assert posterior_bonafide(0.0, 0.5) == 0.5
    # LLR log 3 against prior odds 1/3: even
    assert posterior_bonafide(math.log(3), 0.25) == pytest.approx(0.5)
    np.testing.assert_allclose(posterior_bonafide([-1.0, 1.0], 0.5), [1 / (1 + math.e), 1 / (1 + 1 / math.e)])
    for bad in (0.0, 1.0, -0.5, 2.0, float("nan")):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            check_prior(bad)


# --------------------------------------------------------------------------- the card and evaluate


def test_the_card_carries_the_calibration_and_evaluate_applies_it(tmp_path, models_dir):
    from deepfake_audio.models.card import make_card
    from deepfake_audio.models.files import read_card
    from deepfake_audio.models.trained import (
        decision_calibration,
        decision_threshold,
        load_models,
        save_model,
    )

    params = load_params(PROJECT / "params.yaml")
    model = load_models(models_dir, ("svc",))["svc"]
    card = make_card("svc", params, dev_fit(0.25, slope=1.5, offset=-0.3), sections=("train_svc",))
    save_model("svc", model, tmp_path, card=card)
    read = read_card(tmp_path / "svc.skops", "svc")
    assert read == card and read.calibration == {"slope": 1.5, "offset": -0.3}
    assert decision_threshold(tmp_path, "svc") == 0.25
    calibration = decision_calibration(tmp_path, "svc")
    assert calibration == Calibration(1.5, -0.3) == read.score_calibration

    scores = pd.DataFrame(
        {
            "split": ["dev"] * 4 + ["eval"] * 4,
            "label": ["bonafide", "bonafide", "spoof", "spoof"] * 2,
            "score": [2.0, 3.0, 0.0, 1.0, 0.3, 3.0, 0.2, 1.0],
        }
    )
    metrics = evaluate_scores(scores, PARAMS, threshold=0.25, calibration=calibration)
    for split in ("dev", "eval"):
        part = scores[scores["split"] == split]
        llr = 1.5 * part["score"].to_numpy() - 0.3
        is_bonafide = (part["label"] == "bonafide").to_numpy()
        assert metrics[split]["cllr"] == round(cllr(llr[is_bonafide], llr[~is_bonafide]), 6)
        assert metrics[split]["act_dcf"] >= metrics[split]["min_dcf"]
    plain = evaluate_scores(scores, PARAMS, threshold=0.25)
    assert "cllr" not in plain["eval"] and "act_dcf" not in plain["eval"]
    assert plain["eval"]["min_cllr"] == metrics["eval"]["min_cllr"]  # the ranking's alone
    without_llrs = {key: value for key, value in metrics["eval"].items() if key not in ("cllr", "act_dcf")}
    assert without_llrs == plain["eval"]


def test_the_fusion_is_saved_with_the_threshold_and_calibration_of_its_dev_scores(tmp_path, models_dir):
    import shutil

    from deepfake_audio.evaluation import fit_fusion_on_dev
    from deepfake_audio.models.trained import decision_calibration, decision_threshold

    folder = tmp_path / "models"
    shutil.copytree(models_dir, folder)
    rng = np.random.default_rng(0)
    labels = pd.Series(np.tile(["bonafide", "spoof"], 40))
    signal = np.where(labels == "bonafide", 1.0, -1.0)
    single = pd.DataFrame(
        {name: np.round(signal + rng.normal(0, 1.5, 80), 6) for name in ("svc", "cnn", "gmm")}
    )
    is_dev = np.arange(80) < 40
    fused = fit_fusion_on_dev(single, labels, is_dev, models_dir=folder)
    expected = fit_on_dev(labels[is_dev], fused[is_dev])
    assert decision_threshold(folder, "fusion") == expected.threshold
    assert decision_calibration(folder, "fusion") == expected.calibration
    # The fusion's score is already log-odds at dev's balance (even here): its LLR is close to itself.
    assert expected.calibration.slope == pytest.approx(1.0, abs=0.15)
    assert expected.calibration.offset == pytest.approx(0.0, abs=0.15)
