"""The GMM's input: frame-level cepstra of each utterance (CQCC or LFCC, with deltas and CMVN).

As in the ASVspoof 2017 baseline (Todisco et al., 2017): the static coefficients of every
frame, their delta and delta-delta, then per-utterance cepstral mean and variance
normalisation. The coefficients are the ones ``analysis.py`` summarises for the SVC, from
the same STFT frames (LFCC) or the same constant-Q transform (CQCC), after the same trim.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from deepfake_audio.audio import load_audio
from deepfake_audio.features.analysis import delta, stft_power, trimmed
from deepfake_audio.features.cepstra import cqcc_batch, lfcc
from deepfake_audio.features.extract import analysed
from deepfake_audio.params import AnalysisSettings, ComputeParams, FramesParams

if TYPE_CHECKING:
    from deepfake_audio.models.card import ModelCard

_MIN_STD = 1e-6


def frame_names(settings: AnalysisSettings, frames: FramesParams) -> list[str]:
    """The name of each column of ``frame_features``: ``cqcc_0`` ... ``cqcc_19_delta2``."""
    suffixes = ("", "_delta", "_delta2") if frames.deltas else ("",)
    coefficients = range(settings.features.handcrafted.n_cepstra)
    return [f"{frames.kind}_{coeff}{suffix}" for suffix in suffixes for coeff in coefficients]


def frame_features(
    signals: list[np.ndarray], settings: AnalysisSettings, frames: FramesParams
) -> list[np.ndarray]:
    """float32 (n_frames, len(frame_names)) per signal, one row per STFT frame (hop ``features.hop_length``).

    ``signals`` are float32 mono at ``settings.sample_rate``; with ``features.trim`` each is
    first cut to its speech. A batch gives the same frames as the signals one by one.
    """
    signals = trimmed(signals, settings)
    if frames.kind == "cqcc":
        static = cqcc_batch(signals, settings)
    else:
        static = [lfcc(stft_power(signal, settings.features), settings) for signal in signals]
    return [_frames(cepstra, frames) for cepstra in static]


def _frames(static: np.ndarray, frames: FramesParams) -> np.ndarray:
    tracks = np.vstack([static, delta(static, 1), delta(static, 2)]) if frames.deltas else static
    if frames.cmvn:
        tracks = (tracks - tracks.mean(axis=1, keepdims=True)) / np.maximum(
            tracks.std(axis=1, keepdims=True), _MIN_STD
        )
    return np.ascontiguousarray(tracks.T, dtype=np.float32)


def extract_frames(
    sources: Sequence,
    durations,
    settings: AnalysisSettings,
    *,
    frames: FramesParams,
    compute: ComputeParams,
    load: Callable[[Any, int], np.ndarray] = load_audio,
    desc: str = "frames",
) -> list[np.ndarray]:
    """``frame_features`` of each of ``sources`` (paths, or anything ``load`` reads), in their order,
    computed in parallel over ``compute``."""
    out: list[np.ndarray] = [np.empty((0, 0), np.float32)] * len(sources)
    for row, features in frames_as_extracted(
        sources, durations, settings, frames=frames, compute=compute, load=load, desc=desc
    ):
        out[row] = features
    return out


def frames_as_extracted(
    sources: Sequence,
    durations,
    settings: AnalysisSettings,
    *,
    frames: FramesParams,
    compute: ComputeParams,
    load: Callable[[Any, int], np.ndarray] = load_audio,
    desc: str = "frames",
) -> Iterator[tuple[int, np.ndarray]]:
    """``(position in sources, frame_features)`` of each of ``sources`` as it is computed, in no set
    order: a caller that consumes them one by one never holds all of them."""
    analyse = partial(frame_features, frames=frames)
    return analysed(sources, durations, analyse, settings=settings, load=load, compute=compute, desc=desc)


def card_frames(
    sources: Sequence,
    durations,
    card: ModelCard,
    *,
    compute: ComputeParams,
    load: Callable[[Any, int], np.ndarray] = load_audio,
    desc: str = "frames",
) -> list[np.ndarray]:
    """``extract_frames`` as a GMM's (or a fusion's) model card says: its sample rate, features and frames."""
    settings, frames = _card_analysis(card)
    return extract_frames(sources, durations, settings, frames=frames, compute=compute, load=load, desc=desc)


def card_frames_as_extracted(
    sources: Sequence,
    durations,
    card: ModelCard,
    *,
    compute: ComputeParams,
    load: Callable[[Any, int], np.ndarray] = load_audio,
    desc: str = "frames",
) -> Iterator[tuple[int, np.ndarray]]:
    """``frames_as_extracted`` as a GMM's (or a fusion's) model card says."""
    settings, frames = _card_analysis(card)
    return frames_as_extracted(
        sources, durations, settings, frames=frames, compute=compute, load=load, desc=desc
    )


def _card_analysis(card: ModelCard) -> tuple[AnalysisSettings, FramesParams]:
    if card.frames_params is None:
        raise ValueError(f"a {card.model} card without frames: only the GMM and the fusion score frames")
    return AnalysisSettings(card.sample_rate, card.features_params), card.frames_params
