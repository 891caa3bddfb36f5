"""Extract features from many files in parallel: into the feature folder, or into arrays in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from deepfake_audio.audio import load_audio
from deepfake_audio.compute import map_ordered
from deepfake_audio.errors import InputError
from deepfake_audio.features.analysis import analyse_batch, feature_names
from deepfake_audio.features.spectrogram import (
    normalize_in_place,
    spectrogram_bins,
    training_stats,
    write_spectrogram_stats,
)
from deepfake_audio.features.store import ID_COLUMNS, SPECTROGRAM_FILE, TABLE_FILE, split_rows
from deepfake_audio.io import atomic_path
from deepfake_audio.params import AnalysisSettings, ComputeParams
from deepfake_audio.progress import Progress

_CHUNK = 32  # files per task, analysed together (one constant-Q transform call per chunk)


def extract_features(
    manifest: pd.DataFrame, out_dir: Path, settings: AnalysisSettings, *, compute: ComputeParams
) -> None:
    """Write the feature folder for ``manifest``; the folder appears only when complete.

    Rows follow the manifest. With ``normalize: global`` the spectrograms are normalised
    with the training split's statistics, which the folder keeps.
    """
    params = settings.features
    names = feature_names(params)
    shape = (len(manifest), spectrogram_bins(params), params.spectrogram.n_frames)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        spectrograms = np.lib.format.open_memmap(
            tmp / SPECTROGRAM_FILE, mode="w+", dtype=np.float16, shape=shape
        )
        features = np.empty((len(manifest), len(names)))
        extract_into(
            features,
            spectrograms,
            manifest["path"].tolist(),
            durations=manifest["duration_s"],
            settings=settings,
            compute=compute,
        )
        if params.spectrogram.normalize == "global":
            train = split_rows(manifest, "train")
            if len(train) == 0:
                raise InputError(
                    "features.spectrogram.normalize: global needs training utterances for "
                    "its statistics, and the manifest has none"
                )
            stats = training_stats(spectrograms, train)
            normalize_in_place(spectrograms, stats)
            write_spectrogram_stats(tmp, stats)
        spectrograms.flush()
        del spectrograms
        table = pd.concat(
            [manifest[ID_COLUMNS].reset_index(drop=True), pd.DataFrame(features, columns=names)], axis=1
        )
        table.to_csv(tmp / TABLE_FILE, index=False)


def extract_into(
    features: np.ndarray,
    spectrograms: np.ndarray,
    sources: Sequence,
    *,
    durations,
    settings: AnalysisSettings,
    compute: ComputeParams,
    load: Callable[[Any, int], np.ndarray] = load_audio,  # any source that load reads
    desc: str = "featurize",
) -> None:
    """Fill row i of ``features`` and ``spectrograms`` (arrays or memory maps) from ``sources[i]``.

    ``load(source, sample_rate)`` reads one source; it runs in worker processes, so it
    must be a module-level function (see ``analysed``).
    """
    for row, analysis in analysed(
        sources, durations, analyse_batch, settings=settings, load=load, compute=compute, desc=desc
    ):
        features[row] = analysis.features
        spectrograms[row] = analysis.spectrogram


def analysed(
    sources: Sequence,
    durations,
    analyse: Callable[[list[np.ndarray], AnalysisSettings], list],
    *,
    settings: AnalysisSettings,
    load: Callable[[Any, int], np.ndarray],
    compute: ComputeParams,
    desc: str,
) -> Iterator[tuple[int, Any]]:
    """``(i, result)`` for each of ``sources``: ``analyse(signals, settings)`` of a batch of signals
    loaded at ``settings.sample_rate``, one result each.

    ``analyse`` and ``load`` run in the worker processes, so they must be picklable (module-level
    functions, or ``functools.partial`` of them). Chunks are formed from sources of
    similar duration, so that little of each batched transform is spent on padding; each chunk
    is one task on ``compute.backend``, and the results are the same on every backend.
    """
    by_duration = np.argsort(np.asarray(durations, dtype=float), kind="stable")
    chunks = [by_duration[start : start + _CHUNK] for start in range(0, len(sources), _CHUNK)]
    work = partial(_analyse_chunk, load=load, analyse=analyse, settings=settings)
    results = map_ordered(work, [[sources[row] for row in rows] for rows in chunks], compute, name="chunk")
    with Progress(len(sources), desc) as progress:
        for rows, analyses in zip(chunks, results, strict=True):  # strict: runs the backend to its end
            yield from zip(rows.tolist(), analyses, strict=True)
            progress.update(len(rows))


def extract_in_memory(
    sources: Sequence,
    durations,
    settings: AnalysisSettings,
    *,
    compute: ComputeParams,
    load: Callable[[Any, int], np.ndarray] = load_audio,  # any source that load reads
    desc: str = "featurize",
) -> tuple[np.ndarray, np.ndarray]:
    """The features (sources, names) and spectrograms (sources, bins, frames) of ``sources``, in their order.

    The spectrograms are normalised per utterance or not at all, as ``settings.features`` says;
    ``global`` statistics are the caller's to apply.
    """
    params = settings.features
    features = np.empty((len(sources), len(feature_names(params))))
    spectrograms = np.empty(
        (len(sources), spectrogram_bins(params), params.spectrogram.n_frames), dtype=np.float16
    )
    extract_into(
        features,
        spectrograms,
        sources,
        durations=durations,
        settings=settings,
        compute=compute,
        load=load,
        desc=desc,
    )
    return features, spectrograms


def _analyse_chunk(sources: list, *, load: Callable, analyse: Callable, settings: AnalysisSettings) -> list:
    # Parallelism is over files; threaded BLAS on these small matrices only adds overhead.
    with threadpool_limits(limits=1, user_api="blas"):
        return analyse([load(source, settings.sample_rate) for source in sources], settings)
