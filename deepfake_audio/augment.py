"""Channel augmentation of training audio: RawBoost-style distortions and narrowband/codec degradations.

RawBoost (Tak et al., ICASSP 2022) distorts the waveform three ways, each with random
settings drawn per file: (1) linear and non-linear convolutive noise, the sum of the
signal's first powers each through a random multi-band FIR filter; (2) impulsive,
signal-dependent noise on a random few per cent of the samples; (3) stationary,
signal-independent noise coloured by a random multi-band filter, at a random SNR. The
band limits, filter orders and powers are the paper's defaults for 16 kHz audio. Added
here: the band-limiting of an 8 kHz recorder (resample to 8 kHz and back) and 8-bit μ-law.

Each degradation is applied to a copy with its probability (``AugmentParams``); a copy's
random draws come from its file's row and copy number and the run's seed only, so the same
params give the same audio on every run, in any worker and order. The result keeps the
input's peak level: the models should hear the channel, not a new loudness.

The functions here run in worker processes, so this module imports no model code.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
from scipy import signal as dsp

from deepfake_audio.audio import load_audio
from deepfake_audio.params import AugmentParams

NARROWBAND_RATE = 8000  # Hz: a telephone-band recorder
# RawBoost's defaults (Tak et al., 2022, section 3; their code's args) for 16 kHz audio.
_BANDS = 5  # bands of each random filter
_BAND_HZ = (20.0, 8000.0)  # centre frequencies
_BANDWIDTH_HZ = (100.0, 1000.0)
_TAPS = (10, 100)  # FIR order range
_POWERS = 5  # convolutive: the signal's powers 1..5, each filtered
_IMPULSIVE_SHARE = 0.10  # impulsive: at most this share of the samples
_IMPULSIVE_GAIN = 2.0


@dataclass(frozen=True)
class AugmentedFile:
    """Copy ``copy`` of the training file ``path`` (row ``row`` of the manifest), distorted as ``params`` say."""

    path: str
    row: int
    copy: int
    seed: int
    params: AugmentParams

    def load(self, sample_rate: int) -> np.ndarray:
        signal = load_audio(self.path, sample_rate)
        rng = np.random.default_rng([self.seed, self.row, self.copy])
        return augment(signal, sample_rate, self.params, rng=rng)


def augment(
    signal: np.ndarray, sample_rate: int, params: AugmentParams, *, rng: np.random.Generator
) -> np.ndarray:
    """One augmented copy of ``signal`` (float32 mono at ``sample_rate``), same length and peak level.

    Every degradation draws its decision and settings from ``rng`` whether or not it is
    applied, so turning one on or off leaves the others' draws unchanged.
    """
    x = signal.astype(np.float64)
    peak = float(np.max(np.abs(x), initial=0.0))
    if peak == 0.0:
        return signal.copy()
    x = x / peak
    steps = (
        (params.convolutive, convolutive_noise),
        (params.impulsive, impulsive_noise),
        (params.stationary, lambda x, rate, rng: stationary_noise(x, rate, rng, snr_db=params.snr_db)),
        (params.narrowband, narrowband),
        (params.mulaw, mulaw),
    )
    for probability, step in steps:
        apply = rng.random() < probability
        step_rng = np.random.default_rng(rng.integers(2**63))
        if apply:
            x = step(x, sample_rate, step_rng)
    top = float(np.max(np.abs(x), initial=0.0))
    return (x * (peak / top) if top > 0 else x).astype(np.float32)


def random_band_filter(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """FIR coefficients passing ``_BANDS`` random bands (RawBoost's multi-band filter)."""
    nyquist = sample_rate / 2
    taps = np.zeros(2 * _TAPS[1] + 1)
    for _ in range(_BANDS):
        centre = rng.uniform(*_BAND_HZ)
        width = rng.uniform(*_BANDWIDTH_HZ)
        order = int(rng.integers(_TAPS[0], _TAPS[1] + 1))
        low = max(centre - width / 2, 1e-3 * nyquist)
        high = min(centre + width / 2, 0.999 * nyquist)
        if high <= low:
            continue
        band = dsp.firwin(2 * (order // 2) + 1, [low, high], pass_zero=False, fs=sample_rate)
        start = _TAPS[1] - len(band) // 2
        taps[start : start + len(band)] += band
    return taps


def convolutive_noise(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """RawBoost 1: the sum of x, x², … x⁵, each through its own random multi-band filter."""
    out = np.zeros_like(x)
    for power in range(1, _POWERS + 1):
        out += dsp.lfilter(random_band_filter(sample_rate, rng), 1.0, x**power)
    return _peak_normalised(out - out.mean())


def impulsive_noise(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """RawBoost 2: up to 10 % of the samples, chosen at random, pushed by noise proportional to themselves."""
    count = int(len(x) * rng.uniform(0.0, _IMPULSIVE_SHARE))
    where = rng.permutation(len(x))[:count]
    factor = (2 * rng.random(count) - 1) * (2 * rng.random(count) - 1)
    out = x.copy()
    out[where] += _IMPULSIVE_GAIN * x[where] * factor
    return out


def stationary_noise(
    x: np.ndarray, sample_rate: int, rng: np.random.Generator, *, snr_db: tuple[float, float]
) -> np.ndarray:
    """RawBoost 3: white noise through a random multi-band filter, added at a random SNR in ``snr_db``."""
    noise = dsp.lfilter(random_band_filter(sample_rate, rng), 1.0, rng.standard_normal(len(x)))
    snr = rng.uniform(*snr_db)
    noise_norm = np.linalg.norm(noise)
    if noise_norm == 0.0:
        return x
    return x + noise * (np.linalg.norm(x) / noise_norm / 10 ** (snr / 20))


def narrowband(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """The signal as an 8 kHz recorder keeps it: resampled to 8 kHz and back."""
    if sample_rate <= NARROWBAND_RATE:
        return x
    low = librosa.resample(x, orig_sr=sample_rate, target_sr=NARROWBAND_RATE)
    return librosa.util.fix_length(
        librosa.resample(low, orig_sr=NARROWBAND_RATE, target_sr=sample_rate), size=len(x)
    )


def mulaw(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """8-bit μ-law (G.711) coding and decoding."""
    clipped = np.clip(x, -1.0, 1.0)
    return librosa.mu_expand(librosa.mu_compress(clipped, mu=255, quantize=True), mu=255, quantize=True)


def _peak_normalised(x: np.ndarray) -> np.ndarray:
    top = float(np.max(np.abs(x), initial=0.0))
    return x / top if top > 0 else x
