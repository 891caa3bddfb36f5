"""Corpus files as the audit hears them: after a transplanted head, cut to their speech, or both."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepfake_audio.audio import load_audio
from deepfake_audio.audit.transplant import prepend_head
from deepfake_audio.audit.trim import Vad


@dataclass(frozen=True)
class EditedFile:
    """``path``, with the first ``head_s`` of ``donor`` in front, then cut to ``speech`` or by ``vad``."""

    path: str
    donor: str | None = None
    head_s: float = 0.0
    speech: tuple[float, float] | None = None  # seconds, in the file as it stands after the head
    vad: Vad | None = None  # find the speech with the detector instead

    def load(self, sample_rate: int) -> np.ndarray:
        signal = load_audio(self.path, sample_rate)
        if self.donor is not None:
            signal = prepend_head(signal, load_audio(self.donor, sample_rate), round(self.head_s * sample_rate))
        if self.speech is not None:
            start, stop = (round(seconds * sample_rate) for seconds in self.speech)
            signal = signal[start:stop]
        elif self.vad is not None:
            signal = self.vad.trim(signal)
        return signal


def load_edited(edit: EditedFile, sample_rate: int) -> np.ndarray:
    """``edit.load``, as a function for the feature extraction's ``load`` hook."""
    return edit.load(sample_rate)
