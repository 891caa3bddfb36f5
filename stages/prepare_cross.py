"""DVC stage `prepare_cross`: obtain, screen and featurize each corpus of `evaluate.cross`."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.cross.prepare import prepare_cross
from deepfake_audio.errors import run_stage
from deepfake_audio.params import load_params


def main() -> None:
    prepare_cross(load_params())


if __name__ == "__main__":
    run_stage(main)
