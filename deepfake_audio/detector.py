"""Score new recordings with the trained models: the library behind `deepfake-audio predict`.

    from deepfake_audio import Detector
    prediction = Detector.load("models").score("call.wav")

Everything that turns audio into model input comes from the model card stored inside
the model file (sample rate, feature params, normalisation statistics), never from the
current params.yaml, so a model scores new files exactly as it scored its corpus. The card's
calibration turns a score into a log-likelihood ratio, and with a prior into a probability:

    Detector.load("models").score("call.wav", prior=0.5).calibrated
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from deepfake_audio.audio import AudioError, audio_windows
from deepfake_audio.errors import InputError
from deepfake_audio.features.analysis import Analysis, analyse_batch, feature_names
from deepfake_audio.features.frames import frame_features
from deepfake_audio.models.calibration import Calibration, check_prior, posterior_bonafide
from deepfake_audio.models.card import ModelCard
from deepfake_audio.models.files import read_card
from deepfake_audio.models.trained import load_models, model_path, model_scores, models_needed
from deepfake_audio.params import AnalysisSettings, VadParams
from deepfake_audio.speech import Vad
from deepfake_audio.vocabulary import BONAFIDE, FRACTION_DECIMALS, MODEL_NAMES, SCORE_DECIMALS, SPOOF

if TYPE_CHECKING:  # imported when first used: it loads Keras
    from deepfake_audio.explain.gradcam import GradCam

DEFAULT_WINDOW_S = 30.0
MAX_WINDOW_S = 600.0  # a longer window of a file at a high sample rate would not fit in memory
# Below this RMS (dBFS, after removing any DC offset) a window holds no sound worth scoring.
SOUND_FLOOR_DB = -70.0


@dataclass(frozen=True)
class Calibrated:
    """A file's score as evidence, through the model card's calibration.

    Attributes
    ----------
    llr : float
        The log-likelihood ratio (nats, bona fide over spoof) of the score, ``slope * score +
        offset`` with the card's calibration (fitted on dev), rounded to ``SCORE_DECIMALS``.
    prior_bonafide : float
        The prior probability of bona fide that ``p_bonafide`` assumes.
    p_bonafide : float
        The posterior probability of bona fide under that prior, the logistic of ``llr +
        log(prior_bonafide / (1 - prior_bonafide))``, rounded to ``FRACTION_DECIMALS``.
    """

    llr: float
    prior_bonafide: float
    p_bonafide: float


@dataclass(frozen=True)
class Prediction:
    """One file's result.

    Attributes
    ----------
    path : str
        The file, as given to ``Detector.score``.
    model : str
        ``svc``, ``cnn``, ``gmm`` or ``fusion``.
    score : float
        Mean of the scored windows' scores, rounded to ``SCORE_DECIMALS``; higher = more bona
        fide (the SVC's decision function, the CNN's logit, the GMM's mean log-likelihood ratio, the
        fusion's log-odds).
    threshold : float
        Spoof at or below it.
    decision : str
        ``bonafide`` or ``spoof``.
    duration_s : float
        Length of the file in seconds, rounded to the millisecond.
    windows : int
        Windows scored (those with sound).
    calibrated : Calibrated or None
        The score's LLR and probability of bona fide under a prior, when asked for
        (``Detector.score(..., prior=P)``).
    """

    path: str
    model: str
    score: float
    threshold: float
    decision: str
    duration_s: float
    windows: int
    calibrated: Calibrated | None = None

    def as_dict(self) -> dict:
        """The fields by name, in the order above, those of ``calibrated`` in place of it (none
        when it is None)."""
        fields = asdict(self)
        calibrated = fields.pop("calibrated")
        return {**fields, **(calibrated or {})}


class Detector:
    """A trained countermeasure, loaded once, scoring files one after another.

    Build it with ``Detector.load``.

    Parameters
    ----------
    model : str
        ``svc``, ``cnn``, ``gmm`` or ``fusion``: the model whose score is reported.
    card : ModelCard
        That model's card: sample rate, feature params, normalisation statistics, threshold.
    models : dict
        The loaded models by name; ``fusion`` needs the single models as well.
    window_s : float
        Length (s) of the windows a file is scored in; its score is their mean.
    """

    def __init__(self, model: str, card: ModelCard, models: dict, *, window_s: float = DEFAULT_WINDOW_S):
        self.model, self.card, self.models, self.window_s = model, card, models, window_s
        # Models trained on trimmed audio (features.trim, or audit.retrain's card.trim) hear
        # only the speech of each window.
        features = card.features_params
        if features.trim is None and card.trim_params is not None:
            features = features.model_copy(update={"trim": card.trim_params})
        self.settings = AnalysisSettings(card.sample_rate, features)
        self.stats = card.stats
        # Models call anything bona fide when there is nothing to hear; such input is refused.
        self.sound = Vad(
            features.trim or VadParams(), card.sample_rate, features.win_length, features.hop_length
        )
        self.columns = feature_names(self.settings.features)
        # The GMM's frames, as its card gives them (the fusion's card carries them too).
        self.frames = card.frames_params if "gmm" in models else None
        self._gradcam: GradCam | None = None  # built on the first explain

    @classmethod
    def load(
        cls, models_dir: str | Path = "models", model: str = "cnn", window_s: float = DEFAULT_WINDOW_S
    ) -> Detector:
        """Load a model, and the models it needs, from ``models_dir``.

        Parameters
        ----------
        models_dir : str or Path
            The folder the train stages write (``models``).
        model : str
            ``svc``, ``cnn``, ``gmm`` or ``fusion`` (which needs the other three).
        window_s : float
            Window length (s), from the model's minimum duration to ``MAX_WINDOW_S``.

        Returns
        -------
        Detector

        Raises
        ------
        InputError
            An unknown model, a missing or malformed model file, models trained on different
            features, or a window out of range.
        """
        if model not in MODEL_NAMES:
            raise InputError(f"unknown model {model!r}: choose one of {', '.join(MODEL_NAMES)}")
        models_dir = Path(models_dir)
        needed = models_needed(model)
        cards = {name: read_card(model_path(models_dir, name)) for name in needed}
        preprocessing = {name: (card.sample_rate, card.features) for name, card in cards.items()}
        if len({repr(value) for value in preprocessing.values()}) > 1:
            raise InputError(
                f"{models_dir}: the models were trained on different features or sample rates; "
                "retrain them together with `dvc repro`"
            )
        shortest = cards[model].min_duration_s
        if not shortest <= window_s <= MAX_WINDOW_S:
            raise InputError(
                f"the window ({window_s:g} s) must be at least the model's minimum duration "
                f"({shortest:g} s) and at most {MAX_WINDOW_S:g} s"
            )
        return cls(model, cards[model], load_models(models_dir, needed), window_s=window_s)

    @property
    def threshold(self) -> float:
        """The decision threshold of the model card (the dev EER threshold, as ``trained.decision_threshold``)."""
        return self.card.threshold

    @property
    def calibration(self) -> Calibration:
        """The model card's map from score to log-likelihood ratio (as ``trained.decision_calibration``)."""
        return self.card.score_calibration

    def score(
        self, path: str | Path, threshold: float | None = None, *, prior: float | None = None
    ) -> Prediction:
        """Score one audio file.

        Parameters
        ----------
        path : str or Path
            Any format libsndfile reads; resampled to the model's sample rate.
        threshold : float, optional
            Spoof at or below it; by default the model's ``threshold``.
        prior : float, optional
            The prior probability of bona fide, strictly between 0 and 1: when given, the
            prediction's ``calibrated`` holds the score's LLR and the probability of bona fide
            under this prior. The decision stays the threshold's.

        Returns
        -------
        Prediction

        Raises
        ------
        AudioError
            (an InputError) when the file cannot be read or holds no sound to score.
        ValueError
            When ``prior`` is not strictly between 0 and 1.
        """
        return self._score(path, threshold, prior)[0]

    def _score(
        self, path: str | Path, threshold: float | None, prior: float | None
    ) -> tuple[Prediction, Analysis]:
        """The prediction, and the analysis of the file's first window (for ``explain``)."""
        threshold = self.threshold if threshold is None else float(threshold)
        prior = None if prior is None else check_prior(prior)
        scores: list[float] = []
        samples = 0
        first: Analysis | None = None
        for signal in audio_windows(
            path, self.card.sample_rate, window_s=self.window_s, min_duration_s=self.card.min_duration_s
        ):
            samples += signal.size
            if not self.has_sound(signal):  # a stretch of silence in a long file is not evidence either way
                continue
            analysis = self.analyse(signal)
            if first is None:
                first = analysis
            scores.append(self.score_analysis(analysis, frames=self.frames_of(signal)))
        if not scores:
            raise AudioError(
                path,
                f"no sound to score: nothing of {self.sound.params.min_speech_ms:g} ms or longer "
                f"above {SOUND_FLOOR_DB:g} dBFS (silence, clicks, a DC offset or a near-zero "
                "signal)",
            )
        score = round(float(np.mean(scores)), SCORE_DECIMALS)
        if not np.isfinite(score):  # a fault of the model, not of the file
            raise FloatingPointError(f"the {self.model} model gave a non-finite score")
        prediction = Prediction(
            str(path),
            self.model,
            score,
            threshold,
            SPOOF if score <= threshold else BONAFIDE,
            round(samples / self.card.sample_rate, 3),
            len(scores),
            None if prior is None else self.calibrated(score, prior),
        )
        assert first is not None  # the analysis behind the first score
        return prediction, first

    def calibrated(self, score: float, prior: float) -> Calibrated:
        """The LLR of ``score`` (a file's, as ``Prediction.score``) and the probability of bona
        fide under the prior probability of bona fide ``prior``."""
        llr = round(float(self.calibration.llr(score)), SCORE_DECIMALS)
        probability = round(float(posterior_bonafide(llr, prior)), FRACTION_DECIMALS)
        return Calibrated(llr, check_prior(prior), probability)

    def has_sound(self, signal: np.ndarray) -> bool:
        """Whether a window holds a stretch of sound: the energy detector's voiced run, above a floor.

        Not a speech detector: any sustained sound (noise, a tone) passes; DC, silence,
        lone clicks and signals near the quantisation floor do not.

        Parameters
        ----------
        signal : numpy.ndarray
            float32 mono window, shape (samples,), at the model's sample rate.

        Returns
        -------
        bool
        """
        centred = signal - signal.mean(dtype=np.float64)
        rms = float(np.sqrt(np.mean(np.square(centred, dtype=np.float64))))
        return (
            rms > 10 ** (SOUND_FLOOR_DB / 20)
            and self.sound.speech_bounds(centred.astype(np.float32)) is not None
        )

    def analyse(self, signal: np.ndarray) -> Analysis:
        """Features and CNN input of one window, as the featurize stage computes them.

        Models trained on trimmed audio hear only the window's speech.

        Parameters
        ----------
        signal : numpy.ndarray
            float32 mono window, shape (samples,), at the model's sample rate.

        Returns
        -------
        Analysis
            ``features`` float64 (n_features,); ``spectrogram`` float16 (bins, frames),
            normalised as the model's training input was.
        """
        analysis = analyse_batch([signal], self.settings)[0]
        if self.stats is None:
            return analysis
        return Analysis(analysis.features, self.stats.apply(analysis.spectrogram))

    def frames_of(self, signal: np.ndarray) -> np.ndarray | None:
        """The GMM's input of one window (float32 (frames, values)), or None when no GMM scores it."""
        if self.frames is None:
            return None
        return frame_features([signal], self.settings, self.frames)[0]

    def score_analysis(self, analysis: Analysis, *, frames: np.ndarray | None = None) -> float:
        """The model's score of one analysed window (higher = more bona fide), not rounded.

        Parameters
        ----------
        analysis : Analysis
            As ``analyse`` returns it.
        frames : numpy.ndarray, optional
            The window's ``frames_of``, for a model that needs the GMM.

        Returns
        -------
        float
        """
        features = pd.DataFrame([analysis.features], columns=self.columns)
        scores = model_scores(
            self.models, features, analysis.spectrogram[None], frames=None if frames is None else [frames]
        )
        return float(scores[self.model].iloc[0])

    def explain(
        self, path: str | Path, out_png: Path, threshold: float | None = None, *, prior: float | None = None
    ) -> Prediction:
        """Score ``path`` and draw the CNN's Grad-CAM over its first window's spectrogram as a PNG.

        The map shows the CNN's evidence for the decision the prediction states; the window
        is the first one with sound.

        Parameters
        ----------
        path : str or Path
            The audio file, as for ``score``.
        out_png : Path
            Where the figure is written.
        threshold, prior : float, optional
            As for ``score``.

        Returns
        -------
        Prediction
            As ``score`` returns it.

        Raises
        ------
        InputError
            For the ``svc`` model (it has no CNN), or as ``score`` raises.
        """
        from deepfake_audio.explain.figures import gradcam_png
        from deepfake_audio.explain.gradcam import GradCam
        from deepfake_audio.features.spectrogram import frame_times, real_frames, spectrogram_frequencies

        if "cnn" not in self.models:
            raise InputError("--explain draws Grad-CAM maps of the CNN; use --model cnn or fusion")
        if self._gradcam is None:
            self._gradcam = GradCam(self.models["cnn"])
        prediction, first = self._score(path, threshold, prior)
        stored = first.spectrogram.astype(np.float32)
        towards_bonafide = prediction.decision == BONAFIDE
        shown = slice(None, int(real_frames(stored[None])[0]))  # without padding, the input ends there
        spectrogram, cam = (
            stored[:, shown],
            self._gradcam.maps(stored[None], [0], towards_bonafide)[0][:, shown],
        )
        title = (
            f"{Path(path).name}: {self.model} score {prediction.score:.3f}, {prediction.decision}\n"
            f"CNN evidence for {'bona fide' if towards_bonafide else 'spoof'}"
        )
        gradcam_png(
            spectrogram,
            cam,
            frequencies=spectrogram_frequencies(self.settings),
            times=frame_times(spectrogram.shape[1], self.settings),
            title=title,
            path=out_png,
        )
        return prediction
