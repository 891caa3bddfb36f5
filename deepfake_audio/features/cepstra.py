"""Cepstral coefficients: MFCC and LFCC from the shared power spectrum, CQCC from a constant-Q transform.

Each is the type-II orthonormal DCT of a log (dB) spectrum, as in ``librosa.feature.mfcc``.
"""

from __future__ import annotations

from functools import lru_cache

import librosa
import numpy as np
import scipy.fft

from deepfake_audio.features.filterbanks import linear_basis, mel_basis, to_db
from deepfake_audio.params import AnalysisSettings


def mfcc(power: np.ndarray, settings: AnalysisSettings) -> np.ndarray:
    params = settings.features
    bands = mel_basis(settings.sample_rate, params.n_fft, params.handcrafted.n_mels) @ power
    return _dct(to_db(bands), params.handcrafted.n_cepstra)


def lfcc(power: np.ndarray, settings: AnalysisSettings) -> np.ndarray:
    params = settings.features
    bands = linear_basis(settings.sample_rate, params.n_fft, params.handcrafted.n_linear) @ power
    return _dct(to_db(bands), params.handcrafted.n_cepstra)


def cqcc_batch(signals: list[np.ndarray], settings: AnalysisSettings) -> list[np.ndarray]:
    """CQCC (Todisco et al., 2017) of each signal: (n_cepstra, 1 + len // hop_length) per signal.

    librosa rebuilds the constant-Q filters on every call, which costs more than the
    transform of a short file, so the signals go through in one zero-padded batch.
    """
    sample_rate, params = settings.sample_rate, settings.features
    handcrafted = params.handcrafted
    n_bins = cqt_frequencies(sample_rate, handcrafted.cqt_fmin, handcrafted.cqt_bins_per_octave).size
    longest_filter = _longest_cqt_filter(sample_rate, handcrafted.cqt_fmin, handcrafted.cqt_bins_per_octave)
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
                fmin=handcrafted.cqt_fmin,
                n_bins=n_bins,
                bins_per_octave=handcrafted.cqt_bins_per_octave,
                tuning=0.0,
            )
        )
        ** 2
    )
    transform = _cqcc_transform(
        sample_rate, handcrafted.cqt_fmin, handcrafted.cqt_bins_per_octave, n_cepstra=handcrafted.n_cepstra
    )
    return [
        transform @ to_db(power[row, :, : 1 + len(signal) // params.hop_length])
        for row, signal in enumerate(signals)
    ]


def cqt_octaves(sample_rate: int, fmin: float) -> int:
    """Whole octaves from ``fmin`` up to Nyquist: the range of CQCC's constant-Q transform."""
    return int(np.floor(np.log2(sample_rate / 2 / fmin)))


def cqt_frequencies(sample_rate: int, fmin: float, bins_per_octave: int) -> np.ndarray:
    """(n_bins,) centre frequencies (Hz) of CQCC's constant-Q bins, ``cqt_octaves`` whole octaves from ``fmin``."""
    n_bins = cqt_octaves(sample_rate, fmin) * bins_per_octave
    return librosa.cqt_frequencies(n_bins, fmin=fmin, bins_per_octave=bins_per_octave)


def uniform_cq_frequencies(sample_rate: int, fmin: float, bins_per_octave: int) -> np.ndarray:
    """(n_points,) the uniform axis (Hz) CQCC resamples its constant-Q bins to.

    It runs from the lowest bin towards the highest in steps of the finest bin spacing (the
    lowest octave's), so no octave loses resolution.
    """
    freqs = cqt_frequencies(sample_rate, fmin, bins_per_octave)
    return np.arange(freqs[0], freqs[-1], freqs[1] - freqs[0])


def _dct(log_bands: np.ndarray, n_cepstra: int) -> np.ndarray:
    return scipy.fft.dct(log_bands, type=2, norm="ortho", axis=0)[:n_cepstra]


@lru_cache(maxsize=8)
def _cqcc_transform(sample_rate: int, fmin: float, bins_per_octave: int, *, n_cepstra: int) -> np.ndarray:
    """(n_cepstra, n_bins): resampling of the geometric CQ axis to ``uniform_cq_frequencies``, then the DCT.

    Both steps are linear, so they fold into one small matrix per setting.
    """
    freqs = cqt_frequencies(sample_rate, fmin, bins_per_octave)
    uniform = uniform_cq_frequencies(sample_rate, fmin, bins_per_octave)
    resample = np.stack([np.interp(uniform, freqs, unit) for unit in np.eye(freqs.size)], axis=1)
    transform = _dct(resample, n_cepstra).astype(np.float32)
    transform.flags.writeable = False
    return transform


@lru_cache(maxsize=8)
def _longest_cqt_filter(sample_rate: int, fmin: float, bins_per_octave: int) -> int:
    freqs = cqt_frequencies(sample_rate, fmin, bins_per_octave)
    lengths, _ = librosa.filters.wavelet_lengths(freqs=freqs, sr=sample_rate)
    return int(np.ceil(lengths.max()))
