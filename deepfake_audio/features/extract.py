"""Extract features for a whole manifest in parallel, streaming them into the feature folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from deepfake_audio.audio import load_audio
from deepfake_audio.features.analysis import Analysis, analyse, feature_names
from deepfake_audio.features.store import ID_COLUMNS, LOG_MEL_FILE, TABLE_FILE
from deepfake_audio.io import atomic_path
from deepfake_audio.params import FeaturesParams

_CHUNK = 32


def extract_features(manifest: pd.DataFrame, out_dir: Path, params: FeaturesParams,
                     sample_rate: int, n_jobs: int) -> None:
    """Write the feature folder for ``manifest``; the folder appears only when complete."""
    paths = manifest["path"].tolist()
    chunks = [paths[start:start + _CHUNK] for start in range(0, len(paths), _CHUNK)]
    shape = (len(paths), params.n_mels, params.spectrogram.n_frames)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        log_mel = np.lib.format.open_memmap(tmp / LOG_MEL_FILE, mode="w+", dtype=np.float16, shape=shape)
        features = np.empty((len(paths), len(feature_names(params))))
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_analyse_files)(chunk, sample_rate, params) for chunk in chunks
        )
        row = 0
        with tqdm(total=len(paths), desc="featurize", unit="file", disable=None) as progress:
            for chunk_results in results:
                for analysis in chunk_results:
                    features[row] = analysis.features
                    log_mel[row] = analysis.log_mel
                    row += 1
                progress.update(len(chunk_results))
        log_mel.flush()
        del log_mel
        table = pd.concat(
            [manifest[ID_COLUMNS].reset_index(drop=True),
             pd.DataFrame(features, columns=feature_names(params))],
            axis=1,
        )
        table.to_csv(tmp / TABLE_FILE, index=False)


def _analyse_files(paths: list[str], sample_rate: int, params: FeaturesParams) -> list[Analysis]:
    return [analyse(load_audio(path, sample_rate), sample_rate, params) for path in paths]
