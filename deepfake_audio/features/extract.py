"""Extract features for a whole manifest in parallel, streaming them into the feature folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from deepfake_audio.audio import load_audio
from deepfake_audio.compute import map_ordered
from deepfake_audio.errors import InputError
from deepfake_audio.features.analysis import Analysis, analyse_batch, feature_names
from deepfake_audio.features.spectrogram import (
    normalise_in_place,
    spectrogram_bins,
    training_stats,
    write_spectrogram_stats,
)
from deepfake_audio.features.store import ID_COLUMNS, SPECTROGRAM_FILE, TABLE_FILE, split_rows
from deepfake_audio.io import atomic_path
from deepfake_audio.params import ComputeParams, FeaturesParams

_CHUNK = 32  # files per task, analysed together (one constant-Q transform call per chunk)


def extract_features(
    manifest: pd.DataFrame, out_dir: Path, params: FeaturesParams, sample_rate: int, compute: ComputeParams
) -> None:
    """Write the feature folder for ``manifest``; the folder appears only when complete.

    Rows follow the manifest. With ``normalize: global`` the spectrograms are normalised
    with the training split's statistics, which the folder keeps.
    """
    names = feature_names(params)
    shape = (len(manifest), spectrogram_bins(params), params.spectrogram.n_frames)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        spectrograms = np.lib.format.open_memmap(
            tmp / SPECTROGRAM_FILE, mode="w+", dtype=np.float16, shape=shape
        )
        features = np.empty((len(manifest), len(names)))
        analyse_into(
            features,
            spectrograms,
            manifest["path"].tolist(),
            manifest["duration_s"],
            sample_rate,
            params,
            compute,
        )
        if params.spectrogram.normalize == "global":
            train = split_rows(manifest, "train")
            if len(train) == 0:
                raise InputError(
                    "features.spectrogram.normalize: global needs training utterances for "
                    "its statistics, and the manifest has none"
                )
            stats = training_stats(spectrograms, train)
            normalise_in_place(spectrograms, stats)
            write_spectrogram_stats(tmp, stats)
        spectrograms.flush()
        del spectrograms
        table = pd.concat(
            [manifest[ID_COLUMNS].reset_index(drop=True), pd.DataFrame(features, columns=names)], axis=1
        )
        table.to_csv(tmp / TABLE_FILE, index=False)


def analyse_into(
    features: np.ndarray,
    spectrograms: np.ndarray,
    sources: Sequence,
    durations,
    sample_rate: int,
    params: FeaturesParams,
    compute: ComputeParams,
    load: Callable[[object, int], np.ndarray] = load_audio,
    desc: str = "featurize",
) -> None:
    """Fill row i of ``features`` and ``spectrograms`` (arrays or memory maps) from ``sources[i]``.

    ``load(source, sample_rate)`` reads one source; it runs in worker processes, so it
    must be a module-level function. Chunks are formed from sources of similar duration,
    so that little of each batched transform is spent on padding; each chunk is one task
    on ``compute.backend``, and the results are the same on every backend.
    """
    by_duration = np.argsort(np.asarray(durations, dtype=float), kind="stable")
    chunks = [by_duration[start : start + _CHUNK] for start in range(0, len(sources), _CHUNK)]
    analyse = partial(_analyse_sources, load=load, sample_rate=sample_rate, params=params)
    results = map_ordered(analyse, [[sources[row] for row in rows] for rows in chunks], compute, "chunk")
    with tqdm(total=len(sources), desc=desc, unit="file", disable=None) as progress:
        for rows, analyses in zip(chunks, results, strict=True):  # strict: runs the backend to its end
            for row, analysis in zip(rows, analyses):
                features[row] = analysis.features
                spectrograms[row] = analysis.spectrogram
            progress.update(len(rows))


def analyse_in_memory(
    sources: Sequence,
    durations,
    sample_rate: int,
    params: FeaturesParams,
    compute: ComputeParams,
    load: Callable[[object, int], np.ndarray] = load_audio,
    desc: str = "featurize",
) -> tuple[np.ndarray, np.ndarray]:
    """The features (sources, names) and spectrograms (sources, bins, frames) of ``sources``, in their order.

    The spectrograms are normalised per utterance or not at all, as ``params`` says;
    ``global`` statistics are the caller's to apply.
    """
    features = np.empty((len(sources), len(feature_names(params))))
    spectrograms = np.empty(
        (len(sources), spectrogram_bins(params), params.spectrogram.n_frames), dtype=np.float16
    )
    analyse_into(features, spectrograms, sources, durations, sample_rate, params, compute, load, desc)
    return features, spectrograms


def _analyse_sources(
    sources: list, load: Callable, sample_rate: int, params: FeaturesParams
) -> list[Analysis]:
    # Parallelism is over files; threaded BLAS on these small matrices only adds overhead.
    with threadpool_limits(limits=1, user_api="blas"):
        return analyse_batch([load(source, sample_rate) for source in sources], sample_rate, params)
