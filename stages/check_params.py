"""DVC stage `check_params`: validate the whole params.yaml before any stage removes its outputs.

The stamp it writes never changes, so a params edit reruns only the stages that use the
edited keys; a bad value stops `dvc repro` here, with one line naming the key.
"""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from pathlib import Path

from deepfake_audio.corpus.sources import check_main_source
from deepfake_audio.errors import run_stage
from deepfake_audio.io import atomic_path
from deepfake_audio.params import DEFAULT_PARAMS_FILE, load_params

STAMP = Path("data/params.checked")
STAMP_TEXT = "params.yaml matches the schema in deepfake_audio/params.py\n"


def main() -> None:
    check_main_source(load_params(DEFAULT_PARAMS_FILE))  # e.g. an evaluation-only corpus cannot be trained on
    with atomic_path(STAMP) as tmp:
        tmp.write_text(STAMP_TEXT)


if __name__ == "__main__":
    run_stage(main)
