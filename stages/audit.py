"""DVC stage `audit`: how much each model's decisions rest on the non-speech around the speech.

Writes metrics/audit.json (numbers and each model's shortcut risk), plots/audit/ (plot data,
verdicts.md with the reason for each risk; figures in images/) and models/trimmed/ (the
models of audit.retrain, trained on trimmed audio).
"""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.audit.run import audit_corpus
from deepfake_audio.errors import run_stage
from deepfake_audio.params import load_params


def main() -> None:
    audit_corpus(load_params())


if __name__ == "__main__":
    run_stage(main)
