"""DVC stage `audit@<model>`: one single model (svc or cnn) on the audit's edited audio.
`python stages/audit.py svc`.

Writes data/audit/scores/<model>.csv (its scores on the trimmed and the transplanted files) and
models/trimmed/<model>/: where audit.retrain names the model, the model retrained on trimmed
audio (its scores are in the score file too); empty otherwise.
"""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.audit.scores import audit_model
from deepfake_audio.errors import run_stage, stage_model
from deepfake_audio.params import load_params
from deepfake_audio.vocabulary import SINGLE_MODELS


def main() -> None:
    audit_model(stage_model(SINGLE_MODELS), load_params())


if __name__ == "__main__":
    run_stage(main)
