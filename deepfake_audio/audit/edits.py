"""Corpus files as the audit hears them: after a transplanted head, cut to their speech, or both.

The functions here run in worker processes, so this module imports no model code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from deepfake_audio.audio import load_audio
from deepfake_audio.audit.transplant import prepend_head
from deepfake_audio.speech import Vad


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
            signal = prepend_head(
                signal, load_audio(self.donor, sample_rate), round(self.head_s * sample_rate)
            )
        if self.speech is not None:
            start, stop = (round(seconds * sample_rate) for seconds in self.speech)
            signal = signal[start:stop]
        elif self.vad is not None:
            signal = self.vad.trim(signal)
        return signal


def speech_spans(paths: list[str], vad: Vad) -> list[tuple[float, float] | None]:
    """Where ``vad`` finds the speech of each file (seconds), None where it finds none."""
    with threadpool_limits(limits=1, user_api="blas"):
        spans = []
        for path in paths:
            bounds = vad.speech_bounds(load_audio(path, vad.sample_rate))
            spans.append(
                None if bounds is None else (bounds[0] / vad.sample_rate, bounds[1] / vad.sample_rate)
            )
        return spans
