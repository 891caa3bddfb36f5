"""DVC stage `prepare`: list the corpus, screen every file, write the manifest, the files left out and counts."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import check_splits, rejected_table, screen_audio, summarize
from deepfake_audio.corpus.sources import corpus_location, list_corpus, splits_of
from deepfake_audio.errors import run_stage
from deepfake_audio.io import write_csv, write_json
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    manifest, rejected = screen_audio(
        list_corpus(params),
        params.prepare.min_duration_s,
        params.prepare.on_bad_audio,
        n_jobs=params.compute.n_jobs,
    )
    check_splits(manifest, corpus_location(params), splits_of(params))
    write_csv(paths.MANIFEST, manifest)
    write_csv(paths.REJECTED, rejected_table(rejected))
    write_json(paths.DATA_METRICS, summarize(manifest, rejected))


if __name__ == "__main__":
    run_stage(main)
