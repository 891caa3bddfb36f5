"""Reading audio: any format libsndfile reads, returned as float32 mono at a given rate."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from deepfake_audio.errors import InputError


class AudioError(InputError):
    """An audio file cannot be read or holds no usable signal."""


def load_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Return the file's samples as float32 in [-1, 1], downmixed to mono, at ``sample_rate``."""
    try:
        signal, file_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: cannot read audio: {err}") from None
    signal = signal.mean(axis=1)
    if signal.size == 0:
        raise AudioError(f"{path}: audio is empty")
    if not np.all(np.isfinite(signal)):
        raise AudioError(f"{path}: audio contains NaN or Inf samples")
    if file_rate != sample_rate:
        signal = librosa.resample(signal, orig_sr=file_rate, target_sr=sample_rate, res_type="soxr_hq")
    return signal.astype(np.float32, copy=False)
