"""Frequency weightings applied to a power spectrum, and the decibel scale.

The matrices depend only on parameters, so each is built once per process and shared
(read-only) by every utterance.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise

import librosa
import numpy as np

_POWER_FLOOR = 1e-10  # -100 dB: keeps the log of silent bins finite


def to_db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, _POWER_FLOOR))


@lru_cache(maxsize=8)
def fft_frequencies(sample_rate: int, n_fft: int) -> np.ndarray:
    """Centre frequency of each STFT bin, float32 so that weighted sums over bins stay float32."""
    return _read_only(librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft).astype(np.float32))


@lru_cache(maxsize=8)
def mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) Slaney-normalised Mel filters from 0 Hz to Nyquist."""
    return _read_only(librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels))


def mel_frequencies(sample_rate: int, n_mels: int) -> np.ndarray:
    """Centre frequency of each filter of ``mel_basis`` (its edges are the first and last values dropped)."""
    return librosa.mel_frequencies(n_mels + 2, fmin=0.0, fmax=sample_rate / 2)[1:-1]


@lru_cache(maxsize=8)
def linear_basis(sample_rate: int, n_fft: int, n_filters: int) -> np.ndarray:
    """(n_filters, n_fft // 2 + 1) unit-height triangles, centres equally spaced from 0 Hz to Nyquist."""
    edges = np.linspace(0.0, sample_rate / 2, n_filters + 2)
    freqs = fft_frequencies(sample_rate, n_fft)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - left) / (centre - left)
    falling = (right - freqs) / (right - centre)
    return _read_only(np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32))


@lru_cache(maxsize=8)
def band_masks(sample_rate: int, n_fft: int, edges_hz: tuple[float, ...]) -> np.ndarray:
    """(n_bands, n_fft // 2 + 1) 0/1 rows selecting the FFT bins in [low, high).

    The last band also takes the bin at its top edge (the Nyquist bin, with the default edges).
    """
    freqs = fft_frequencies(sample_rate, n_fft)
    masks = np.array([(freqs >= low) & (freqs < high) for low, high in pairwise(edges_hz)])
    masks[-1] |= freqs == edges_hz[-1]
    return _read_only(masks.astype(np.float32))


def _read_only(matrix: np.ndarray) -> np.ndarray:
    matrix.flags.writeable = False
    return matrix
