"""DVC stage `audit_report`: how much each model's decisions rest on the non-speech around the speech.

From the audit scores of the single models (stages audit@svc, audit@cnn), the fusion's computed
from them, and the untrimmed scores of evaluate, writes metrics/audit.json (numbers and each
model's shortcut risk) and plots/audit/ (plot data, the speech found, verdicts.md with the reason
for each risk; figures in images/).
"""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.audit.run import audit_report
from deepfake_audio.errors import run_stage
from deepfake_audio.params import load_params


def main() -> None:
    audit_report(load_params())


if __name__ == "__main__":
    run_stage(main)
