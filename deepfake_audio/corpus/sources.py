"""The three corpus sources behind one interface: obtain the corpus, then list it.

``synthetic`` generates the embedded corpus, ``asvspoof2017`` downloads and verifies the
real one (or checks a local copy given as ``data.root``), ``custom`` reads a CSV.
"""

from __future__ import annotations

import pandas as pd

from deepfake_audio.corpus.custom import manifest_from_csv
from deepfake_audio.corpus.fetch import corpus_splits, fetch_asvspoof2017, verify_local_copy
from deepfake_audio.corpus.manifest import manifest_from_asvspoof2017
from deepfake_audio.corpus.synthetic import generate_corpus
from deepfake_audio.io import atomic_path
from deepfake_audio.params import Params
from deepfake_audio.vocabulary import SPLITS


def splits_of(params: Params) -> tuple[str, ...]:
    if params.data.source == "asvspoof2017":
        return corpus_splits(params.download.skip_eval)
    return SPLITS


def corpus_location(params: Params) -> str:
    return _protocol_csv(params) if params.data.source == "custom" else str(params.data.corpus_dir)


def _protocol_csv(params: Params) -> str:
    assert params.data.protocol is not None  # DataParams requires one for source custom
    return params.data.protocol


def acquire_corpus(params: Params) -> dict:
    """Generate, download or check the corpus; returns a record of what is used."""
    data = params.data
    if data.source == "synthetic":
        with atomic_path(data.corpus_dir) as corpus_dir:
            generate_corpus(
                corpus_dir,
                params.synthetic,
                sample_rate=data.sample_rate,
                seed=params.seed,
                n_jobs=params.compute.n_jobs,
            )
    elif data.source == "asvspoof2017" and data.root:
        verify_local_copy(data.corpus_dir, splits_of(params))
    elif data.source == "asvspoof2017":
        fetch_asvspoof2017(data.corpus_dir, params.download)
    else:
        manifest_from_csv(_protocol_csv(params))  # refuse a bad CSV before any work is done
    return {"source": data.source, "corpus": corpus_location(params), "splits": list(splits_of(params))}


def list_corpus(params: Params) -> pd.DataFrame:
    """The manifest rows of the configured corpus (durations not yet filled in)."""
    if params.data.source == "custom":
        return manifest_from_csv(_protocol_csv(params))
    return manifest_from_asvspoof2017(params.data.corpus_dir, splits_of(params))
