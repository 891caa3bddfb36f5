"""Paired bootstrap comparison of two revisions' scores: hand-made score sets, and the git/DVC
reading of a base revision in a throwaway repo."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from deepfake_audio.cli import main
from deepfake_audio.compare import (
    ResampledCurve,
    bootstrap_differences,
    compare_scores,
    compare_with,
    format_table,
    parse_scores,
)
from deepfake_audio.errors import InputError
from deepfake_audio.metrics import equal_error_rate, min_dcf
from deepfake_audio.params import BootstrapParams, EvaluateParams

PARAMS = EvaluateParams(bootstrap=BootstrapParams(resamples=300, seed=0))
PROJECT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def scores(n_bonafide=300, n_spoof=500, separation=1.5, seed=0, splits=("dev", "eval"), prefix="utt"):
    """A score table: bona fide ~ N(separation, 1), spoof ~ N(0, 1), per split."""
    rng = np.random.default_rng(seed)
    parts = []
    for split in splits:
        labels = ["bonafide"] * n_bonafide + ["spoof"] * n_spoof
        values = np.concatenate([rng.normal(separation, 1, n_bonafide), rng.normal(0, 1, n_spoof)])
        parts.append(
            pd.DataFrame(
                {
                    "utt_id": [f"{prefix}_{split}_{i:05d}" for i in range(len(labels))],
                    "split": split,
                    "label": labels,
                    "score": values.round(6),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def improved(frame, by):
    """The same utterances, bona fide scores moved up by ``by`` (a better system when by > 0)."""
    better = frame.copy()
    better.loc[better["label"] == "bonafide", "score"] += by
    return better


def test_resampled_curves_match_the_metrics_module_exactly():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n_bonafide, n_spoof = rng.integers(1, 40, 2)
        bonafide = rng.normal(rng.uniform(-1, 3), 1, n_bonafide).round(
            1
        )  # many ties, within and across classes
        spoof = rng.normal(0, 1, n_spoof).round(1)
        draws_b, draws_s = (
            rng.integers(0, n_bonafide, (30, n_bonafide)),
            rng.integers(0, n_spoof, (30, n_spoof)),
        )
        eer, dcf = ResampledCurve(bonafide, spoof).statistics(draws_b, draws_s, PARAMS.min_dcf)
        for row in range(30):
            b, s = bonafide[draws_b[row]], spoof[draws_s[row]]
            assert eer[row] == 100 * equal_error_rate(b, s)[0]
            assert dcf[row] == min_dcf(b, s, PARAMS.min_dcf)


def test_identical_systems_are_within_noise():
    base = scores()
    comparison = compare_scores(
        base, base.sample(frac=1, random_state=3), "svc", split="eval", params=PARAMS
    )  # row order ignored
    assert comparison.paired and comparison.n_base == comparison.n_head == 800
    assert comparison.eer.change == 0 and comparison.eer.low <= 0 <= comparison.eer.high
    assert comparison.min_dcf.low <= 0 <= comparison.min_dcf.high
    assert comparison.verdict == "within noise"


def test_a_slightly_perturbed_system_is_within_noise():
    base = scores()
    rng = np.random.default_rng(7)
    head = base.assign(score=base["score"] + rng.normal(0, 0.05, len(base)))
    comparison = compare_scores(base, head, "svc", split="eval", params=PARAMS)
    assert comparison.eer.low < 0 < comparison.eer.high  # a real interval, not a point
    assert comparison.verdict == "within noise"


def test_a_clearly_better_system_is_better_and_the_reverse_worse():
    base, head = scores(separation=1.0), improved(scores(separation=1.0), 1.0)
    better = compare_scores(base, head, "cnn", split="eval", params=PARAMS)
    assert better.paired and better.eer.change < 0 and better.eer.high < 0
    assert better.verdict == "better" and better.min_dcf.verdict == "better"
    worse = compare_scores(head, base, "cnn", split="eval", params=PARAMS)
    assert worse.eer.low > 0 and worse.verdict == "worse"
    assert worse.eer.change == pytest.approx(-better.eer.change)


def test_pairing_narrows_the_interval_of_correlated_systems():
    base = scores(separation=1.0)
    head = improved(base, 0.1)
    spoof = (base["label"] == "spoof").to_numpy()
    sets = [[frame["score"].to_numpy()[~spoof], frame["score"].to_numpy()[spoof]] for frame in (base, head)]
    paired, _ = bootstrap_differences(*sets, paired=True, params=PARAMS)
    unpaired, _ = bootstrap_differences(*sets, paired=False, params=PARAMS)
    assert np.ptp(np.percentile(paired, [2.5, 97.5])) < np.ptp(np.percentile(unpaired, [2.5, 97.5])) / 3


def test_different_utterance_sets_are_compared_unpaired():
    base = scores(separation=1.0)
    other_corpus = scores(n_bonafide=200, n_spoof=400, separation=3.0, seed=1, prefix="other")
    comparison = compare_scores(base, other_corpus, "fusion", split="eval", params=PARAMS)
    assert not comparison.paired and (comparison.n_base, comparison.n_head) == (800, 600)
    assert comparison.verdict == "better"
    table = format_table([comparison])
    assert "800 vs 600, unpaired" in table and "better" in table
    # the same ids with a label swapped are not the same utterances either
    swapped = base.copy()
    swapped.loc[swapped.index[swapped["split"] == "eval"][0], "label"] = "spoof"
    assert not compare_scores(base, swapped, "fusion", split="eval", params=PARAMS).paired


def test_the_bootstrap_is_seeded():
    base, head = scores(), improved(scores(), 0.2)
    first, again = (compare_scores(base, head, "svc", split="dev", params=PARAMS) for _ in range(2))
    assert first == again
    other_seed = EvaluateParams(bootstrap=BootstrapParams(resamples=300, seed=1))
    other = compare_scores(base, head, "svc", split="dev", params=other_seed)
    assert (other.eer.low, other.eer.high) != (first.eer.low, first.eer.high)


def test_a_split_without_both_classes_is_unavailable():
    base = scores()
    head = base[~((base["split"] == "eval") & (base["label"] == "spoof"))]
    comparison = compare_scores(base, head, "svc", split="eval", params=PARAMS)
    assert comparison.unavailable == "no spoof utterances in the head's eval scores"
    assert comparison.verdict == "unavailable"
    assert "unavailable: no spoof utterances" in format_table([comparison])


def test_bad_score_files_are_refused_by_name():
    with pytest.raises(InputError, match=r"main:data/scores/svc\.csv: no column score"):
        parse_scores("utt_id,split,label\na,eval,spoof\n", "main:data/scores/svc.csv")
    with pytest.raises(InputError, match="labels must be bonafide or spoof, found genuine"):
        parse_scores("utt_id,split,label,score\na,eval,genuine,1.0\n", "x.csv")
    with pytest.raises(InputError, match="not numbers"):
        parse_scores("utt_id,split,label,score\na,eval,spoof,high\n", "x.csv")


# Reading a base revision: git where committed, else the DVC cache, else unavailable.


def run(args, cwd, env=None):
    done = subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip()


def commit(repo, message):
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", message], repo)


@pytest.fixture(scope="module")
def built_repo(tmp_path_factory):
    """Base commit: cnn scores in git, svc scores tracked by DVC (in the local cache), no fusion
    scores. Working tree: all three, cnn clearly better."""
    repo = tmp_path_factory.mktemp("compare") / "repo"
    (repo / "data" / "scores").mkdir(parents=True)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    run(["git", "init", "-q"], repo)
    run([VENV_BIN / "dvc", "init", "-q"], repo, env)
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["evaluate"]["bootstrap"] = {"resamples": 200, "seed": 0}
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    base = scores(separation=1.0)
    base.to_csv(repo / "data" / "scores" / "cnn.csv", index=False)
    base.to_csv(repo / "data" / "scores" / "svc.csv", index=False)
    run([VENV_BIN / "dvc", "add", "-q", "data/scores/svc.csv"], repo, env)
    commit(repo, "base")
    for dvc_file in ("svc.csv.dvc", ".gitignore"):  # from now on svc.csv is committed to git
        (repo / "data" / "scores" / dvc_file).unlink()
    improved(base, 1.0).to_csv(repo / "data" / "scores" / "cnn.csv", index=False)
    base.to_csv(repo / "data" / "scores" / "fusion.csv", index=False)
    return repo


@pytest.fixture
def repo(built_repo, tmp_path, monkeypatch):
    """A copy of the built repo, the current folder."""
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    repo = Path(shutil.copytree(built_repo, tmp_path / "repo", symlinks=True))
    monkeypatch.chdir(repo)
    return repo


def test_base_scores_come_from_git_or_the_dvc_cache(repo):
    found = {(c.model, c.split): c for c in compare_with("HEAD", repo)}
    assert found["cnn", "eval"].verdict == "better" and found["cnn", "dev"].verdict == "better"
    assert found["svc", "eval"].verdict == "within noise" and found["svc", "eval"].eer.change == 0
    assert (
        "HEAD:data/scores/fusion.csv is neither committed to git nor in the DVC cache"
        in found["fusion", "eval"].unavailable
    )


def test_without_the_dvc_cache_the_base_is_unavailable_not_a_crash(repo):
    shutil.rmtree(repo / ".dvc" / "cache")
    found = {(c.model, c.split): c for c in compare_with("HEAD", repo)}
    assert found["svc", "eval"].unavailable.startswith("HEAD:data/scores/svc.csv is neither committed")
    assert found["cnn", "eval"].verdict == "better"


def test_cli_compare_prints_a_table(repo, capsys):
    assert main(["compare", "HEAD"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("base: `HEAD` (commit ") and out[0].endswith(": base); head: the working tree")
    assert out[1].split()[:4] == ["model", "split", "utterances", "EER"]
    cnn_eval = next(line for line in out if line.startswith("cnn") and " eval " in line)
    assert "800 paired" in cnn_eval and cnn_eval.endswith("better")
    assert any(
        line.startswith("fusion") and "unavailable: HEAD:data/scores/fusion.csv" in line for line in out
    )


def test_cli_compare_names_a_bad_revision(repo, capsys):
    assert main(["compare", "no-such-branch"]) == 1
    assert "no-such-branch" in capsys.readouterr().err
