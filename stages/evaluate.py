"""DVC stage `evaluate@<model>`: score dev and eval with one single model (svc or cnn); write its
score file, metrics and plots. `python stages/evaluate.py svc`."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.errors import run_stage, stage_model
from deepfake_audio.evaluation import evaluate_model
from deepfake_audio.params import load_params
from deepfake_audio.vocabulary import SINGLE_MODELS


def main() -> None:
    evaluate_model(stage_model(SINGLE_MODELS), load_params())


if __name__ == "__main__":
    run_stage(main)
