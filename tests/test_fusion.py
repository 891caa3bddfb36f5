import numpy as np
import pandas as pd
import pytest
from helpers import model_card

from deepfake_audio.errors import InputError
from deepfake_audio.metrics import equal_error_rate
from deepfake_audio.models.fusion import MODEL_FILE, fit_fusion, fusion_scores, load_fusion, save_fusion


def scores(n, seed):
    """Two models that each see half of the evidence, with independent noise."""
    rng = np.random.default_rng(seed)
    labels = np.array(["bonafide"] * n + ["spoof"] * n)
    bona = (labels == "bonafide").astype(float)
    frame = pd.DataFrame(
        {"svc": bona + rng.normal(0, 1.0, 2 * n), "cnn": 3 * bona + rng.normal(0, 2.0, 2 * n) - 5}
    )  # other scale and offset
    return frame, labels


def eer(values, labels):
    values = np.asarray(values)
    return equal_error_rate(values[labels == "bonafide"], values[labels == "spoof"])[0]


def test_fusion_beats_the_better_single_model():
    dev, dev_labels = scores(500, 0)
    test, test_labels = scores(500, 1)
    model = fit_fusion(dev, dev_labels)
    fused = eer(fusion_scores(model, test), test_labels)
    best_single = min(eer(test[name], test_labels) for name in ("svc", "cnn"))
    assert fused <= best_single
    assert fused < best_single - 0.02  # independent information: a clear gain
    # higher = more bona fide, and a second fit gives the same model
    assert fusion_scores(model, test)[test_labels == "bonafide"].mean() > 0
    np.testing.assert_array_equal(
        fusion_scores(fit_fusion(dev, dev_labels), test), fusion_scores(model, test)
    )


def test_round_trips_through_save_and_load(tmp_path):
    dev, labels = scores(50, 2)
    model = fit_fusion(dev, labels)
    path = tmp_path / MODEL_FILE
    save_fusion(model, path, model_card("fusion"))
    loaded = load_fusion(path)
    # column order of the input does not matter: columns are picked by name
    reordered = dev[["cnn", "svc"]]
    np.testing.assert_array_equal(fusion_scores(loaded, reordered), fusion_scores(model, dev))


def test_refuses_missing_columns():
    dev, labels = scores(50, 3)
    model = fit_fusion(dev, labels)
    with pytest.raises(InputError, match="cnn"):
        fusion_scores(model, dev[["svc"]])


def test_load_errors_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_fusion(tmp_path / "absent.skops")
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError, match="refused"):
        load_fusion(bad)


def test_the_fusion_stage_refuses_score_files_of_different_utterances(tmp_path, monkeypatch):
    from helpers import PROJECT

    from deepfake_audio.evaluation import evaluate_fusion
    from deepfake_audio.params import load_params

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "scores").mkdir(parents=True)
    for model, ids in (("svc", ["a", "b"]), ("cnn", ["a", "c"]), ("gmm", ["a", "b"])):
        pd.DataFrame(
            {"utt_id": ids, "split": "dev", "label": ["bonafide", "spoof"], "score": [1.0, -1.0]}
        ).to_csv(tmp_path / "data" / "scores" / f"{model}.csv", index=False)
    with pytest.raises(InputError) as refused:
        evaluate_fusion(load_params(PROJECT / "params.yaml"))
    assert str(refused.value) == (
        "data/scores/cnn.csv and data/scores/svc.csv score different utterances; "
        "rerun the evaluate stages (dvc repro evaluate)"
    )
    assert not (tmp_path / "models").exists()
