"""Where the speech of a file lies: an energy voice activity detector."""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
from scipy.ndimage import uniform_filter1d

from deepfake_audio.params import VadParams


@dataclass(frozen=True)
class Vad:
    """The energy detector with its frames (the features' STFT frames)."""

    params: VadParams
    sample_rate: int
    frame_length: int
    hop_length: int

    def speech_bounds(self, signal: np.ndarray) -> tuple[int, int] | None:
        """First and one-past-last sample of the speech; None when no voiced run is long enough.

        librosa's energy split gives the voiced intervals: frames within ``top_db`` of the
        loudest stretch of ``min_speech_ms`` (a stretch, not a frame, so that one click
        louder than the speech neither sets the bar nor counts as speech). Intervals shorter
        than ``min_speech_ms`` are bursts and dropped. The edges are accurate to a frame.
        """
        intervals = librosa.effects.split(
            signal,
            top_db=self.params.top_db,
            ref=self._reference,
            frame_length=self.frame_length,
            hop_length=self.hop_length,
        )
        shortest = self.params.min_speech_ms / 1000 * self.sample_rate
        speech = [(start, stop) for start, stop in intervals if stop - start >= shortest]
        if not speech:
            return None
        return int(speech[0][0]), int(speech[-1][1])

    def _reference(self, power: np.ndarray) -> float:
        """The frame power of the loudest stretch of ``min_speech_ms``."""
        frames = max(1, round(self.params.min_speech_ms / 1000 * self.sample_rate / self.hop_length))
        return float(np.max(uniform_filter1d(power, frames, axis=-1, mode="nearest")))

    def trim(self, signal: np.ndarray) -> np.ndarray:
        """The signal from the start to the end of its speech (whole when none is found)."""
        bounds = self.speech_bounds(signal)
        return signal if bounds is None else signal[bounds[0] : bounds[1]]
