"""DVC stage `download`: generate, download or check the corpus named by `data.source`."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio import paths
from deepfake_audio.corpus.sources import acquire_corpus, check_main_source
from deepfake_audio.errors import run_stage
from deepfake_audio.io import write_json
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    check_main_source(params)  # the main corpus needs train and dev splits
    write_json(paths.SOURCE_RECORD, acquire_corpus(params))


if __name__ == "__main__":
    run_stage(main)
