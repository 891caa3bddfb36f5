"""The stage scripts as DVC runs them: bad input ends with one clear line, no traceback."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]


def run_stage(name, cwd, *args):
    return subprocess.run(
        [sys.executable, str(PROJECT / "stages" / f"{name}.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


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
        "error: data/raw/synthetic/protocol_V2/ASVspoof2017_V2_train.trn.txt: protocol file not found\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["params.yaml"]


def test_a_custom_source_without_its_csv_is_refused_by_download(tmp_path):
    write_params(tmp_path, lambda params: params["data"].update(source="custom", protocol="mine.csv"))
    done = run_stage("download", tmp_path)
    assert done.returncode == 1
    assert done.stderr == "error: mine.csv: protocol CSV not found\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["params.yaml"]


def test_a_local_copy_goes_through_prepare_and_is_checked_by_download(tmp_path):
    import json

    from helpers import write_small_corpus

    copy = write_small_corpus(tmp_path / "ASVspoof2017")
    write_params(tmp_path, lambda params: params["data"].update(source="asvspoof2017", root=str(copy)))
    download = run_stage("download", tmp_path)
    assert download.returncode == 1
    assert download.stderr == (
        f"error: {copy}: train has 2 genuine + 2 spoof files, the published corpus "
        "1507 + 1507: incomplete or not V2\n"
    )
    prepare = run_stage("prepare", tmp_path)
    assert prepare.returncode == 0, prepare.stderr
    data = json.loads((tmp_path / "metrics" / "data.json").read_text())
    assert data["eval"]["n_spoof"] == 2 and data["n_rejected"] == 0
    assert not (tmp_path / "data" / "raw").exists()  # used in place, not copied


def test_a_custom_dataset_goes_through_download_prepare_and_featurize(tmp_path):
    import json

    import numpy as np
    from test_custom import GOOD_ROWS, write_dataset

    csv = write_dataset(tmp_path / "mine", GOOD_ROWS)
    write_params(tmp_path, lambda params: params["data"].update(source="custom", protocol=str(csv)))
    for stage in ("download", "prepare", "featurize"):
        done = run_stage(stage, tmp_path)
        assert done.returncode == 0, f"{stage}: {done.stderr}"
    assert json.loads((tmp_path / "data" / "raw" / "source.json").read_text())["source"] == "custom"
    data = json.loads((tmp_path / "metrics" / "data.json").read_text())
    assert {split: data[split]["n_utterances"] for split in ("train", "dev", "eval")} == {
        "train": 2,
        "dev": 2,
        "eval": 2,
    }
    spectrograms = np.load(tmp_path / "data" / "features" / "spectrogram.npy")
    assert spectrograms.shape == (6, 64, 400) and np.isfinite(spectrograms.astype(float)).all()


def test_explain_refuses_a_split_the_corpus_lacks_and_writes_nothing(tmp_path):
    import numpy as np
    import pandas as pd

    features = tmp_path / "data" / "features"
    features.mkdir(parents=True)
    pd.DataFrame(
        {
            "utt_id": ["T_1", "D_1"],
            "split": ["train", "dev"],
            "label": ["bonafide", "spoof"],
            "speaker": ["-", "-"],
            "mfcc_0_mean": [0.0, 1.0],
        }
    ).to_csv(features / "utterances.csv", index=False)
    np.save(features / "spectrogram.npy", np.zeros((2, 4, 8), dtype=np.float16))
    write_params(tmp_path, lambda params: None)
    done = run_stage("explain", tmp_path, "svc")
    assert done.returncode == 1
    # TensorFlow's C++ start-up lines may come first; the error is the last line.
    assert done.stderr.splitlines()[-1] == (
        "error: explain.split is eval but data/features holds no eval "
        "utterances; set explain.split to a split the corpus has"
    )
    assert not (tmp_path / "plots").exists() and not (tmp_path / "metrics").exists()


@pytest.mark.parametrize(
    ("stage", "args", "given"),
    [("evaluate", (), "none"), ("explain", ("hmm",), "'hmm'"), ("audit", ("svc", "cnn"), "'svc'")],
)
def test_a_per_model_stage_names_the_models_it_runs_for(tmp_path, stage, args, given):
    write_params(tmp_path, lambda params: None)
    done = run_stage(stage, tmp_path, *args)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"error: {stage}.py: expected one model argument, one of svc, cnn, gmm (got {given})"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["params.yaml"]
