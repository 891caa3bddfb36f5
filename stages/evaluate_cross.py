"""DVC stage `evaluate_cross`: every model scores each corpus of `evaluate.cross` at the thresholds
its card holds; score files, metrics/cross/<name>.json, plots/cross/ and the matrix of EERs."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.cross.evaluate import evaluate_cross
from deepfake_audio.errors import run_stage
from deepfake_audio.params import load_params


def main() -> None:
    evaluate_cross(load_params())


if __name__ == "__main__":
    run_stage(main)
