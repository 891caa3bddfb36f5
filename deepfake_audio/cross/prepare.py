"""Cross-corpus evaluation, part one (stage ``prepare_cross``): each corpus that ``evaluate.cross``
lists is obtained (a stress variant of the embedded corpus is rendered; a local copy of a real
corpus is verified as a main corpus would be), screened as ``prepare`` screens, and featurized
with the main corpus's settings, into ``data/cross/<name>/``. ``evaluate.py`` scores them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import check_splits, rejected_table, screen_audio
from deepfake_audio.corpus.sources import acquire_corpus, list_corpus
from deepfake_audio.errors import InputError
from deepfake_audio.features.extract import extract_features
from deepfake_audio.io import atomic_path, write_csv
from deepfake_audio.params import STRESS_SOURCE, CrossCorpusParams, Params
from deepfake_audio.stress import write_stress_variant

MANIFEST_FILE = "manifest.csv"
REJECTED_FILE = "rejected.csv"
FEATURES_DIR = "features"
RAW_DIR = "raw"  # a stress variant's audio; a real corpus stays where its root is


def prepare_cross(params: Params) -> None:
    """Stage ``prepare_cross``: ``data/cross/<name>/`` for every corpus of ``evaluate.cross``,
    each with its manifest, the files its screening left out and its features."""
    with atomic_path(paths.CROSS_DATA) as folder:
        folder.mkdir()
        for corpus in params.evaluate.cross:
            try:
                prepare_cross_corpus(
                    corpus, params, folder=folder / corpus.name, final=paths.CROSS_DATA / corpus.name
                )
            except InputError as err:
                raise InputError(f"evaluate.cross ({corpus.name}): {err}") from None


def prepare_cross_corpus(corpus: CrossCorpusParams, params: Params, *, folder: Path, final: Path) -> None:
    """Write ``corpus``'s manifest, files left out and features into ``folder``, which is to
    become ``final``: the manifest names the audio rendered into ``folder`` by its final path."""
    folder.mkdir()
    manifest, rejected = screen_audio(
        _listed(corpus, params, raw_dir=folder / RAW_DIR),
        params.prepare.min_duration_s,
        params.prepare.on_bad_audio,
        n_jobs=params.compute.n_jobs,
    )
    check_splits(manifest, corpus.name, corpus.splits)
    extract_features(manifest, folder / FEATURES_DIR, params.analysis_settings, compute=params.compute)

    def moved(path: str) -> str:
        return str(final / Path(path).relative_to(folder)) if Path(path).is_relative_to(folder) else path

    write_csv(folder / MANIFEST_FILE, manifest.assign(path=manifest["path"].map(moved)))
    rejected_rows = rejected_table(rejected)
    write_csv(folder / REJECTED_FILE, rejected_rows.assign(path=rejected_rows["path"].map(moved)))


def _listed(corpus: CrossCorpusParams, params: Params, *, raw_dir: Path) -> pd.DataFrame:
    """The manifest rows of ``corpus``'s chosen splits (durations not yet screened)."""
    if corpus.source == STRESS_SOURCE:
        assert corpus.variant is not None  # CrossCorpusParams requires one for source stress
        return write_stress_variant(
            raw_dir,
            corpus.variant,
            params.synthetic,
            sample_rate=params.data.sample_rate,
            seed=corpus.seed,
            n_jobs=params.compute.n_jobs,
        )
    as_main = params.model_copy(update={"data": corpus.data_params(params.data.sample_rate)})
    acquire_corpus(as_main)
    listed = list_corpus(as_main)
    return listed[listed["split"].isin(corpus.splits)].reset_index(drop=True)
