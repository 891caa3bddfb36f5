"""Score new recordings with the trained models: the library behind `deepfake-audio predict`.

    from deepfake_audio import Detector
    prediction = Detector.load("models").score("call.wav")

Everything that turns audio into model input comes from the model card stored inside
the model file (sample rate, feature params, normalisation statistics), never from the
current params.yaml, so a model scores new files exactly as it scored its corpus.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from deepfake_audio.audio import AudioError, audio_windows
from deepfake_audio.audit.trim import Vad
from deepfake_audio.errors import InputError
from deepfake_audio.features.analysis import Analysis, analyse_batch, feature_names
from deepfake_audio.metrics import SCORE_DECIMALS
from deepfake_audio.models.card import ModelCard
from deepfake_audio.models.files import read_card
from deepfake_audio.models.trained import MODEL_FILES, load_models, model_scores
from deepfake_audio.params import VadParams

MODELS = ("svc", "cnn", "fusion")
DEFAULT_WINDOW_S = 30.0
MAX_WINDOW_S = 600.0  # a longer window of a file at a high sample rate would not fit in memory
# Below this RMS (dBFS, after removing any DC offset) a window holds no sound worth scoring.
SOUND_FLOOR_DB = -70.0
_NEEDS = {"svc": ("svc",), "cnn": ("cnn",), "fusion": ("svc", "cnn", "fusion")}


@dataclass(frozen=True)
class Prediction:
    """One file's result. ``score``: higher = more bona fide; spoof when at or below ``threshold``."""

    path: str
    model: str
    score: float
    threshold: float
    decision: str  # bonafide | spoof
    duration_s: float
    windows: int  # windows scored (those with sound); the score is their mean

    def as_dict(self) -> dict:
        return asdict(self)


class Detector:
    """A trained countermeasure, loaded once, scoring files one after another."""

    def __init__(self, model: str, card: ModelCard, models: dict, window_s: float = DEFAULT_WINDOW_S):
        self.model, self.card, self.models, self.window_s = model, card, models, window_s
        self.features_params = card.features_params
        self.stats = card.stats
        # Models retrained on trimmed audio (audit.retrain) hear only the speech of each window.
        trim, features = card.trim_params, self.features_params
        self.vad = (
            None if trim is None else Vad(trim, card.sample_rate, features.win_length, features.hop_length)
        )
        # Models call anything bona fide when there is nothing to hear; such input is refused.
        self.sound = Vad(trim or VadParams(), card.sample_rate, features.win_length, features.hop_length)
        self.columns = feature_names(self.features_params)
        self._gradcam = None  # built on the first explain

    @classmethod
    def load(
        cls, models_dir: str | Path = "models", model: str = "cnn", window_s: float = DEFAULT_WINDOW_S
    ) -> Detector:
        """The model ``svc``, ``cnn`` or ``fusion`` (which needs the other two) from ``models_dir``."""
        if model not in MODELS:
            raise InputError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
        models_dir = Path(models_dir)
        cards = {name: read_card(models_dir / MODEL_FILES[name]) for name in _NEEDS[model]}
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
        return cls(model, cards[model], load_models(models_dir, _NEEDS[model]), window_s)

    @property
    def threshold(self) -> float:
        """The dev EER threshold saved at training."""
        return self.card.threshold

    def score(self, path: str | Path, threshold: float | None = None) -> Prediction:
        """Score one file (AudioError, an InputError, when it cannot be scored)."""
        return self._score(path, threshold)[0]

    def _score(self, path: str | Path, threshold: float | None) -> tuple[Prediction, Analysis]:
        """The prediction, and the analysis of the file's first window (for ``explain``)."""
        threshold = self.threshold if threshold is None else float(threshold)
        scores, samples, first = [], 0, None
        for signal in audio_windows(path, self.card.sample_rate, self.window_s, self.card.min_duration_s):
            samples += signal.size
            if not self.has_sound(signal):  # a stretch of silence in a long file is not evidence either way
                continue
            analysis = self.analyse(signal)
            if first is None:
                first = analysis
            scores.append(self.score_analysis(analysis))
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
            "spoof" if score <= threshold else "bonafide",
            round(samples / self.card.sample_rate, 3),
            len(scores),
        )
        return prediction, first

    def has_sound(self, signal: np.ndarray) -> bool:
        """Whether a window holds a stretch of sound: the energy detector's voiced run, above a floor.

        Not a speech detector: any sustained sound (noise, a tone) passes; DC, silence,
        lone clicks and signals near the quantisation floor do not.
        """
        centred = signal - signal.mean(dtype=np.float64)
        rms = float(np.sqrt(np.mean(np.square(centred, dtype=np.float64))))
        return (
            rms > 10 ** (SOUND_FLOOR_DB / 20)
            and self.sound.speech_bounds(centred.astype(np.float32)) is not None
        )

    def analyse(self, signal: np.ndarray) -> Analysis:
        """Features and CNN input of one window, as the featurize stage computes them."""
        if self.vad is not None:
            signal = self.vad.trim(signal)
        analysis = analyse_batch([signal], self.card.sample_rate, self.features_params)[0]
        if self.stats is None:
            return analysis
        return Analysis(analysis.features, self.stats.apply(analysis.spectrogram).astype(np.float16))

    def score_analysis(self, analysis: Analysis) -> float:
        features = pd.DataFrame([analysis.features], columns=self.columns)
        return float(model_scores(self.models, features, analysis.spectrogram[None])[self.model].iloc[0])

    def explain(self, path: str | Path, out_png: Path, threshold: float | None = None) -> Prediction:
        """Score ``path`` and draw the CNN's Grad-CAM over its first window's spectrogram as a PNG.

        The map shows the CNN's evidence for the decision the prediction states.
        """
        from deepfake_audio.explain.figures import gradcam_png
        from deepfake_audio.explain.gradcam import GradCam
        from deepfake_audio.features.spectrogram import frame_times, spectrogram_frequencies

        if "cnn" not in self.models:
            raise InputError("--explain draws Grad-CAM maps of the CNN; use --model cnn or fusion")
        if self._gradcam is None:
            self._gradcam = GradCam(self.models["cnn"])
        prediction, first = self._score(path, threshold)
        spectrogram = first.spectrogram.astype(np.float32)
        towards_bonafide = prediction.decision == "bonafide"
        cam = self._gradcam.maps(spectrogram[None], [0], towards_bonafide)[0]
        title = (
            f"{Path(path).name}: {self.model} score {prediction.score:.3f}, {prediction.decision}\n"
            f"CNN evidence for {'bona fide' if towards_bonafide else 'spoof'}"
        )
        gradcam_png(
            spectrogram,
            cam,
            spectrogram_frequencies(self.card.sample_rate, self.features_params),
            frame_times(spectrogram.shape[1], self.card.sample_rate, self.features_params),
            title,
            out_png,
        )
        return prediction
