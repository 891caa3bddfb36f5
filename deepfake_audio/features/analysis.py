"""Per-utterance analysis: named summary features for the SVC and a fixed-size spectrogram for the CNN.

Words: to *analyse* is to compute one utterance's features from its signal (this module), to
*extract* is to analyse many files (``extract.py``), and *featurize* names only the DVC stage.

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
from deepfake_audio.features.spectrogram import log_spectrogram
from deepfake_audio.params import AnalysisSettings, FeaturesParams, HandcraftedParams
from deepfake_audio.speech import Vad

CEPSTRAL_FAMILIES = ("mfcc", "lfcc", "cqcc")
FEATURE_FAMILIES = (*CEPSTRAL_FAMILIES, "spectral", "band_energy")  # each feature name starts with one
STATISTICS = ("mean", "std")
_DELTA_SUFFIXES = ("", "_delta", "_delta2")
_DELTA_WIDTH = 9  # librosa's default window, in frames


@dataclass(frozen=True)
class Analysis:
    """One utterance's features and CNN input.

    Attributes
    ----------
    features : numpy.ndarray
        float64, shape (n_features,): one value per name of ``feature_names``, in that order.
    spectrogram : numpy.ndarray
        float16, shape (spectrogram_bins, n_frames): log spectrogram (dB), normalised per
        utterance or not at all, as ``features.spectrogram.normalize`` says (``global``
        statistics are the caller's to apply).
    """

    features: np.ndarray
    spectrogram: np.ndarray


def feature_names(params: FeaturesParams) -> list[str]:
    """Names of the utterance features.

    Parameters
    ----------
    params : FeaturesParams
        The ``features`` section; its ``handcrafted`` switches decide the names.

    Returns
    -------
    list of str
        ``{track}_{mean|std}`` for each per-frame track, in the order of ``Analysis.features``.
    """
    return [f"{track}_{stat}" for track in _track_names(params.handcrafted) for stat in STATISTICS]


def analyse_batch(signals: list[np.ndarray], settings: AnalysisSettings) -> list[Analysis]:
    """Analyse several utterances at once (the constant-Q transform is cheaper in a batch).

    Parameters
    ----------
    signals : list of numpy.ndarray
        float32 mono signals, each of shape (samples,), at ``settings.sample_rate``; their
        lengths may differ. With ``features.trim``, each is first cut to its speech.
    settings : AnalysisSettings
        The sample rate and the ``features`` section.

    Returns
    -------
    list of Analysis
        One per signal, in order; batching changes no result beyond floating-point rounding.
    """
    signals = trimmed(signals, settings)
    cqcc = cqcc_batch(signals, settings) if settings.features.handcrafted.cqcc else [None] * len(signals)
    return [_analyse(signal, cq, settings) for signal, cq in zip(signals, cqcc, strict=True)]


def trimmed(signals: list[np.ndarray], settings: AnalysisSettings) -> list[np.ndarray]:
    """``signals`` cut to their speech when ``features.trim`` says so, else as they are."""
    params = settings.features
    if params.trim is None:
        return signals
    vad = Vad(params.trim, settings.sample_rate, params.win_length, params.hop_length)
    return [vad.trim(signal) for signal in signals]


def stft_power(signal: np.ndarray, params: FeaturesParams) -> np.ndarray:
    """(n_fft // 2 + 1, 1 + len // hop_length) STFT power of one signal, the frames of every feature."""
    return (
        np.abs(
            librosa.stft(
                signal, n_fft=params.n_fft, hop_length=params.hop_length, win_length=params.win_length
            )
        )
        ** 2
    )


def _analyse(signal: np.ndarray, cqcc: np.ndarray | None, settings: AnalysisSettings) -> Analysis:
    params = settings.features
    power = stft_power(signal, params)
    handcrafted = params.handcrafted
    cepstra = []  # in the order of CEPSTRAL_FAMILIES
    if handcrafted.mfcc:
        cepstra.append(mfcc(power, settings))
    if handcrafted.lfcc:
        cepstra.append(lfcc(power, settings))
    if handcrafted.cqcc:
        assert cqcc is not None  # analyse_batch computes it whenever handcrafted.cqcc is on
        cepstra.append(cqcc)
    tracks = []
    if cepstra:
        static = np.vstack(cepstra)
        tracks += [static, delta(static, 1), delta(static, 2)] if handcrafted.deltas else [static]
    if handcrafted.spectral:
        descriptors = spectral_tracks(signal, power, settings)
        tracks += [descriptors[name] for name in SPECTRAL_DESCRIPTORS]
    if handcrafted.band_energy:
        tracks.append(band_energies(power, settings))
    frames = np.vstack(tracks)
    summary = np.stack([frames.mean(axis=1, dtype=np.float64), frames.std(axis=1, dtype=np.float64)], axis=1)
    return Analysis(features=summary.ravel(), spectrogram=log_spectrogram(power, settings))


def feature_family(name: str) -> str:
    """The family of a feature name.

    Parameters
    ----------
    name : str
        A name of ``feature_names``, e.g. ``band_energy_0_500hz_mean``.

    Returns
    -------
    str
        One of ``FEATURE_FAMILIES``, e.g. ``band_energy``.

    Raises
    ------
    ValueError
        When ``name`` starts with no family.
    """
    family = next((family for family in FEATURE_FAMILIES if name.startswith(family + "_")), None)
    if family is None:
        raise ValueError(f"{name!r} is not a feature name of this pipeline")
    return family


def _track_names(handcrafted: HandcraftedParams) -> list[str]:
    """One name per row of the stacked per-frame tracks, in the order ``_analyse`` stacks them."""
    names = []
    for suffix in _DELTA_SUFFIXES if handcrafted.deltas else ("",):
        for family in CEPSTRAL_FAMILIES:
            if getattr(handcrafted, family):
                names += [f"{family}_{coeff}{suffix}" for coeff in range(handcrafted.n_cepstra)]
    if handcrafted.spectral:
        for name in SPECTRAL_DESCRIPTORS:
            rows = range(CONTRAST_BANDS + 1) if name == "contrast" else [None]
            names += [f"spectral_{name}" if row is None else f"spectral_{name}_{row}" for row in rows]
    if handcrafted.band_energy:
        edges = handcrafted.band_edges_hz
        names += [f"band_energy_{low:g}_{high:g}hz" for low, high in zip(edges, edges[1:], strict=False)]
    return names


def delta(track: np.ndarray, order: int) -> np.ndarray:
    """The ``order``-th delta of each row of (rows, frames) ``track``, over ``_DELTA_WIDTH`` frames."""
    # Edge frames repeat (as in HTK), which also serves clips shorter than the window;
    # librosa's default edge fit costs a least-squares solve per call.
    return librosa.feature.delta(track, order=order, width=_DELTA_WIDTH, mode="nearest")
