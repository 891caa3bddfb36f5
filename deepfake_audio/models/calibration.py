"""Score calibration: each model's score turned into a log-likelihood ratio (LLR).

A model's raw score ranks utterances (higher = more bona fide) but is in its own units: the
SVC's decision function, the CNN's logit, the GMM's mean frame log-likelihood ratio, the
fusion's log-odds. The calibration maps it to

    llr = slope * score + offset  ~  log p(score | bona fide) / p(score | spoof)   (nats),

fitted on the model's dev scores where its dev EER threshold is chosen (``fit_on_dev``, which
gives both), and stored in its model card. An LLR is what a decision under any prior and costs
needs (the Bayes threshold, ``metrics.bayes_threshold``) and what Cllr and actDCF judge
(``metrics.cllr``, ``metrics.act_dcf``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from deepfake_audio.errors import InputError
from deepfake_audio.metrics import dev_threshold
from deepfake_audio.vocabulary import BONAFIDE, SCORE_DECIMALS, SPOOF

# Significant digits the card keeps of the slope and the offset: short numbers that stay the
# same bytes if a last bit of the fit differs; the LLR moves by at most 5e-8 of itself.
CALIBRATION_DIGITS = 8


@dataclass(frozen=True)
class Calibration:
    """An affine map from a model's score to a log-likelihood ratio, ``slope * score + offset``.

    ``slope`` is never negative: a calibration never reverses the ranking of the scores.
    """

    slope: float
    offset: float

    def llr(self, scores) -> np.ndarray:
        """The log-likelihood ratios (nats, bona fide over spoof) of ``scores``, float64 of their shape."""
        return self.slope * np.asarray(scores, dtype=np.float64) + self.offset

    def as_dict(self) -> dict[str, float]:
        """``{"slope": .., "offset": ..}``, as the model card holds it."""
        return {"slope": self.slope, "offset": self.offset}

    @classmethod
    def from_dict(cls, values: dict) -> Calibration:
        return cls(slope=float(values["slope"]), offset=float(values["offset"]))


@dataclass(frozen=True)
class DevFit:
    """What training fixes on dev and the model card keeps: the decision threshold (the dev EER
    threshold, ``metrics.dev_threshold``) and the score's calibration."""

    threshold: float
    calibration: Calibration


def fit_on_dev(labels, scores) -> DevFit:
    """The dev EER threshold and the calibration of a model's dev scores; both are fitted on the
    scores rounded to ``SCORE_DECIMALS`` as the score files hold them, so that they are the
    numbers evaluate would derive from the model's score file.

    Parameters
    ----------
    labels : array_like of str
        ``bonafide`` or ``spoof`` per dev utterance, shape (n,).
    scores : array_like of float
        The model's score of each, shape (n,); higher = more bona fide.

    Returns
    -------
    DevFit
    """
    scores = np.round(np.asarray(scores, dtype=np.float64), SCORE_DECIMALS)
    return DevFit(dev_threshold(labels, scores), fit_calibration(labels, scores))


def fit_calibration(labels, scores) -> Calibration:
    """Logistic-regression calibration of a model's dev scores into log-likelihood ratios.

    A logistic regression of the class (bona fide = 1) on the score (scikit-learn's lbfgs: a
    convex objective, no randomness, so the fit is deterministic; the score standardised
    first and the L2 penalty at scikit-learn's default C = 1, as the fusion is fitted, so the
    slope stays finite when the dev scores separate the classes) gives the posterior log-odds
    at the dev proportions of the classes, ``a * score + b = log P(bona fide | score) /
    P(spoof | score)``. By Bayes' rule these are the LLR plus the prior log-odds of the dev
    set, ``log(N_bonafide / N_spoof)``, which the offset removes:

        slope = a,  offset = b - log(N_bonafide / N_spoof),

    so the output is an LLR, valid under any prior, not a posterior for dev's class balance.
    Where the regression's slope would be negative (dev scores that rank spoofs above bona
    fide) or the scores are all equal, the map is ``slope = offset = 0``: every LLR 0, no
    evidence either way (the best fit with a slope not below 0: the objective is convex, so
    its constrained optimum lies on slope 0, where the prior-free offset is 0). Both numbers
    are kept to ``CALIBRATION_DIGITS`` significant digits.

    Parameters
    ----------
    labels : array_like of str
        ``bonafide`` or ``spoof`` per utterance, shape (n,).
    scores : array_like of float
        Finite scores, shape (n,); higher = more bona fide.

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        When a class has no utterance or a score is not finite.
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64).ravel()
    is_bonafide = labels == BONAFIDE
    n_bonafide, n_spoof = int(is_bonafide.sum()), int((labels == SPOOF).sum())
    if n_bonafide == 0 or n_spoof == 0:
        raise InputError("the calibration needs both bona fide and spoofed dev utterances")
    if not np.all(np.isfinite(scores)):
        raise InputError("the calibration needs finite dev scores, and some are NaN or infinite")
    mean, std = float(scores.mean()), float(scores.std())
    if std == 0.0:
        return Calibration(0.0, 0.0)
    regression = LogisticRegression().fit(((scores - mean) / std)[:, None], is_bonafide.astype(int))
    weight, intercept = float(regression.coef_[0, 0]), float(regression.intercept_[0])
    if weight <= 0.0:
        return Calibration(0.0, 0.0)
    slope = weight / std
    offset = intercept - slope * mean - math.log(n_bonafide / n_spoof)
    return Calibration(_significant(slope), _significant(offset))


def check_prior(prior: float) -> float:
    """``prior`` (the prior probability of bona fide) as a float, when 0 < prior < 1.

    Raises
    ------
    ValueError
        Otherwise, saying what it must be.
    """
    value = float(prior)
    if not 0.0 < value < 1.0:  # also refuses NaN
        raise ValueError(
            f"the prior probability of bona fide must lie strictly between 0 and 1, got {prior!r}"
        )
    return value


def posterior_bonafide(llr, prior: float):
    """P(bona fide | score) of log-likelihood ratios ``llr`` under the prior probability of bona
    fide ``prior``: the logistic of ``llr + log(prior / (1 - prior))``.

    Parameters
    ----------
    llr : float or array_like
        Log-likelihood ratios (nats, bona fide over spoof).
    prior : float
        Strictly between 0 and 1 (``check_prior``).

    Returns
    -------
    float or numpy.ndarray
        Probabilities in [0, 1], of ``llr``'s shape.
    """
    prior = check_prior(prior)
    return expit(np.asarray(llr, dtype=np.float64) + math.log(prior / (1.0 - prior)))


def _significant(value: float) -> float:
    """``value`` to ``CALIBRATION_DIGITS`` significant digits (0.0, never -0.0)."""
    return float(f"{value:.{CALIBRATION_DIGITS}g}") + 0.0
