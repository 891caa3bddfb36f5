"""Per-utterance analysis: named summary features for the SVC and a fixed-size spectrogram for the CNN.

One STFT per utterance feeds everything (MFCC, LFCC, spectral descriptors, band
energies, spectrogram) except CQCC, which needs a constant-Q transform. Each feature
family yields per-frame tracks; an utterance is summarised by each track's mean and
standard deviation over frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from deepfake_audio.features.cepstra import cqcc_batch, lfcc, mfcc
from deepfake_audio.features.descriptors import (
    CONTRAST_BANDS,
    SPECTRAL_DESCRIPTORS,
    band_energies,
    spectral_tracks,
)
from deepfake_audio.features.spectrogram import cnn_input
from deepfake_audio.params import FeaturesParams, HandcraftedParams

CEPSTRAL_FAMILIES = ("mfcc", "lfcc", "cqcc")
FEATURE_FAMILIES = (*CEPSTRAL_FAMILIES, "spectral", "band_energy")  # each feature name starts with one
STATISTICS = ("mean", "std")
_DELTA_SUFFIXES = ("", "_delta", "_delta2")
_DELTA_WIDTH = 9  # librosa's default window, in frames


@dataclass(frozen=True)
class Analysis:
    features: np.ndarray  # float64, one value per name in feature_names()
    spectrogram: np.ndarray  # float16, (spectrogram_bins, n_frames)


def feature_names(params: FeaturesParams) -> list[str]:
    """Column names of the utterance features, in the order ``analyse_batch`` returns them."""
    return [f"{track}_{stat}" for track in _track_names(params.handcrafted) for stat in STATISTICS]


def analyse_batch(signals: list[np.ndarray], sample_rate: int, params: FeaturesParams) -> list[Analysis]:
    """Analyse several utterances at once (the constant-Q transform is cheaper in a batch)."""
    cqcc = cqcc_batch(signals, sample_rate, params) if params.handcrafted.cqcc else [None] * len(signals)
    return [_analyse(signal, cq, sample_rate, params) for signal, cq in zip(signals, cqcc)]


def _analyse(
    signal: np.ndarray, cqcc: np.ndarray | None, sample_rate: int, params: FeaturesParams
) -> Analysis:
    power = (
        np.abs(
            librosa.stft(
                signal, n_fft=params.n_fft, hop_length=params.hop_length, win_length=params.win_length
            )
        )
        ** 2
    )
    settings = params.handcrafted
    cepstra = []  # in the order of CEPSTRAL_FAMILIES
    if settings.mfcc:
        cepstra.append(mfcc(power, sample_rate, params))
    if settings.lfcc:
        cepstra.append(lfcc(power, sample_rate, params))
    if settings.cqcc:
        cepstra.append(cqcc)
    tracks = []
    if cepstra:
        static = np.vstack(cepstra)
        tracks += [static, _delta(static, 1), _delta(static, 2)] if settings.deltas else [static]
    if settings.spectral:
        descriptors = spectral_tracks(signal, power, sample_rate, params)
        tracks += [descriptors[name] for name in SPECTRAL_DESCRIPTORS]
    if settings.band_energy:
        tracks.append(band_energies(power, sample_rate, params))
    frames = np.vstack(tracks)
    summary = np.stack([frames.mean(axis=1, dtype=np.float64), frames.std(axis=1, dtype=np.float64)], axis=1)
    return Analysis(features=summary.ravel(), spectrogram=cnn_input(power, sample_rate, params))


def feature_family(name: str) -> str:
    """The family of a feature name, e.g. ``band_energy`` for ``band_energy_0_500hz_mean``."""
    family = next((family for family in FEATURE_FAMILIES if name.startswith(family + "_")), None)
    if family is None:
        raise ValueError(f"{name!r} is not a feature name of this pipeline")
    return family


def _track_names(settings: HandcraftedParams) -> list[str]:
    """One name per row of the stacked per-frame tracks, in the order ``_analyse`` stacks them."""
    names = []
    for suffix in _DELTA_SUFFIXES if settings.deltas else ("",):
        for family in CEPSTRAL_FAMILIES:
            if getattr(settings, family):
                names += [f"{family}_{coeff}{suffix}" for coeff in range(settings.n_cepstra)]
    if settings.spectral:
        for name in SPECTRAL_DESCRIPTORS:
            rows = range(CONTRAST_BANDS + 1) if name == "contrast" else [None]
            names += [f"spectral_{name}" if row is None else f"spectral_{name}_{row}" for row in rows]
    if settings.band_energy:
        edges = settings.band_edges_hz
        names += [f"band_energy_{low:g}_{high:g}hz" for low, high in zip(edges, edges[1:])]
    return names


def _delta(track: np.ndarray, order: int) -> np.ndarray:
    # Edge frames repeat (as in HTK), which also serves clips shorter than the window;
    # librosa's default edge fit costs a least-squares solve per call.
    return librosa.feature.delta(track, order=order, width=_DELTA_WIDTH, mode="nearest")
