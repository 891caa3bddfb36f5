"""DVC stage `download`: put the corpus under data/raw/<source> in ASVspoof 2017 V2 layout."""

from deepfake_audio.corpus.synthetic import generate_corpus
from deepfake_audio.errors import InputError, run_stage
from deepfake_audio.io import atomic_path
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    if params.data.source != "synthetic":
        raise InputError(
            f"params.yaml: data.source: {params.data.source!r} is not supported yet "
            "(downloads, local copies and custom datasets are the next milestone); use 'synthetic'"
        )
    with atomic_path(params.data.corpus_dir) as corpus_dir:
        generate_corpus(corpus_dir, params.synthetic, sample_rate=params.data.sample_rate,
                        seed=params.seed, n_jobs=params.compute.n_jobs)


if __name__ == "__main__":
    run_stage(main)
