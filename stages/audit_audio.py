"""DVC stage `audit_audio`: the audit's edited audio, the same for every model.

Finds the speech of the audited split (and of train and dev when audit.retrain names a model)
and writes data/audit/edited/: speech.csv and the features of the files cut to their speech,
of the audited files with a transplanted head, and (to score the retrained models) of both edits.
"""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio.audit.edited import edit_audio
from deepfake_audio.errors import run_stage
from deepfake_audio.params import load_params


def main() -> None:
    edit_audio(load_params())


if __name__ == "__main__":
    run_stage(main)
