"""The CNN input: a log spectrogram per utterance, stored at a fixed size, and its normalisation.

With ``pad: none`` an utterance shorter than the stored size is followed by all-zero
columns, which are not part of the input: :func:`real_frames` finds where each
utterance ends, and the CNN sees only the frames before (a real column is never all
zeros: every bin would have to sit exactly at the normalised mean, or at 0 dB without
normalisation).
"""

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
    levels = to_db(bands)
    empty = empty_band_rows(power, settings)
    if empty.any():
        levels[empty] = levels[~empty].mean()
    return fix_frames(levels, spectrogram).astype(np.float16)


def empty_band_rows(power: np.ndarray, settings: AnalysisSettings) -> np.ndarray:
    """bool (spectrogram_bins,): the rows above the utterance's bandwidth, with ``mask_empty_band_db`` set.

    The bandwidth ends at the last FFT bin whose mean power over the utterance lies within
    ``mask_empty_band_db`` of the loudest bin's. A recording's own noise keeps its top band
    within about 60 dB of the loudest; a file resampled from 8 kHz holds nothing above 4 kHz
    (80 dB and more below), and the rows above its bandwidth are masked. A bandwidth below
    every row (all the power at 0 Hz) leaves nothing to take the mean of: no row is masked.
    """
    below_peak_db = settings.features.spectrogram.mask_empty_band_db
    rows = spectrogram_frequencies(settings)
    if below_peak_db is None or power.shape[1] == 0:
        return np.zeros(len(rows), dtype=bool)
    levels = to_db(power.mean(axis=1))
    last_sounding = np.flatnonzero(levels >= levels.max() - below_peak_db)[-1]
    empty = rows > fft_frequencies(settings.sample_rate, settings.features.n_fft)[last_sounding]
    return empty if not empty.all() else np.zeros(len(rows), dtype=bool)


def fix_frames(spectrogram: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Crop or pad a (bins, frames) spectrogram to ``params.n_frames``, normalised per utterance if asked.

    Cropping keeps the start. Padding repeats the utterance, appends its quietest value
    (silence), or with ``none`` appends zero columns after normalisation, which mark the
    end of the input. Utterance normalisation is one mean and one scale over the
    utterance's own frames, so the gain goes but the spectral shape, which carries the
    replay cues, stays.
    """
    frames, size = spectrogram.shape[1], params.n_frames
    if frames >= size:
        fixed = spectrogram[:, :size]
    elif params.pad == "repeat":
        fixed = np.tile(spectrogram, (1, -(-size // frames)))[:, :size]
    elif params.pad == "zeros":
        fixed = np.full((spectrogram.shape[0], size), spectrogram.min(), dtype=spectrogram.dtype)
        fixed[:, :frames] = spectrogram
    else:
        fixed = np.zeros((spectrogram.shape[0], size), dtype=spectrogram.dtype)
        fixed[:, :frames] = _normalised(spectrogram) if params.normalize == "utterance" else spectrogram
        return fixed
    return _normalised(fixed) if params.normalize == "utterance" else fixed


def _normalised(spectrogram: np.ndarray) -> np.ndarray:
    return (spectrogram - spectrogram.mean()) / max(float(spectrogram.std()), _MIN_STD)


def real_frames(spectrograms: np.ndarray) -> np.ndarray:
    """int (n,) frames of each (bins, frames) input before its trailing all-zero columns (``pad: none``).

    Inputs padded otherwise have no such columns, so their count is the stored width; so
    does an input of zeros only, which has no end to find.
    """
    spectrograms = np.asarray(spectrograms)
    if spectrograms.shape[0] == 0:
        return np.zeros(0, dtype=int)
    sounding = (spectrograms != 0).any(axis=1)  # (n, frames)
    width = sounding.shape[1]
    return np.where(sounding.any(axis=1), width - np.argmax(sounding[:, ::-1], axis=1), width)


@dataclass(frozen=True)
class SpectrogramStats:
    """Mean and standard deviation of each frequency bin over the training utterances."""

    mean: np.ndarray  # float32 (bins,)
    std: np.ndarray  # float32 (bins,)

    def apply(self, spectrograms: np.ndarray) -> np.ndarray:
        """(..., bins, frames) spectrograms normalised in float32, returned as float16: the CNN input
        as featurize stores it, the one normalisation of featurize, the audit and the Detector."""
        spectrograms = np.asarray(spectrograms, dtype=np.float32)
        normalised = (spectrograms - self.mean[:, None]) / self.std[:, None]
        # The zero columns that end a ``pad: none`` input stay zero.
        return np.where((spectrograms != 0).any(axis=-2, keepdims=True), normalised, 0).astype(np.float16)


def training_stats(spectrograms: np.ndarray, rows: np.ndarray) -> SpectrogramStats:
    """Per-bin statistics over every real frame of ``spectrograms[rows]``, read a slice at a time.

    The zero columns after a ``pad: none`` input add nothing to the sums and are not counted.
    """
    total = np.zeros(spectrograms.shape[1])
    squares = np.zeros(spectrograms.shape[1])
    count = 0
    for start in range(0, len(rows), _ROWS_PER_PASS):
        chunk = spectrograms[rows[start : start + _ROWS_PER_PASS]].astype(np.float32)
        total += chunk.sum(axis=(0, 2), dtype=np.float64)
        squares += np.square(chunk).sum(axis=(0, 2), dtype=np.float64)
        count += int(real_frames(chunk).sum())
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(squares / max(count, 1) - mean**2, 0.0))
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
