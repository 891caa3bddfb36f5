"""End to end: the real dvc.yaml on a tiny corpus, in a throwaway git repository."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
TINY_SPLIT = {"speakers": 2, "genuine": 10, "spoof": 10, "environments": 2,
              "playback_devices": 2, "recorders": 2, "replay_configs": 3}

pytestmark = pytest.mark.slow


def run(args, cwd):
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "TF_CPP_MIN_LOG_LEVEL": "2"}
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


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A copy of the project's files (committed or not, minus ignored ones) as a fresh repo."""
    repo = tmp_path_factory.mktemp("project")
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], PROJECT).splitlines()
    for name in listed:
        source = PROJECT / name
        if source.is_file() and not name.startswith(("dvc.lock", "metrics/", "plots/")):
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)

    def tiny(params):
        params["synthetic"].update(train=TINY_SPLIT, dev=TINY_SPLIT, eval=TINY_SPLIT, phrases=2)
        params["features"]["spectrogram"]["n_frames"] = 48
        params["train_cnn"].update(filters=[4, 8], epochs=2, batch_size=8)
        params["compute"]["n_jobs"] = 1

    set_params(repo, tiny)
    run(["git", "init", "-q"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tiny project"], repo)
    return repo


def commit(repo, message):
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], repo)


def test_repro_builds_every_stage_and_writes_the_metrics(repo):
    output = dvc("repro", cwd=repo)
    stages = stages_run(output)
    assert stages[:3] == ["download", "prepare", "featurize"] and stages[-1] == "evaluate"
    assert sorted(stages[3:5]) == ["train_cnn", "train_svc"]
    for model in ("svc", "cnn"):
        metrics = json.loads((repo / "metrics" / f"{model}.json").read_text())
        for split in ("dev", "eval"):
            assert set(metrics[split]) >= {"eer", "eer_threshold", "roc_auc", "accuracy", "precision",
                                           "recall", "f1", "n_bonafide", "n_spoof"}
            assert metrics[split]["n_bonafide"] == metrics[split]["n_spoof"] == 10
            assert 0.0 <= metrics[split]["eer"] <= 100.0
        scores = (repo / "data" / "scores" / f"{model}.csv").read_text().splitlines()
        assert scores[0] == "utt_id,split,label,score" and len(scores) == 1 + 40
    data = json.loads((repo / "metrics" / "data.json").read_text())
    assert data["train"]["n_bonafide"] == 10 and data["eval"]["n_spoof"] == 10
    assert (repo / "plots" / "evaluate" / "roc_svc.csv").read_text().startswith("fpr,tpr\n")
    assert (repo / "plots" / "train_cnn" / "plots" / "metrics" / "eval" / "loss.tsv").is_file()
    assert "Data and pipelines are up to date" in dvc("status", cwd=repo)
    commit(repo, "first run")


def test_a_cnn_param_reruns_only_train_cnn_and_evaluate(repo):
    set_params(repo, lambda params: params["train_cnn"].update(epochs=3))
    output = dvc("repro", cwd=repo)
    assert stages_run(output) == ["train_cnn", "evaluate"]
    assert json.loads((repo / "metrics" / "train_cnn.json").read_text())["epochs_run"] == 3
    commit(repo, "three epochs")
    diff = dvc("metrics", "diff", "HEAD~1", "--json", cwd=repo)
    changed = json.loads(diff)
    assert changed["metrics/train_cnn.json"]["epochs_run"] == {"old": 2, "new": 3, "diff": 1}
    assert "metrics/svc.json" not in changed
