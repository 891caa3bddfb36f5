"""Extract features for a whole manifest in parallel, streaming them into the feature folder."""

from __future__ import annotations

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


def extract_features(manifest: pd.DataFrame, out_dir: Path, params: FeaturesParams,
                     sample_rate: int, compute: ComputeParams) -> None:
    """Write the feature folder for ``manifest``; the folder appears only when complete.

    Rows follow the manifest. Chunks are formed from files of similar duration, so that
    little of each batched transform is spent on padding. Each chunk is one task on
    ``compute.backend``; the results are the same on every backend.
    """
    paths = manifest["path"].to_numpy()
    by_duration = np.argsort(manifest["duration_s"].to_numpy(dtype=float), kind="stable")
    chunks = [by_duration[start:start + _CHUNK] for start in range(0, len(paths), _CHUNK)]
    names = feature_names(params)
    shape = (len(paths), spectrogram_bins(params), params.spectrogram.n_frames)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        spectrograms = np.lib.format.open_memmap(tmp / SPECTROGRAM_FILE, mode="w+", dtype=np.float16,
                                                 shape=shape)
        features = np.empty((len(paths), len(names)))
        analyse = partial(_analyse_files, sample_rate=sample_rate, params=params)
        results = map_ordered(analyse, [paths[rows].tolist() for rows in chunks], compute, "chunk")
        with tqdm(total=len(paths), desc="featurize", unit="file", disable=None) as progress:
            for rows, analyses in zip(chunks, results, strict=True):  # strict: runs the backend to its end
                for row, analysis in zip(rows, analyses):
                    features[row] = analysis.features
                    spectrograms[row] = analysis.spectrogram
                progress.update(len(rows))
        if params.spectrogram.normalize == "global":
            train = split_rows(manifest, "train")
            if len(train) == 0:
                raise InputError("features.spectrogram.normalize: global needs training utterances for "
                                 "its statistics, and the manifest has none")
            stats = training_stats(spectrograms, train)
            normalise_in_place(spectrograms, stats)
            write_spectrogram_stats(tmp, stats)
        spectrograms.flush()
        del spectrograms
        table = pd.concat(
            [manifest[ID_COLUMNS].reset_index(drop=True), pd.DataFrame(features, columns=names)], axis=1)
        table.to_csv(tmp / TABLE_FILE, index=False)


def _analyse_files(paths: list[str], sample_rate: int, params: FeaturesParams) -> list[Analysis]:
    # Parallelism is over files; threaded BLAS on these small matrices only adds overhead.
    with threadpool_limits(limits=1, user_api="blas"):
        return analyse_batch([load_audio(path, sample_rate) for path in paths], sample_rate, params)
