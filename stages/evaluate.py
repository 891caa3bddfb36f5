"""DVC stage `evaluate`: score dev and eval with every model, fuse them, write metrics and plots."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.errors import run_stage
from deepfake_audio.evaluation import evaluate_models
from deepfake_audio.params import load_params


def main() -> None:
    evaluate_models(load_params())


if __name__ == "__main__":
    run_stage(main)
