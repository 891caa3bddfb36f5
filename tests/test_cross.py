"""Cross-corpus evaluation: the cross corpora's params, their preparation, and the scores,
metrics and matrix of models that were trained on another corpus."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from helpers import PROJECT, speech_like

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.cross.evaluate import evaluate_cross
from deepfake_audio.cross.prepare import prepare_cross
from deepfake_audio.errors import InputError
from deepfake_audio.metrics import CONDITION_COLUMNS, evaluate_scores
from deepfake_audio.models.files import read_card
from deepfake_audio.models.trained import model_path
from deepfake_audio.params import CrossCorpusParams, ParamsError, load_params, parse_params
from deepfake_audio.plots import eer_matrix
from deepfake_audio.vocabulary import MODEL_NAMES


@pytest.fixture
def raw():
    return yaml.safe_load((PROJECT / "params.yaml").read_text())


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"name": "x", "source": "stress"},
            "evaluate.cross.0: variant is required for source stress (e.g. unseen, narrowband)",
        ),
        (
            {"name": "x", "source": "stress", "variant": "noisy", "splits": ["dev"]},
            "evaluate.cross.0: a stress variant has an eval split only: splits must be [eval]",
        ),
        (
            {"name": "x", "source": "synthetic"},
            "evaluate.cross.0: the embedded corpus is the main corpus; a cross corpus drawn "
            "from it is a stress variant (source: stress, variant: unseen)",
        ),
        (
            {"name": "x", "source": "asvspoof2017"},
            "evaluate.cross.0: root (the folder of the local copy) is required for source asvspoof2017",
        ),
        (
            {"name": "x", "source": "custom", "root": None},
            "evaluate.cross.0: protocol (a CSV of path, label, split) is required for source "
            "custom and only used there",
        ),
        (
            {"name": "x", "source": "asvspoof2017", "root": "/data", "variant": "loud"},
            "evaluate.cross.0: variant is for source stress only",
        ),
        (
            {"name": "Has Space", "source": "stress", "variant": "loud"},
            "evaluate.cross.0.name: String should match",
        ),
    ],
)
def test_a_cross_corpus_must_fit_its_source(raw, entry, message):
    raw["evaluate"]["cross"] = [entry]
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "params.yaml")
    assert str(err.value).startswith(f"params.yaml: {message}")


def test_cross_corpora_need_their_own_names_and_another_corpus_seed(raw):
    raw["evaluate"]["cross"] = [{"name": "a", "source": "stress", "variant": "loud"}] * 2
    with pytest.raises(ParamsError, match=r"evaluate: cross: each corpus needs its own name; repeated: a$"):
        parse_params(raw, "params.yaml")
    raw["evaluate"]["cross"] = [{"name": "a", "source": "stress", "variant": "loud", "seed": raw["seed"]}]
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "params.yaml")
    assert str(err.value) == (
        "params.yaml: evaluate.cross (a): seed must differ from the main seed (2017), "
        "or the variant says the training corpus's takes"
    )


@pytest.fixture
def project(tmp_path, models_dir, monkeypatch):
    """A project folder holding trained models, their main metrics, and params whose one cross
    corpus is a CSV of a few files scored on dev and eval."""
    monkeypatch.chdir(tmp_path)
    os.symlink(models_dir, "models")
    params = load_params(PROJECT / "params.yaml")
    rows = []
    for number, (split, label) in enumerate(
        [("train", "bonafide"), ("train", "spoof")]
        + [(split, label) for split in ("dev", "eval") for label in ("bonafide", "spoof") for _ in range(2)]
    ):
        sf.write(tmp_path / f"{number}.wav", speech_like(0.8, seed=number), 16000, subtype="PCM_16")
        rows.append((f"{number}.wav", label, split, "-" if label == "bonafide" else "A01"))
    pd.DataFrame(rows, columns=["path", "label", "split", "attack"]).to_csv(
        tmp_path / "copy.csv", index=False
    )
    corpus = CrossCorpusParams(
        name="copy", source="custom", protocol=str(tmp_path / "copy.csv"), splits=("dev", "eval")
    )
    params = params.model_copy(
        update={
            "evaluate": params.evaluate.model_copy(update={"cross": (corpus,)}),
            "compute": params.compute.model_copy(update={"n_jobs": 1}),
        }
    )
    paths.METRICS.mkdir()
    for rank, name in enumerate(MODEL_NAMES):
        paths.metrics_file(name).write_text(json.dumps({"dev": {"eer": 1.0}, "eval": {"eer": 10.0 + rank}}))
    return params


def test_models_score_a_cross_corpus_at_their_cards_thresholds(project):
    prepare_cross(project)
    manifest = read_manifest(paths.CROSS_DATA / "copy" / "manifest.csv")
    assert manifest.groupby(["split", "label"]).size().to_dict() == {
        ("dev", "bonafide"): 2,
        ("dev", "spoof"): 2,
        ("eval", "bonafide"): 2,
        ("eval", "spoof"): 2,
    }
    assert manifest["attack"].tolist() == ["-", "-", "A01", "A01"] * 2

    evaluate_cross(project)
    metrics = json.loads((paths.CROSS_METRICS / "copy.json").read_text())
    assert list(metrics) == list(MODEL_NAMES)
    conditions = manifest.set_index("utt_id")[list(CONDITION_COLUMNS)]
    for name in MODEL_NAMES:
        scores = pd.read_csv(paths.CROSS_SCORES / "copy" / f"{name}.csv", dtype={"utt_id": str})
        assert list(scores.columns) == ["utt_id", "split", "label", "score"]
        assert scores["utt_id"].tolist() == manifest["utt_id"].tolist()
        card = read_card(model_path(paths.MODELS, name), name)
        threshold = card.threshold
        assert metrics[name] == evaluate_scores(
            scores.join(conditions, on="utt_id"),
            project.evaluate,
            threshold=threshold,
            calibration=card.score_calibration,
        )
        assert {"cllr", "min_cllr", "act_dcf", "min_dcf"} <= set(metrics[name]["eval"])
        assert metrics[name]["dev"]["decision_threshold"] == threshold  # never the cross dev's own
        assert metrics[name]["by_condition"]["eval"]["attack"]["A01"]["n_spoof"] == 2

    matrix = pd.read_csv(paths.CROSS_PLOTS / "matrix.csv")
    assert matrix.columns.tolist() == ["case", "model", "trained_on", "evaluated_on", "split", "eer"]
    assert matrix["case"].tolist()[:3] == ["svc on synthetic eval", "svc on copy dev", "svc on copy eval"]
    grid = eer_matrix(matrix)
    assert grid.index.tolist() == list(MODEL_NAMES) and grid.columns.tolist() == ["synthetic", "copy"]
    assert grid["synthetic"].tolist() == [10.0, 11.0, 12.0, 13.0]
    assert grid["copy"].tolist() == [metrics[name]["eval"]["eer"] for name in MODEL_NAMES]
    images = paths.CROSS_PLOTS / "images"
    assert sorted(str(path.relative_to(images)) for path in images.rglob("*.png")) == [
        "copy/attacks.png",
        "copy/conditions.png",
        "copy/roc.png",
        "matrix.png",
    ]
    assert (paths.CROSS_PLOTS / "copy" / "svc" / "det_svc.csv").is_file()


def test_a_bad_cross_corpus_is_named_and_leaves_nothing_behind(project, tmp_path):
    corpus = project.evaluate.cross[0].model_copy(update={"protocol": str(tmp_path / "absent.csv")})
    params = project.model_copy(update={"evaluate": project.evaluate.model_copy(update={"cross": (corpus,)})})
    with pytest.raises(InputError, match=r"^evaluate.cross \(copy\): .*absent"):
        prepare_cross(params)
    assert not paths.CROSS_DATA.exists()


def test_the_matrix_takes_each_corpus_eval_split_in_the_order_first_seen():
    table = pd.DataFrame(
        [
            ("svc", "main", "eval", 5.0),
            ("svc", "b", "dev", 7.0),
            ("svc", "b", "eval", 8.0),
            ("cnn", "main", "eval", 4.0),
            ("cnn", "b", "eval", np.nan),
        ],
        columns=["model", "evaluated_on", "split", "eer"],
    )
    grid = eer_matrix(table)
    assert grid.index.tolist() == ["svc", "cnn"] and grid.columns.tolist() == ["main", "b"]
    assert grid.loc["svc"].tolist() == [5.0, 8.0]
    assert grid.loc["cnn", "main"] == 4.0 and np.isnan(grid.loc["cnn", "b"])
