"""Per-utterance analysis: named summary features and a fixed-size log-Mel spectrogram.

Everything is computed from one short-time Fourier transform per utterance.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import librosa
import numpy as np

from deepfake_audio.params import FeaturesParams, SpectrogramParams

SPECTRAL_DESCRIPTORS = ("centroid", "bandwidth", "rolloff", "flatness", "zcr", "rms")
_DELTA_ORDERS = {"": 0, "_delta": 1, "_delta2": 2}
_STATISTICS = ("mean", "std")
_LOG_FLOOR = 1e-10


@dataclass(frozen=True)
class Analysis:
    features: np.ndarray  # float64, one value per name in feature_names()
    log_mel: np.ndarray  # float16, (n_mels, n_frames)


def feature_names(params: FeaturesParams) -> list[str]:
    """Column names of the utterance features, in the order ``analyse`` returns them."""
    names = [
        f"mfcc_{coeff}{suffix}_{stat}"
        for suffix in _DELTA_ORDERS
        for coeff in range(params.n_mfcc)
        for stat in _STATISTICS
    ]
    names += [f"spectral_{name}_{stat}" for name in SPECTRAL_DESCRIPTORS for stat in _STATISTICS]
    return names


def analyse(signal: np.ndarray, sample_rate: int, params: FeaturesParams) -> Analysis:
    power = np.abs(
        librosa.stft(signal, n_fft=params.n_fft, hop_length=params.hop_length,
                     win_length=params.win_length, center=True)
    ) ** 2
    mel = _mel_basis(sample_rate, params) @ power
    log_mel = 10.0 * np.log10(np.maximum(mel, _LOG_FLOOR))
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=params.n_mfcc)

    columns = []
    for order in _DELTA_ORDERS.values():
        track = mfcc if order == 0 else _delta(mfcc, order)
        columns.append(np.stack([track.mean(axis=1), track.std(axis=1)], axis=1).ravel())
    columns.append(_spectral_statistics(signal, power, sample_rate, params))
    return Analysis(
        features=np.concatenate(columns),
        log_mel=fix_frames(log_mel, params.spectrogram).astype(np.float16),
    )


def fix_frames(log_mel: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Crop or pad a (bands, frames) spectrogram to ``params.n_frames``, then normalise it.

    Cropping keeps the start. Padding repeats the utterance or appends the quietest value
    (silence). Normalisation is one mean and one scale per utterance, so the gain goes but
    the spectral shape, which carries the replay cues, stays.
    """
    frames = log_mel.shape[1]
    if frames >= params.n_frames:
        fixed = log_mel[:, : params.n_frames]
    elif params.pad == "repeat":
        fixed = np.tile(log_mel, (1, -(-params.n_frames // frames)))[:, : params.n_frames]
    else:
        fixed = np.full((log_mel.shape[0], params.n_frames), log_mel.min(), dtype=log_mel.dtype)
        fixed[:, :frames] = log_mel
    if params.normalize == "utterance":
        fixed = (fixed - fixed.mean()) / max(float(fixed.std()), 1e-6)
    return fixed


def _spectral_statistics(signal, power, sample_rate, params: FeaturesParams) -> np.ndarray:
    magnitude = np.sqrt(power)
    freq = dict(sr=sample_rate, S=magnitude, n_fft=params.n_fft, hop_length=params.hop_length)
    tracks = {
        "centroid": librosa.feature.spectral_centroid(**freq),
        "bandwidth": librosa.feature.spectral_bandwidth(**freq),
        "rolloff": librosa.feature.spectral_rolloff(**freq),
        "flatness": librosa.feature.spectral_flatness(S=magnitude),
        "zcr": librosa.feature.zero_crossing_rate(
            signal, frame_length=params.win_length, hop_length=params.hop_length),
        "rms": librosa.feature.rms(S=magnitude, frame_length=params.n_fft),
    }
    return np.array([
        value for name in SPECTRAL_DESCRIPTORS for value in (tracks[name].mean(), tracks[name].std())
    ])


def _delta(track: np.ndarray, order: int) -> np.ndarray:
    # librosa's default 9-frame window needs at least 9 frames; short clips use a smaller one.
    width = min(9, track.shape[1] if track.shape[1] % 2 else track.shape[1] - 1)
    if width < 3:
        return np.zeros_like(track)
    return librosa.feature.delta(track, order=order, width=width)


@lru_cache(maxsize=8)
def _mel_basis_cached(sample_rate, n_fft, n_mels, fmin, fmax) -> np.ndarray:
    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)


def _mel_basis(sample_rate: int, params: FeaturesParams) -> np.ndarray:
    return _mel_basis_cached(sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax)
