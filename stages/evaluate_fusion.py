"""DVC stage `evaluate_fusion`: train the fusion on the single models' dev scores; write its score
file, metrics and plots, and the figures comparing all models."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.errors import run_stage
from deepfake_audio.evaluation import evaluate_fusion
from deepfake_audio.params import load_params


def main() -> None:
    evaluate_fusion(load_params())


if __name__ == "__main__":
    run_stage(main)
