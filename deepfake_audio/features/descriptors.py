"""Per-frame spectral descriptors and band energies from the shared STFT."""

from __future__ import annotations

import librosa
import numpy as np

from deepfake_audio.features.filterbanks import band_masks, fft_frequencies, to_db
from deepfake_audio.params import AnalysisSettings

SPECTRAL_DESCRIPTORS = ("centroid", "bandwidth", "rolloff", "flatness", "contrast", "zcr", "rms")
# Octave bands of the spectral contrast, counted down from Nyquist, so that the number of
# columns does not depend on the sample rate (librosa's fixed 200 Hz start would).
CONTRAST_BANDS = 6


def spectral_tracks(
    signal: np.ndarray, power: np.ndarray, settings: AnalysisSettings
) -> dict[str, np.ndarray]:
    """Each descriptor of SPECTRAL_DESCRIPTORS as (rows, frames); contrast has CONTRAST_BANDS + 1 rows."""
    sample_rate, params = settings.sample_rate, settings.features
    magnitude = np.sqrt(power)
    spectrum = dict(S=magnitude, sr=sample_rate, freq=fft_frequencies(sample_rate, params.n_fft))
    centroid = librosa.feature.spectral_centroid(**spectrum)
    return {
        "centroid": centroid,
        "bandwidth": librosa.feature.spectral_bandwidth(**spectrum, centroid=centroid),
        "rolloff": librosa.feature.spectral_rolloff(**spectrum),
        "flatness": librosa.feature.spectral_flatness(S=power, power=1.0),
        "contrast": librosa.feature.spectral_contrast(
            **spectrum, fmin=sample_rate / 2 / 2**CONTRAST_BANDS, n_bands=CONTRAST_BANDS
        ),
        # Framed like the STFT (n_fft samples, centred) so that every track has the same frames.
        "zcr": librosa.feature.zero_crossing_rate(
            signal, frame_length=params.n_fft, hop_length=params.hop_length
        ),
        "rms": librosa.feature.rms(S=magnitude, frame_length=params.n_fft),
    }


def band_energies(power: np.ndarray, settings: AnalysisSettings) -> np.ndarray:
    """(n_bands, frames): dB of each band's power relative to the frame's total power."""
    params = settings.features
    bands = band_masks(settings.sample_rate, params.n_fft, params.handcrafted.band_edges_hz) @ power
    return to_db(bands) - to_db(power.sum(axis=0))
