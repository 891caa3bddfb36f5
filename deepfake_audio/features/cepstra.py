"""Cepstral coefficients: MFCC and LFCC from the shared power spectrum, CQCC from a constant-Q transform.

Each is the type-II orthonormal DCT of a log (dB) spectrum, as in ``librosa.feature.mfcc``.
"""

from __future__ import annotations

from functools import lru_cache

import librosa
import numpy as np
import scipy.fft

from deepfake_audio.features.filterbanks import linear_basis, mel_basis, to_db
from deepfake_audio.params import FeaturesParams


def mfcc(power: np.ndarray, sample_rate: int, params: FeaturesParams) -> np.ndarray:
    bands = mel_basis(sample_rate, params.n_fft, params.handcrafted.n_mels) @ power
    return _dct(to_db(bands), params.handcrafted.n_cepstra)


def lfcc(power: np.ndarray, sample_rate: int, params: FeaturesParams) -> np.ndarray:
    bands = linear_basis(sample_rate, params.n_fft, params.handcrafted.n_linear) @ power
    return _dct(to_db(bands), params.handcrafted.n_cepstra)


def cqcc_batch(signals: list[np.ndarray], sample_rate: int, params: FeaturesParams) -> list[np.ndarray]:
    """CQCC (Todisco et al., 2017) of each signal: (n_cepstra, 1 + len // hop_length) per signal.

    librosa rebuilds the constant-Q filters on every call, which costs more than the
    transform of a short file, so the signals go through in one zero-padded batch.
    """
    settings = params.handcrafted
    n_bins = cqt_octaves(sample_rate, settings.cqt_fmin) * settings.cqt_bins_per_octave
    longest_filter = _longest_cqt_filter(sample_rate, settings.cqt_fmin, settings.cqt_bins_per_octave, n_bins)
    # A frame centred on a signal's last sample reaches half a filter beyond it: with at
    # least that many zeros after every signal, its frames do not depend on the batch.
    # librosa also warns about any input shorter than its longest filter's FFT size.
    length = max(
        max(len(signal) for signal in signals) + longest_filter // 2,
        2 ** int(np.ceil(np.log2(longest_filter))),
    )
    batch = np.zeros((len(signals), length), dtype=np.float32)
    for row, signal in enumerate(signals):
        batch[row, : len(signal)] = signal
    power = (
        np.abs(
            librosa.cqt(
                batch,
                sr=sample_rate,
                hop_length=params.hop_length,
                fmin=settings.cqt_fmin,
                n_bins=n_bins,
                bins_per_octave=settings.cqt_bins_per_octave,
                tuning=0.0,
            )
        )
        ** 2
    )
    transform = _cqcc_transform(
        sample_rate, settings.cqt_fmin, settings.cqt_bins_per_octave, n_bins, settings.n_cepstra
    )
    return [
        transform @ to_db(power[row, :, : 1 + len(signal) // params.hop_length])
        for row, signal in enumerate(signals)
    ]


def cqt_octaves(sample_rate: int, fmin: float) -> int:
    """Whole octaves from ``fmin`` up to Nyquist."""
    return int(np.floor(np.log2(sample_rate / 2 / fmin)))


def _dct(log_bands: np.ndarray, n_cepstra: int) -> np.ndarray:
    return scipy.fft.dct(log_bands, type=2, norm="ortho", axis=0)[:n_cepstra]


@lru_cache(maxsize=8)
def _cqcc_transform(
    sample_rate: int, fmin: float, bins_per_octave: int, n_bins: int, n_cepstra: int
) -> np.ndarray:
    """(n_cepstra, n_bins): resampling of the geometric CQ axis to a uniform one, then the DCT.

    The uniform step is the finest CQ bin spacing (the lowest octave's), so no octave loses
    resolution. Both steps are linear, so they fold into one small matrix per setting.
    """
    freqs = librosa.cqt_frequencies(n_bins, fmin=fmin, bins_per_octave=bins_per_octave)
    uniform = np.arange(freqs[0], freqs[-1], freqs[1] - freqs[0])
    resample = np.stack([np.interp(uniform, freqs, unit) for unit in np.eye(n_bins)], axis=1)
    transform = _dct(resample, n_cepstra).astype(np.float32)
    transform.flags.writeable = False
    return transform


@lru_cache(maxsize=8)
def _longest_cqt_filter(sample_rate: int, fmin: float, bins_per_octave: int, n_bins: int) -> int:
    freqs = librosa.cqt_frequencies(n_bins, fmin=fmin, bins_per_octave=bins_per_octave)
    lengths, _ = librosa.filters.wavelet_lengths(freqs=freqs, sr=sample_rate)
    return int(np.ceil(lengths.max()))
