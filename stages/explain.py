"""DVC stage `explain@<model>`: what one model (svc or cnn) relies on, as figures and a metrics
summary: plots/explain/<model>/ (plot data; figures in images/) and metrics/explain_<model>.json.
`python stages/explain.py svc`."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.errors import run_stage, stage_model
from deepfake_audio.explain.run import explain_model
from deepfake_audio.params import load_params
from deepfake_audio.vocabulary import SINGLE_MODELS


def main() -> None:
    explain_model(stage_model(SINGLE_MODELS), load_params())


if __name__ == "__main__":
    run_stage(main)
