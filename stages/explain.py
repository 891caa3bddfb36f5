"""DVC stage `explain`: what the SVC and the CNN rely on, as figures and a metrics summary.

Writes plots/explain/ (plot data; figures in images/) and metrics/explain.json.
"""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.errors import run_stage
from deepfake_audio.explain.run import explain_models
from deepfake_audio.params import load_params


def main() -> None:
    explain_models(load_params())


if __name__ == "__main__":
    run_stage(main)
