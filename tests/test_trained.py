"""The model registry: one file per model, the card's threshold, TensorFlow only for the CNN."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import soundfile as sf
from helpers import PROJECT, SAMPLE_RATE, model_card, speech_like

from deepfake_audio.metrics import evaluate_scores
from deepfake_audio.models import fusion, gmm, svc
from deepfake_audio.models.trained import (
    MODEL_FILES,
    REGISTRY,
    decision_threshold,
    load_models,
    models_needed,
    save_model,
)
from deepfake_audio.params import load_params
from deepfake_audio.vocabulary import MODEL_NAMES

# Scores one file in a fresh process, then reports which of TensorFlow, Keras and skops it imported.
SCORE_AND_REPORT_IMPORTS = """
import json, sys
from deepfake_audio.cli import main
from deepfake_audio.detector import Detector
models_dir, model, wav = sys.argv[1:]
Detector.load(models_dir, model=model).score(wav)
assert main(["predict", "--model", model, "--models-dir", models_dir, wav]) == 0
print(json.dumps([name for name in ("tensorflow", "keras", "skops") if name in sys.modules]))
"""


def test_every_model_is_registered_under_the_file_its_module_writes():
    from deepfake_audio.models import cnn

    assert tuple(REGISTRY) == MODEL_NAMES
    assert MODEL_FILES == {
        "svc": svc.MODEL_FILE,
        "cnn": cnn.MODEL_FILE,
        "gmm": gmm.MODEL_FILE,
        "fusion": fusion.MODEL_FILE,
    }
    assert models_needed("svc") == ("svc",) and models_needed("fusion") == ("svc", "cnn", "gmm", "fusion")


def test_the_decision_threshold_is_the_cards_and_evaluate_applies_it(tmp_path, models_dir):
    model = load_models(models_dir, ("svc",))["svc"]
    save_model("svc", model, tmp_path, card=model_card("svc", threshold=0.25))
    assert decision_threshold(tmp_path, "svc") == 0.25

    scores = pd.DataFrame(
        {
            "split": ["dev"] * 4 + ["eval"] * 4,
            "label": ["bonafide", "bonafide", "spoof", "spoof"] * 2,
            "score": [2.0, 3.0, 0.0, 1.0, 0.3, 3.0, 0.2, 1.0],
        }
    )
    params = load_params(PROJECT / "params.yaml").evaluate
    metrics = evaluate_scores(scores, params, threshold=decision_threshold(tmp_path, "svc"))
    assert metrics["dev"]["decision_threshold"] == metrics["eval"]["decision_threshold"] == 0.25
    assert (
        metrics["eval"]["recall"] == 0.5
    )  # the spoof at 1.0 is accepted at 0.25 (at the dev EER's 1.0, not)
    assert evaluate_scores(scores, params)["eval"]["decision_threshold"] == 1.0  # no card: the dev EER's


@pytest.mark.parametrize(("model", "imported"), [("svc", ["skops"]), ("cnn", ["tensorflow", "keras"])])
def test_tensorflow_is_imported_only_for_the_cnn_and_skops_only_for_scikit_learn_models(
    tmp_path, models_dir, model, imported
):
    sf.write(tmp_path / "a.wav", speech_like(), SAMPLE_RATE)
    done = subprocess.run(
        [sys.executable, "-c", SCORE_AND_REPORT_IMPORTS, str(models_dir), model, str(tmp_path / "a.wav")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == imported
