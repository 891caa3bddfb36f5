"""End to end: the real dvc.yaml on a tiny corpus, in a throwaway git repository."""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.metrics import CONDITION_COLUMNS, equal_error_rate, evaluate_scores
from deepfake_audio.params import load_params

PROJECT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
TINY_SPLIT = {
    "speakers": 2,
    "genuine": 10,
    "spoof": 10,
    "environments": 2,
    "playback_devices": 2,
    "recorders": 2,
    "replay_configs": 3,
}
ALL_STAGES = [
    "check_params",
    "download",
    "prepare",
    "featurize",
    "train_svc",
    "train_cnn",
    "train_gmm",
    "evaluate@svc",
    "evaluate@cnn",
    "evaluate@gmm",
    "evaluate_fusion",
    "prepare_cross",
    "evaluate_cross",
    "explain@svc",
    "explain@cnn",
    "explain@gmm",
    "audit_audio",
    "audit@svc",
    "audit@cnn",
    "audit@gmm",
    "audit_report",
]
# What a change to the SVC's params reruns: its work, the fusion and the audit's summary, never
# another model's (test_dvc_yaml checks the same of every model on DVC's graph, without running).
SVC_STAGES = [
    "check_params",
    "train_svc",
    "evaluate@svc",
    "evaluate_fusion",
    "evaluate_cross",
    "explain@svc",
    "audit@svc",
    "audit_report",
]
CASES = ["bonafide_most_confident", "spoof_most_confident", "bonafide_worst", "spoof_worst"]
EXPLAIN_IMAGES = {
    "svc": {
        "permutation_importance.png",
        "shap_summary.png",
        "shap_bar.png",
        "shap_families.png",
        *(f"lime_{case}_1.png" for case in CASES),
    },
    "cnn": {"gradcam_profiles.png", *(f"gradcam_{case}_1.png" for case in CASES)},
    "gmm": {"permutation_importance.png"},
}

pytestmark = pytest.mark.slow


def run(args, cwd):
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def dvc(*args, cwd):
    return run([str(VENV_BIN / "dvc"), *args], cwd)


def stages_run(repro_output):
    return [line.split("'")[1] for line in repro_output.splitlines() if line.startswith("Running stage")]


def set_params(repo, update):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    update(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def commit(repo, message):
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", message], repo)


def read_json(path):
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The project's files (committed or not, minus ignored and generated ones) in a fresh
    git repository with a tiny corpus, after a first `dvc repro` that is committed."""
    repo = tmp_path_factory.mktemp("project")
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], PROJECT).splitlines()
    for name in listed:
        source = PROJECT / name
        if source.is_file() and not name.startswith(("dvc.lock", "metrics/", "plots/")):
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)

    def tiny(params):
        # Copies: one dict three times would be dumped as a YAML anchor and aliases, which params.yaml refuses.
        params["synthetic"].update(
            train=dict(TINY_SPLIT), dev=dict(TINY_SPLIT), eval=dict(TINY_SPLIT), phrases=2
        )
        params["features"]["spectrogram"]["n_frames"] = 48
        params["train_cnn"].update(lcnn_width=0.25, epochs=2, batch_size=8, seeds=[1, 2], crop_frames=32)
        params["train_gmm"].update(components=4)
        params["compute"]["n_jobs"] = 1
        params["explain"].update(
            permutation={"repeats": 2},
            # Above 6 features LIME keeps the strongest weights, as with the default 10; at 6 or
            # fewer it runs a forward selection that costs seconds per case.
            lime={"features": 7, "samples": 200},
            shap={"background": 4, "utterances": 6, "samples": 400},
        )

    set_params(repo, tiny)
    run(["git", "init", "-q"], repo)
    commit(repo, "tiny project")
    first_run = dvc("repro", cwd=repo)
    commit(repo, "first run")
    return repo, first_run


def test_repro_runs_every_stage_once(repo):
    _, first_run = repo
    stages = stages_run(first_run)
    assert sorted(stages) == sorted(ALL_STAGES)
    assert stages[:4] == ALL_STAGES[:4]
    after = {
        "evaluate_fusion": ["evaluate@svc", "evaluate@cnn", "evaluate@gmm"],
        "audit@svc": ["audit_audio", "evaluate@svc"],
        "audit@cnn": ["audit_audio", "evaluate@cnn"],
        "audit@gmm": ["audit_audio", "evaluate@gmm"],
        "audit_report": ["audit@svc", "audit@cnn", "audit@gmm", "evaluate_fusion"],
        "evaluate_cross": ["prepare_cross", "evaluate_fusion"],
    }
    assert all(
        stages.index(stage) > stages.index(before) for stage, befores in after.items() for before in befores
    )


def test_a_refused_param_stops_before_any_stage_loses_its_outputs(repo):
    """DVC removes a stage's outputs before running it: check_params must refuse first."""
    repo, _ = repo
    models = {path: path.read_bytes() for path in sorted((repo / "models").glob("*.*"))}
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [str(VENV_BIN / "dvc"), "exp", "run", "-S", "train_svc.C=fast"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert (
        "error: params.yaml: train_svc.C: Input should be a valid number (got 'fast')"
        in done.stdout + done.stderr
    )
    assert {path: path.read_bytes() for path in sorted((repo / "models").glob("*.*"))} == models
    run(["git", "checkout", "params.yaml"], repo)
    # dvc exp run puts the stamp back from the cache after the failure; at most it is rewritten.
    assert set(stages_run(dvc("repro", cwd=repo))) <= {"check_params"}
    assert "Data and pipelines are up to date" in dvc("status", cwd=repo)


def metrics_from_scores(repo, model):
    """What metrics/<model>.json must hold, recomputed from the score file and the manifest at the
    threshold and calibration of the model's card."""
    from deepfake_audio.models.trained import decision_calibration, decision_threshold

    scores = pd.read_csv(repo / "data" / "scores" / f"{model}.csv", dtype={"utt_id": str})
    manifest = read_manifest(repo / "data" / "prepared" / "manifest.csv").set_index("utt_id")
    conditions = manifest[[column for column in CONDITION_COLUMNS if column in manifest.columns]]
    return evaluate_scores(
        scores.join(conditions, on="utt_id"),
        load_params(repo / "params.yaml").evaluate,
        threshold=decision_threshold(repo / "models", model),
        calibration=decision_calibration(repo / "models", model),
    )


def test_metrics_follow_from_the_committed_scores(repo):
    repo, _ = repo
    for model in ("svc", "cnn", "gmm", "fusion"):
        scores = pd.read_csv(repo / "data" / "scores" / f"{model}.csv")
        assert list(scores.columns) == ["utt_id", "split", "label", "score"]
        assert scores.groupby(["split", "label"]).size().to_dict() == {
            ("dev", "bonafide"): 10,
            ("dev", "spoof"): 10,
            ("eval", "bonafide"): 10,
            ("eval", "spoof"): 10,
        }
        metrics = read_json(repo / "metrics" / f"{model}.json")
        assert metrics == metrics_from_scores(repo, model)
        assert {"eer_rocch", "min_dcf", "eer_ci95", "roc_auc_ci95", "act_dcf", "cllr", "min_cllr"} <= set(
            metrics["eval"]
        )
        assert metrics["eval"]["act_dcf"] >= metrics["eval"]["min_dcf"]
        assert metrics["eval"]["cllr"] >= metrics["eval"]["min_cllr"]
        # the dev EER threshold of the scores is the card's
        assert metrics["dev"]["decision_threshold"] == metrics["dev"]["eer_threshold"]
        assert "condition" in metrics["by_condition"]["eval"]
    data = read_json(repo / "metrics" / "data.json")
    assert data["train"]["n_bonafide"] == 10 and data["eval"]["n_spoof"] == 10
    train_cnn = read_json(repo / "metrics" / "train_cnn.json")
    assert [train_cnn["seeds"][seed]["epochs_run"] for seed in ("1", "2")] == [2, 2]
    assert set(train_cnn["member_dev_eer"]) == {"mean", "std"}
    curves = pd.read_csv(repo / "plots" / "train_cnn" / "curves.csv")
    assert curves[["seed", "epoch"]].values.tolist() == [[1, 1], [1, 2], [2, 1], [2, 2]]


def test_cross_metrics_follow_from_the_cross_score_files_at_the_main_dev_thresholds(repo):
    from deepfake_audio.models.trained import decision_calibration, decision_threshold

    repo, _ = repo
    names = [corpus.name for corpus in load_params(repo / "params.yaml").evaluate.cross]
    assert names == ["unseen", "narrowband"]
    matrix = pd.read_csv(repo / "plots" / "cross" / "matrix.csv")
    for name in names:
        manifest = read_manifest(repo / "data" / "cross" / name / "manifest.csv")
        assert set(manifest["split"]) == {"eval"} and len(manifest) == 20
        # The rendered audio is named where the stage left it, not where it was written first.
        assert manifest["path"].str.startswith(f"data/cross/{name}/raw/").all()
        assert all((repo / path).is_file() for path in manifest["path"])
        conditions = manifest.set_index("utt_id")[list(CONDITION_COLUMNS)]
        metrics = read_json(repo / "metrics" / "cross" / f"{name}.json")
        assert list(metrics) == ["svc", "cnn", "gmm", "fusion"]
        for model, model_metrics in metrics.items():
            scores = pd.read_csv(
                repo / "data" / "scores" / "cross" / name / f"{model}.csv", dtype={"utt_id": str}
            )
            assert list(scores.columns) == ["utt_id", "split", "label", "score"]
            main_threshold = read_json(repo / "metrics" / f"{model}.json")["dev"]["decision_threshold"]
            assert decision_threshold(repo / "models", model) == main_threshold
            recomputed = evaluate_scores(
                scores.join(conditions, on="utt_id"),
                load_params(repo / "params.yaml").evaluate,
                threshold=main_threshold,
                calibration=decision_calibration(repo / "models", model),
            )
            assert model_metrics == recomputed
            assert model_metrics["eval"]["decision_threshold"] == main_threshold
            assert set(model_metrics["by_condition"]["eval"]) >= {"attack", "condition"}
            row = matrix[(matrix["model"] == model) & (matrix["evaluated_on"] == name)]
            assert row[["trained_on", "split", "eer"]].values.tolist() == [
                ["synthetic", "eval", model_metrics["eval"]["eer"]]
            ]
    main = matrix[matrix["evaluated_on"] == "synthetic"]
    assert main["model"].tolist() == ["svc", "cnn", "gmm", "fusion"]
    assert main["eer"].tolist() == [
        read_json(repo / "metrics" / f"{model}.json")["eval"]["eer"]
        for model in ("svc", "cnn", "gmm", "fusion")
    ]
    assert matrix["case"].tolist()[:3] == [
        "svc on synthetic eval",
        "svc on unseen eval",
        "svc on narrowband eval",
    ]


def test_declared_plots_resolve_to_data(repo):
    repo, _ = repo
    plots = json.loads(dvc("plots", "show", "--json", cwd=repo))["data"]
    images = {
        f"plots/explain/{model}/images/{name}" for model, names in EXPLAIN_IMAGES.items() for name in names
    } | {f"plots/audit/images/{name}" for name in ("audit.png", "speech.png")}
    images |= {"plots/cross/images/matrix.png"} | {
        f"plots/cross/images/{corpus}/{name}.png"
        for corpus in ("unseen", "narrowband")
        for name in ("roc", "conditions", "attacks")
    }
    assert (
        set(plots)
        == {
            "roc",
            "det",
            "hist_svc",
            "hist_cnn",
            "hist_gmm",
            "hist_fusion",
            "confusion",
            "conditions",
            "attacks",
            "cross_matrix",
            "cnn_loss",
            "cnn_dev_eer",
            "permutation_importance",
            "permutation_families",
            "shap_importance",
            "shap_families",
            "gmm_permutation_importance",
            "gradcam_frequency",
            "gradcam_time",
            "audit_eer",
            "audit_far",
            "audit_frr",
        }
        | images
    )
    assert all(plots[image][0]["type"] == "image" for image in images)
    roc_rows = plots["roc"][0]["content"]["data"]["values"]
    assert {row["filename"] for row in roc_rows} == {
        f"{model}/roc_{model}.csv" for model in ("svc", "cnn", "gmm", "fusion")
    }
    confusion_rows = plots["confusion"][0]["content"]["data"]["values"]
    assert len(confusion_rows) == 4 * 20  # every eval utterance, for each model
    assert {"fpr", "tpr"} <= set(roc_rows[0])
    loss_rows = plots["cnn_loss"][0]["content"]["data"]["values"]
    assert len(loss_rows) == 2 * 2 * 2  # train and dev loss, two seeds, two epochs
    eer_rows = plots["cnn_dev_eer"][0]["content"]["data"]["values"]
    assert [(row["seed"], row["epoch"]) for row in eer_rows] == [
        ("1", "1"),
        ("1", "2"),
        ("2", "1"),
        ("2", "2"),
    ]
    assert all(0 <= float(row["dev_eer"]) <= 100 for row in eer_rows)
    audit_rows = plots["audit_eer"][0]["content"]["data"]["values"]
    assert [row["case"] for row in audit_rows] == [
        "svc, untrimmed",
        "svc, trimmed",
        "svc, retrained on trimmed",
        "cnn, untrimmed",
        "cnn, trimmed",
        "gmm, untrimmed",
        "gmm, trimmed",
        "fusion, untrimmed",
        "fusion, trimmed",
    ]


def test_explain_writes_its_figures_data_and_summary(repo):
    repo, _ = repo
    out = {model: repo / "plots" / "explain" / model for model in ("svc", "cnn", "gmm")}
    for model, names in EXPLAIN_IMAGES.items():
        assert {path.name for path in (out[model] / "images").iterdir()} == names
    permutation = pd.read_csv(out["svc"] / "permutation_importance.csv")
    assert list(permutation.columns) == ["feature", "importance", "std"] and len(permutation) == 15
    feature_names = set(pd.read_csv(repo / "data" / "features" / "utterances.csv", nrows=0).columns)
    assert set(permutation["feature"]) <= feature_names
    frequency = pd.read_csv(out["cnn"] / "gradcam_frequency.csv")
    assert list(frequency.columns) == ["hz", "bonafide", "spoof"] and len(frequency) == 64
    assert frequency[["bonafide", "spoof"]].sum().round(4).tolist() == [1.0, 1.0]
    assert len(pd.read_csv(out["cnn"] / "gradcam_time.csv")) == 48  # the tiny run's n_frames
    cases = pd.read_csv(out["cnn"] / "cases_cnn.csv", dtype={"utt_id": str})
    assert cases["case"].tolist() == CASES and set(cases["utt_id"]) <= set(
        pd.read_csv(repo / "data" / "scores" / "cnn.csv", dtype={"utt_id": str}).query("split == 'eval'")[
            "utt_id"
        ]
    )

    for entry in yaml.safe_load((repo / "dvc.yaml").read_text())["plots"]:
        for name, spec in entry.items() if isinstance(entry, dict) else []:
            for file, fields in spec["y"].items():
                if file.startswith("plots/explain/"):
                    columns = pd.read_csv(repo / file, nrows=0).columns
                    assert {spec["x"], *([fields] if isinstance(fields, str) else fields)} <= set(columns), (
                        name
                    )

    summary = {model: read_json(repo / "metrics" / f"explain_{model}.json") for model in ("svc", "cnn")}
    assert summary["svc"].pop("split") == summary["cnn"].pop("split") == "eval"
    assert set(summary["svc"]) == {
        "permutation_top",
        "permutation_positive",
        "permutation_by_family",
        "shap_top",
        "shap_by_family",
    }
    positive = permutation[permutation["importance"] > 0]
    assert summary["svc"]["permutation_positive"] >= len(positive)  # the CSV holds the top_features rows only
    assert [entry["feature"] for entry in summary["svc"]["permutation_top"].values()] == positive[
        "feature"
    ].head(5).tolist()
    families = pd.read_csv(out["svc"] / "permutation_families.csv")
    assert list(families.columns) == ["family", "importance", "std"]
    assert summary["svc"]["permutation_by_family"] == dict(
        zip(families["family"], families["importance"], strict=True)
    )
    assert set(summary["svc"]["shap_by_family"]) == {"mfcc", "lfcc", "cqcc", "spectral", "band_energy"}
    gmm = read_json(repo / "metrics" / "explain_gmm.json")
    assert set(gmm) == {"split", "permutation_top", "permutation_positive", "permutation_by_order"}
    assert set(gmm["permutation_by_order"]) == {"static", "delta", "delta2"}
    coefficients = pd.read_csv(out["gmm"] / "permutation_importance.csv")
    assert list(coefficients.columns) == ["feature", "importance", "std"] and len(coefficients) == 15
    assert set(coefficients["feature"]) <= {f"lfcc_{k}" for k in range(20)}
    gradcam = summary["cnn"]["gradcam"]
    assert gradcam["decided_bonafide"]["files"] + gradcam["decided_spoof"]["files"] == 20
    assert all(0 <= gradcam[group][key] <= 1 for group in gradcam for key in ("first_300ms", "above_4000hz"))


def test_audit_reports_every_model_and_ships_the_retrained_svc(repo):
    repo, _ = repo
    audit = read_json(repo / "metrics" / "audit.json")
    assert audit["split"] == "eval" and audit["transplant"] == {
        "head_ms": 100.0,
        "n_bonafide": 10,
        "n_spoof": 10,
    }
    assert audit["trim"]["n_files"] == 20 and audit["trim"]["found_by_vad"] == 20
    for model in ("svc", "cnn", "gmm", "fusion"):
        result = audit[model]
        assert result["shortcut_risk"] in ("high", "low")
        assert set(result) == {
            "shortcut_risk",
            "eer",
            "roc_auc",
            "far",
            "frr",
        }  # the sentences are in verdicts.md
        assert result["eer"]["untrimmed"] == read_json(repo / "metrics" / f"{model}.json")["eval"]["eer"]
        assert result["far"]["before"] == pytest.approx(
            100 * (1 - read_json(repo / "metrics" / f"{model}.json")["eval"]["recall"]), abs=1e-3
        )
    assert set(audit["retrained"]) == {"svc"}
    verdicts = [
        line
        for line in (repo / "plots" / "audit" / "verdicts.md").read_text().splitlines()
        if line.startswith("- ")
    ]
    assert [line.split(":")[0] for line in verdicts] == [
        "- svc",
        "- cnn",
        "- gmm",
        "- fusion",
        "- retrained.svc",
    ]
    assert all(
        line.split(": ")[1] == audit[model]["shortcut_risk"]
        for line, model in zip(verdicts, ("svc", "cnn", "gmm", "fusion"), strict=False)  # not retrained.svc
    )

    speech = pd.read_csv(repo / "plots" / "audit" / "speech.csv", dtype={"utt_id": str})
    assert list(speech.columns) == ["utt_id", "split", "label", "duration_s", "start_s", "end_s", "found_by"]
    assert set(speech["split"]) == {"train", "dev", "eval"}  # retraining trims every split
    assert (
        (0 <= speech["start_s"])
        & (speech["start_s"] < speech["end_s"])
        & (speech["end_s"] <= speech["duration_s"])
    ).all()

    # The retrained SVC's card makes predict trim new files as the audit trimmed the corpus.
    manifest = read_manifest(repo / "data" / "prepared" / "manifest.csv")
    evaluation = manifest[manifest["split"] == "eval"]
    out = run(
        [
            str(VENV_BIN / "deepfake-audio"),
            "predict",
            *evaluation["path"],
            "--model",
            "svc",
            "--models-dir",
            "models/trimmed/svc",
            "--format",
            "csv",
        ],
        repo,
    )
    predicted = pd.read_csv(io.StringIO(out))
    labels = evaluation["label"].to_numpy()
    eer = (
        100
        * equal_error_rate(predicted["score"][labels == "bonafide"], predicted["score"][labels == "spoof"])[0]
    )
    assert round(eer, 4) == audit["retrained"]["svc"]["eer"]


def test_the_dask_backend_writes_the_same_features(repo):
    """compute.backend moves featurize to Dask without changing a byte, so nothing reruns."""
    repo, _ = repo

    def features_hash():
        lock = yaml.safe_load((repo / "dvc.lock").read_text())
        return [out["md5"] for out in lock["stages"]["featurize"]["outs"]]

    local = features_hash()
    set_params(repo, lambda params: params["compute"].update(backend="dask"))
    output = dvc("repro", "--force", "--single-item", "featurize", cwd=repo)
    assert stages_run(output) == ["featurize"]
    assert features_hash() == local
    set_params(repo, lambda params: params["compute"].update(backend="local"))
    assert "Data and pipelines are up to date" in dvc("status", cwd=repo)


@pytest.mark.parametrize("model", ["svc", "cnn", "gmm", "fusion"])
def test_predict_reproduces_the_pipeline_scores(repo, model):
    """The trained models score the eval files from the audio alone as evaluate scored them."""
    repo, _ = repo
    manifest = read_manifest(repo / "data" / "prepared" / "manifest.csv")
    evaluation = manifest[manifest["split"] == "eval"]
    out = run(
        [
            str(VENV_BIN / "deepfake-audio"),
            "predict",
            *evaluation["path"],
            "--model",
            model,
            "--format",
            "csv",
        ],
        repo,
    )
    predicted = pd.read_csv(io.StringIO(out)).assign(utt_id=evaluation["utt_id"].to_numpy())
    scores = pd.read_csv(repo / "data" / "scores" / f"{model}.csv", dtype={"utt_id": str}).query(
        "split == 'eval'"
    )
    joined = predicted.merge(scores, on="utt_id", suffixes=("", "_pipeline"))
    assert len(joined) == 20 and (predicted["path"] == evaluation["path"].to_numpy()).all()
    # Scores are written to 6 decimals; the CNN scores one file at a time here and 128 at a time
    # in evaluate, which moves the last digits (up to 7e-6 on the default corpus).
    np.testing.assert_allclose(joined["score"], joined["score_pipeline"], rtol=0, atol=2e-5)
    threshold = read_json(repo / "metrics" / f"{model}.json")["eval"]["decision_threshold"]
    assert (joined["threshold"] == threshold).all()


def test_an_svc_param_reruns_only_the_svc_work(repo):
    repo, _ = repo
    set_params(repo, lambda params: params["train_svc"]["search"]["grid"].update(C=[1.0, 10.0]))
    stages = stages_run(dvc("repro", cwd=repo))
    assert sorted(stages) == sorted(SVC_STAGES) and stages[:2] == ["check_params", "train_svc"]
    assert "Data and pipelines are up to date" in dvc("status", cwd=repo)
    commit(repo, "a smaller grid")
    changed = json.loads(dvc("metrics", "diff", "HEAD~1", "--json", cwd=repo))
    assert not {"metrics/cnn.json", "metrics/explain_cnn.json", "metrics/train_cnn.json"} & set(changed)


def test_an_audit_param_reruns_only_the_audit_and_metrics_diff_shows_it(repo):
    repo, _ = repo
    set_params(
        repo, lambda params: params["audit"].update(transplant={"head_ms": 50.0, "seed": 0}, retrain=[])
    )
    assert stages_run(dvc("repro", cwd=repo)) == [
        "check_params",
        "audit_audio",
        "audit@svc",
        "audit@cnn",
        "audit@gmm",
        "audit_report",
    ]
    # nothing retrained, nothing left over
    assert not [path for path in (repo / "models" / "trimmed").rglob("*") if path.is_file()]
    commit(repo, "50 ms transplant")
    changed = json.loads(dvc("metrics", "diff", "HEAD~1", "--json", cwd=repo))
    assert set(changed) == {"metrics/audit.json"}
    audit = changed["metrics/audit.json"]
    assert audit["transplant.head_ms"] == {"old": 100.0, "new": 50.0, "diff": -50.0}
    assert audit["retrained.svc.eer"]["new"] is None
    assert all(
        key.split(".")[0] in ("transplant", "svc", "cnn", "gmm", "fusion", "retrained", "trim")
        for key in audit
    )


def test_a_custom_dataset_is_read_trained_on_and_scored(repo):
    """The tiny corpus again, as a user's own folder: FLAC at 22.05 kHz and stereo WAV, listed in a
    CSV, through every stage that reads the source's audio (the SVC's and the CNN's explanations
    and audit read only what these stages write)."""
    import librosa
    import soundfile as sf

    repo, _ = repo
    manifest = pd.read_csv(repo / "data" / "prepared" / "manifest.csv", keep_default_na=False)
    folder = repo / "my_audio"
    folder.mkdir()
    rows = []
    for index, row in manifest.iterrows():
        signal, rate = sf.read(repo / row["path"])
        if index % 2:
            name = f"{row['utt_id']}.flac"
            sf.write(
                folder / name,
                librosa.resample(signal, orig_sr=rate, target_sr=22050),
                22050,
                subtype="PCM_16",
            )
        else:
            name = f"{row['utt_id']}.wav"
            sf.write(folder / name, np.stack([signal, signal], axis=1), rate, subtype="PCM_16")
        rows.append(
            {
                "path": name,
                "label": "genuine" if row["label"] == "bonafide" else "spoof",
                "split": row["split"],
                "speaker": row["speaker"],
            }
        )
    pd.DataFrame(rows).to_csv(folder / "files.csv", index=False)
    set_params(repo, lambda params: params["data"].update(source="custom", protocol="my_audio/files.csv"))

    skipped = {
        "explain@svc",
        "explain@cnn",
        "audit@svc",
        "audit@cnn",
        "audit_report",
        "prepare_cross",
        "evaluate_cross",
    }
    output = dvc("repro", "evaluate_fusion", "explain@gmm", "audit@gmm", cwd=repo)
    assert sorted(stages_run(output)) == sorted(set(ALL_STAGES) - skipped)
    data = read_json(repo / "metrics" / "data.json")
    assert {split: data[split]["n_utterances"] for split in ("train", "dev", "eval")} == {
        "train": 20,
        "dev": 20,
        "eval": 20,
    }
    assert read_json(repo / "data" / "raw" / "source.json") == {
        "source": "custom",
        "corpus": "my_audio/files.csv",
        "splits": ["train", "dev", "eval"],
    }
    for model in ("svc", "cnn", "gmm", "fusion"):
        assert read_json(repo / "metrics" / f"{model}.json") == metrics_from_scores(repo, model)
