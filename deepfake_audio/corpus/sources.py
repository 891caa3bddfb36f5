"""The corpus sources behind one interface: obtain the corpus, then list it.

``SOURCES`` is the one registry (``data.source`` -> how to obtain, list and split it), so a new
source is one entry here and one layout module:

- ``synthetic`` generates the embedded corpus;
- ``asvspoof2017`` downloads and verifies the real one, or checks a local copy (``data.root``);
- ``custom`` reads a CSV;
- ``asvspoof2019_la``, ``asvspoof2019_pa``, ``asvspoof5``, ``in_the_wild``: local copies at
  ``data.root``, verified in place at the ``download`` stage (``local_copy``);
- ``asvspoof2021_la``, ``asvspoof2021_df``: local copies of evaluation data only, for
  cross-corpus evaluation; ``check_main_source`` refuses them as the main corpus.

docs/corpora.md describes each layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from deepfake_audio.corpus import asvspoof5, asvspoof2019, asvspoof2021, in_the_wild
from deepfake_audio.corpus.custom import manifest_from_csv
from deepfake_audio.corpus.fetch import corpus_splits, fetch_asvspoof2017, verify_local_copy
from deepfake_audio.corpus.manifest import CorpusError, manifest_from_asvspoof2017
from deepfake_audio.corpus.synthetic import generate_corpus
from deepfake_audio.io import atomic_path
from deepfake_audio.params import Params, ParamsError
from deepfake_audio.vocabulary import SPLITS


@dataclass(frozen=True)
class Source:
    """How one ``data.source`` is obtained (generated, downloaded or checked), listed and split."""

    acquire: Callable[[Params], None]
    listing: Callable[[Params], pd.DataFrame]
    splits: Callable[[Params], tuple[str, ...]]
    # Why it cannot be the main corpus (trained and tuned on), or None.
    main_problem: Callable[[Params], str | None]


def _all_splits(params: Params) -> tuple[str, ...]:
    return SPLITS


def _can_be_main(params: Params) -> str | None:
    return None


def _generate(params: Params) -> None:
    data = params.data
    with atomic_path(data.corpus_dir) as corpus_dir:
        generate_corpus(
            corpus_dir,
            params.synthetic,
            sample_rate=data.sample_rate,
            seed=params.seed,
            n_jobs=params.compute.n_jobs,
        )


def _asvspoof2017_splits(params: Params) -> tuple[str, ...]:
    return corpus_splits(params.download.skip_eval)


def _acquire_asvspoof2017(params: Params) -> None:
    if params.data.root:
        verify_local_copy(params.data.corpus_dir, _asvspoof2017_splits(params))
    else:
        fetch_asvspoof2017(params.data.corpus_dir, params.download)


def _list_asvspoof2017(params: Params) -> pd.DataFrame:
    return manifest_from_asvspoof2017(params.data.corpus_dir, splits_of(params))


def _protocol_csv(params: Params) -> str:
    assert params.data.protocol is not None  # DataParams requires one for source custom
    return params.data.protocol


def _check_csv(params: Params) -> None:
    manifest_from_csv(_protocol_csv(params))  # refuse a bad CSV before any work is done


def _list_csv(params: Params) -> pd.DataFrame:
    return manifest_from_csv(_protocol_csv(params))


def _local_root(params: Params) -> Path:
    """The folder of a local copy (``data.root``, which DataParams requires for these sources)."""
    root = params.data.corpus_dir
    if not root.is_dir():
        raise CorpusError(f"{root}: data.root is not a folder (the local copy of {params.data.source})")
    return root


def _asvspoof2019(track: str) -> Source:
    return Source(
        acquire=lambda params: asvspoof2019.verify(
            _local_root(params), SPLITS, track=track, n_jobs=params.compute.n_jobs
        ),
        listing=lambda params: asvspoof2019.manifest(_local_root(params), SPLITS, track=track),
        splits=_all_splits,
        main_problem=_can_be_main,
    )


def _asvspoof2021(track: str) -> Source:
    return Source(
        acquire=lambda params: asvspoof2021.verify(
            _local_root(params), track=track, n_jobs=params.compute.n_jobs
        ),
        listing=lambda params: asvspoof2021.manifest(_local_root(params), track=track),
        splits=lambda params: asvspoof2021.EVAL_ONLY,
        main_problem=lambda params: (
            f"data.source: {params.data.source} is evaluation data only (no train or dev split), so "
            "it cannot be the main corpus: train on asvspoof2019_la and list "
            f"{params.data.source} in evaluate.cross for cross-corpus evaluation"
        ),
    )


def _in_the_wild_problem(params: Params) -> str | None:
    if params.data.speaker_split is not None:
        return None
    return (
        "data.speaker_split: in_the_wild publishes no split; set data.speaker_split (e.g. "
        "{dev: 0.2, eval: 0.2}) to train on it, or list it in evaluate.cross for cross-corpus evaluation"
    )


SOURCES: dict[str, Source] = {
    "synthetic": Source(_generate, _list_asvspoof2017, _all_splits, _can_be_main),
    "asvspoof2017": Source(_acquire_asvspoof2017, _list_asvspoof2017, _asvspoof2017_splits, _can_be_main),
    "custom": Source(_check_csv, _list_csv, _all_splits, _can_be_main),
    "asvspoof2019_la": _asvspoof2019("LA"),
    "asvspoof2019_pa": _asvspoof2019("PA"),
    "asvspoof2021_la": _asvspoof2021("LA"),
    "asvspoof2021_df": _asvspoof2021("DF"),
    "in_the_wild": Source(
        acquire=lambda params: in_the_wild.verify(_local_root(params), n_jobs=params.compute.n_jobs),
        listing=lambda params: in_the_wild.manifest(_local_root(params), params.data.speaker_split),
        splits=lambda params: in_the_wild.splits(params.data.speaker_split),
        main_problem=_in_the_wild_problem,
    ),
    "asvspoof5": Source(
        acquire=lambda params: asvspoof5.verify(_local_root(params), SPLITS, n_jobs=params.compute.n_jobs),
        listing=lambda params: asvspoof5.manifest(_local_root(params), SPLITS),
        splits=_all_splits,
        main_problem=_can_be_main,
    ),
}


def splits_of(params: Params) -> tuple[str, ...]:
    return SOURCES[params.data.source].splits(params)


def corpus_location(params: Params) -> str:
    return _protocol_csv(params) if params.data.source == "custom" else str(params.data.corpus_dir)


def check_main_source(params: Params) -> None:
    """Stop if ``data.source`` cannot be the main corpus (trained and tuned on): evaluation-only
    data (ASVspoof 2021), or In-the-Wild without a speaker split. Cross-corpus evaluation
    obtains and lists such corpora with ``acquire_corpus`` and ``list_corpus`` all the same."""
    problem = SOURCES[params.data.source].main_problem(params)
    if problem:
        raise ParamsError(problem)


def acquire_corpus(params: Params) -> dict:
    """Generate, download or check the corpus; returns a record of what is used."""
    SOURCES[params.data.source].acquire(params)
    return {
        "source": params.data.source,
        "corpus": corpus_location(params),
        "splits": list(splits_of(params)),
    }


def list_corpus(params: Params) -> pd.DataFrame:
    """The manifest rows of the configured corpus (durations not yet filled in)."""
    return SOURCES[params.data.source].listing(params)
