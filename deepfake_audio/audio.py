"""Reading audio: any format libsndfile reads, returned as float32 mono at a given rate."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from deepfake_audio.errors import InputError


class AudioError(InputError):
    """An audio file cannot be read or holds no usable signal."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


def read_mono(path: str | Path) -> tuple[np.ndarray, int]:
    """The file's samples as float32 in [-1, 1], downmixed to mono, and its sample rate."""
    try:
        signal, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(path, f"cannot read audio: {err}") from None
    signal = signal.mean(axis=1)
    if signal.size == 0:
        raise AudioError(path, "audio is empty")
    if not np.all(np.isfinite(signal)):
        raise AudioError(path, "audio contains NaN or Inf samples")
    return signal, rate


def load_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read a file as float32 mono, resampled to ``sample_rate``."""
    signal, file_rate = read_mono(path)
    if file_rate != sample_rate:
        signal = librosa.resample(signal, orig_sr=file_rate, target_sr=sample_rate, res_type="soxr_hq")
    return signal.astype(np.float32, copy=False)


def inspect_audio(path: str | Path, min_duration_s: float) -> tuple[float, int]:
    """Duration (s) and sample rate of a usable file; AudioError says why a file is unusable."""
    signal, rate = read_mono(path)
    duration = signal.size / rate
    if duration < min_duration_s:
        raise AudioError(path, f"too short: {duration:.3f} s < {min_duration_s:g} s")
    if not np.any(signal):
        raise AudioError(path, "silent: every sample is zero")
    return duration, rate
