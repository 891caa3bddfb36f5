"""The CNN input: a fixed-size log spectrogram per utterance, and its normalisation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepfake_audio.errors import InputError
from deepfake_audio.features.filterbanks import fft_frequencies, mel_basis, mel_frequencies, to_db
from deepfake_audio.params import AnalysisSettings, FeaturesParams, SpectrogramParams

STATS_FILE = "spectrogram_stats.npz"  # in the feature folder, with normalize: global
_MIN_STD = 1e-6
_ROWS_PER_PASS = 64  # utterances read from the memory map at a time


def spectrogram_bins(params: FeaturesParams) -> int:
    """Frequency rows of the CNN input."""
    return params.spectrogram.n_mels if params.spectrogram.kind == "mel" else params.n_fft // 2 + 1


def spectrogram_frequencies(settings: AnalysisSettings) -> np.ndarray:
    """Centre frequency (Hz) of each row of the CNN input."""
    params = settings.features
    if params.spectrogram.kind == "mel":
        return mel_frequencies(settings.sample_rate, params.spectrogram.n_mels)
    return fft_frequencies(settings.sample_rate, params.n_fft)


def frame_times(n_frames: int, settings: AnalysisSettings) -> np.ndarray:
    """Time (s) of each column of the CNN input: the centre of its STFT frame."""
    return np.arange(n_frames) * settings.features.hop_length / settings.sample_rate


def log_spectrogram(power: np.ndarray, settings: AnalysisSettings) -> np.ndarray:
    """(spectrogram_bins, n_frames) float16 log spectrogram of one utterance's STFT power.

    Normalised here only for ``normalize: utterance``; ``global`` is applied once the
    training statistics are known (see ``training_stats``).
    """
    params, spectrogram = settings.features, settings.features.spectrogram
    bands = (
        mel_basis(settings.sample_rate, params.n_fft, spectrogram.n_mels) @ power
        if spectrogram.kind == "mel"
        else power
    )
    return fix_frames(to_db(bands), spectrogram).astype(np.float16)


def fix_frames(spectrogram: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Crop or pad a (bins, frames) spectrogram to ``params.n_frames``, then normalise it per utterance.

    Cropping keeps the start. Padding repeats the utterance or appends its quietest value
    (silence). Utterance normalisation is one mean and one scale, so the gain goes but
    the spectral shape, which carries the replay cues, stays.
    """
    frames = spectrogram.shape[1]
    if frames >= params.n_frames:
        fixed = spectrogram[:, : params.n_frames]
    elif params.pad == "repeat":
        fixed = np.tile(spectrogram, (1, -(-params.n_frames // frames)))[:, : params.n_frames]
    else:
        fixed = np.full((spectrogram.shape[0], params.n_frames), spectrogram.min(), dtype=spectrogram.dtype)
        fixed[:, :frames] = spectrogram
    if params.normalize == "utterance":
        fixed = (fixed - fixed.mean()) / max(float(fixed.std()), _MIN_STD)
    return fixed


@dataclass(frozen=True)
class SpectrogramStats:
    """Mean and standard deviation of each frequency bin over the training utterances."""

    mean: np.ndarray  # float32 (bins,)
    std: np.ndarray  # float32 (bins,)

    def apply(self, spectrograms: np.ndarray) -> np.ndarray:
        """(..., bins, frames) spectrograms normalised in float32, returned as float16: the CNN input
        as featurize stores it, the one normalisation of featurize, the audit and the Detector."""
        normalised = (np.asarray(spectrograms, dtype=np.float32) - self.mean[:, None]) / self.std[:, None]
        return normalised.astype(np.float16)


def training_stats(spectrograms: np.ndarray, rows: np.ndarray) -> SpectrogramStats:
    """Per-bin statistics over every frame of ``spectrograms[rows]``, read a slice at a time."""
    total = np.zeros(spectrograms.shape[1])
    squares = np.zeros(spectrograms.shape[1])
    for start in range(0, len(rows), _ROWS_PER_PASS):
        chunk = spectrograms[rows[start : start + _ROWS_PER_PASS]].astype(np.float32)
        total += chunk.sum(axis=(0, 2), dtype=np.float64)
        squares += np.square(chunk).sum(axis=(0, 2), dtype=np.float64)
    count = len(rows) * spectrograms.shape[2]
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    return SpectrogramStats(mean.astype(np.float32), np.maximum(std, _MIN_STD).astype(np.float32))


def normalize_in_place(spectrograms: np.ndarray, stats: SpectrogramStats) -> None:
    """Apply ``stats`` to every row of a writable (memory-mapped) array, a slice at a time."""
    for start in range(0, len(spectrograms), _ROWS_PER_PASS):
        rows = slice(start, start + _ROWS_PER_PASS)
        spectrograms[rows] = stats.apply(spectrograms[rows])


def write_spectrogram_stats(feature_dir: Path, stats: SpectrogramStats) -> None:
    np.savez(Path(feature_dir) / STATS_FILE, mean=stats.mean, std=stats.std)


def read_spectrogram_stats(feature_dir: Path) -> SpectrogramStats:
    """The training statistics to normalise new spectrograms as the stored ones were."""
    path = Path(feature_dir) / STATS_FILE
    if not path.is_file():
        raise InputError(
            f"{path}: not found; it is written by the featurize stage when "
            "features.spectrogram.normalize is global"
        )
    with np.load(path) as saved:
        return SpectrogramStats(mean=saved["mean"], std=saved["std"])
