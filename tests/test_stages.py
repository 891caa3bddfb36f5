"""The stage scripts as DVC runs them: bad input ends with one clear line, no traceback."""

import subprocess
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]


def run_stage(name, cwd):
    return subprocess.run([sys.executable, str(PROJECT / "stages" / f"{name}.py")], cwd=cwd,
                          capture_output=True, text=True)


def write_params(folder, update):
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    update(params)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))


def test_a_params_typo_stops_the_stage_naming_the_key(tmp_path):
    write_params(tmp_path, lambda params: params["train_svc"].update(C="fast"))
    done = run_stage("train_svc", tmp_path)
    assert done.returncode == 1
    assert done.stderr == "error: params.yaml: train_svc.C: Input should be a valid number (got 'fast')\n"


def test_a_missing_corpus_stops_prepare_and_writes_nothing(tmp_path):
    write_params(tmp_path, lambda params: None)
    done = run_stage("prepare", tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "error: data/raw/synthetic/protocol_V2/ASVspoof2017_V2_train.trn.txt: protocol file not found\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["params.yaml"]


def test_sources_not_yet_supported_are_refused_by_download(tmp_path):
    write_params(tmp_path, lambda params: params["data"].update(source="custom"))
    done = run_stage("download", tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: params.yaml: data.source: 'custom' is not supported yet")
