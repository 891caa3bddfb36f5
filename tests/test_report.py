"""The CML report: dvc metrics diff and changed plot images against a base commit, in a throwaway repo."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from deepfake_audio.cli import main
from deepfake_audio.errors import InputError
from deepfake_audio.report import ARTIFACT_NAME, full_report_path, write_report

PROJECT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PNG = b"\x89PNG\r\n\x1a\n"  # enough of a PNG for git and a Markdown link

DVC_YAML = """stages:
  score:
    cmd: echo scored
    metrics:
      - metrics/x.json:
          cache: false
"""


def run(args, cwd):
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip()


def commit(repo, message):
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", message], repo)
    return run(["git", "rev-parse", "HEAD"], repo)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git + DVC repo with one metric and two plot images committed, then the metric and
    one image changed and a new image added in the working tree."""
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    repo = tmp_path / "repo"
    repo.mkdir()
    run(["git", "init", "-q"], repo)
    run([VENV_BIN / "dvc", "init", "-q"], repo)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "metrics").mkdir()
    (repo / "metrics" / "x.json").write_text(json.dumps({"eer": 12.5, "auc": 0.9}))
    (repo / "plots" / "evaluate").mkdir(parents=True)
    (repo / "plots" / "evaluate" / "roc.png").write_bytes(PNG + b"old")
    (repo / "plots" / "evaluate" / "det.png").write_bytes(PNG + b"same")
    (repo / "plots" / "evaluate" / "roc.csv").write_text("fpr,tpr\n0,0\n")
    base = commit(repo, "base")
    (repo / "metrics" / "x.json").write_text(json.dumps({"eer": 7.25, "auc": 0.9}))
    (repo / "plots" / "evaluate" / "roc.png").write_bytes(PNG + b"new")
    (repo / "plots" / "evaluate" / "roc.csv").write_text("fpr,tpr\n0,0\n1,1\n")  # not an image
    (repo / "plots" / "loss.png").write_bytes(PNG + b"untracked")
    monkeypatch.chdir(repo)
    return repo, base


def metric_rows(text, file):
    """{metric: (base, head, change)} of the table under ``### file``."""
    section = text.split(f"### {file}\n", 1)[1].split("\n#", 1)[0]
    return {
        cells[0]: tuple(cells[1:])
        for line in section.splitlines()
        if line.startswith("| ")
        for cells in [[cell.strip() for cell in line.strip("|").split(" | ")]]
        if cells[0] != "metric"
    }


def test_report_holds_the_metric_diff_and_the_changed_images(repo):
    repo, base = repo
    out = write_report("HEAD", repo / "report.md", root=repo)
    text = out.read_text()
    assert metric_rows(text, "metrics/x.json") == {
        "eer": ("12.5", "7.25", "-5.25")
    }  # auc unchanged: left out
    assert re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text) == ["plots/evaluate/roc.png", "plots/loss.png"]
    assert f"Compared with `HEAD` (commit {base[:12]}" in text
    assert "Shortened" not in text and (repo / "report-full.md").read_text() == text


def test_images_committed_since_base_count_too(repo):
    repo, base = repo
    commit(repo, "later")
    text = write_report(base, repo / "out" / "report.md", root=repo).read_text()
    # links are relative to the report's folder
    assert re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text) == ["../plots/evaluate/roc.png", "../plots/loss.png"]
    assert "12.5" in text and "7.25" in text


def test_cli_writes_the_report_from_the_repo_root(repo, capsys):
    repo, _ = repo
    assert main(["report", "--base", "HEAD"]) == 0
    assert "![roc.png](plots/evaluate/roc.png)" in (repo / "report.md").read_text()


def test_a_bad_base_is_a_clear_error(repo, capsys):
    repo, _ = repo
    with pytest.raises(InputError, match="no-such-branch"):
        write_report("no-such-branch", repo / "report.md", root=repo)
    assert main(["report", "--base", "no-such-branch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: `git rev-parse") and "no-such-branch" in err
    assert not (repo / "report.md").exists()


def test_a_failing_dvc_names_the_command(repo, capsys):
    repo, _ = repo
    (repo / ".dvc" / "config").write_text("[core\n")  # an unreadable DVC config
    assert main(["report", "--base", "HEAD"]) == 1
    err = capsys.readouterr().err
    assert "`" + str(VENV_BIN / "dvc") + " metrics diff HEAD --json --all` failed: ERROR" in err
    assert "Traceback" not in err


def make_project(tmp_path, base: dict, head: dict, images=()):
    """A git + DVC repo whose metric files and score files are ``base`` at the base commit and
    ``head`` in the working tree ({path: dict for JSON, DataFrame for CSV, None: absent}),
    with ``images`` added as untracked PNGs."""
    repo = tmp_path / "project"
    repo.mkdir()
    run(["git", "init", "-q"], repo)
    run([VENV_BIN / "dvc", "init", "-q"], repo)
    metric_files = sorted({path for path in [*base, *head] if path.endswith(".json")})
    (repo / "dvc.yaml").write_text(
        yaml.safe_dump(
            {
                "stages": {
                    "evaluate": {
                        "cmd": "echo evaluated",
                        "metrics": [{path: {"cache": False}} for path in metric_files],
                    }
                }
            }
        )
    )
    for files in (base, head):
        for path, content in files.items():
            file = repo / path
            file.parent.mkdir(parents=True, exist_ok=True)
            if content is None:
                file.unlink(missing_ok=True)
            elif isinstance(content, dict):
                file.write_text(json.dumps(content))
            else:
                content.to_csv(file, index=False)
        if files is base:
            commit(repo, "base")
    for image in images:
        (repo / image).parent.mkdir(parents=True, exist_ok=True)
        (repo / image).write_bytes(PNG + image.encode())
    return repo


def headline_metrics(eer, min_dcf=0.2, auc=0.95):
    return {split: {"eer": eer, "min_dcf": min_dcf, "roc_auc": auc} for split in ("dev", "eval")}


def score_table(separation, seed=0, n=300):
    rng = np.random.default_rng(seed)
    frames = []
    for split in ("dev", "eval"):
        values = np.concatenate([rng.normal(separation, 1, n), rng.normal(0, 1, n)]).round(6)
        frames.append(
            pd.DataFrame(
                {
                    "utt_id": [f"{split}_{i}" for i in range(2 * n)],
                    "split": split,
                    "label": ["bonafide"] * n + ["spoof"] * n,
                    "score": values,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_rows_that_do_not_change_at_the_printed_precision_are_left_out(tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    base = {
        "eer": 12.5,
        "auc": 0.958881,
        "thr": 0.31908,
        "noise": 0.3,
        "risk": "low",
        "gone": 1,
        "n": 3,
        "gamma": 0.0003,
        "setting": {"C": 1.0, "kernel": "rbf"},
    }
    head = {
        "eer": 7.25,
        "auc": 0.958882,
        "thr": 0.31908,
        "noise": 0.1 + 0.2,
        "risk": "high",
        "new": True,
        "n": 4,
        "gamma": 1e-05,
        "setting": {"C": 10.0, "kernel": "rbf"},
    }
    repo = make_project(tmp_path, {"metrics/x.json": base}, {"metrics/x.json": head})
    text = write_report("HEAD", repo / "report.md", root=repo).read_text()
    assert metric_rows(text, "metrics/x.json") == {
        "auc": ("0.958881", "0.958882", "+1e-06"),
        "eer": ("12.5", "7.25", "-5.25"),
        "gamma": ("0.0003", "1e-05", "-0.00029"),
        "gone": ("1", "-", "removed"),
        "n": ("3", "4", "+1"),
        "new": ("-", "true", "added"),
        "risk": ("low", "high", "changed"),
        "setting.C": ("1", "10", "+9"),
    }  # thr (unchanged), noise (0.1 + 0.2 against 0.3) and setting.kernel are left out
    assert "No plot image differs from the base." in text


def test_a_large_change_is_cut_to_fit_a_comment_and_written_in_full_beside_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    for name, value in (
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "lab/cm"),
        ("GITHUB_RUN_ID", "42"),
    ):
        monkeypatch.setenv(name, value)
    many = 3000
    base = {
        "metrics/svc.json": headline_metrics(11.0),
        "metrics/cnn.json": headline_metrics(8.0),
        "metrics/explain.json": {f"feature_{i:04d}": {"importance": i / 7} for i in range(many)},
        "data/scores/svc.csv": score_table(1.0),
        "data/scores/cnn.csv": score_table(2.0),
    }
    head = {
        **base,
        "metrics/svc.json": headline_metrics(9.55, min_dcf=0.1985, auc=0.95),
        "metrics/explain.json": {f"feature_{i:04d}": {"importance": i / 7 + 1} for i in range(many)},
        "data/scores/svc.csv": score_table(1.0).assign(
            score=lambda frame: frame["score"] + 1.5 * (frame["label"] == "bonafide")
        ),
    }
    images = [f"plots/explain/images/feature_{i:03d}.png" for i in range(150)]
    repo = make_project(tmp_path, base, head, images)

    text = write_report("HEAD", repo / "report.md", root=repo).read_text()
    full = (repo / "report-full.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(text) + 200 * len(links) <= 60_000 < len(full)

    # the headline is always there, with the bootstrap verdict
    assert "| svc | eval | 11 → 9.55 | 0.2 → 0.1985 | 0.95 | -" in text
    assert re.search(r"\| svc \| eval \|.*\[[-+]\d+\.\d+, [-+]\d+\.\d+\] \| \*\*better\*\* \|", text)
    assert re.search(
        r"\| cnn \| eval \| 8 \| 0\.2 \| 0\.95 \| \+0\.00 \[\+0\.00, \+0\.00\] \| within noise \|", text
    )
    assert "fusion" not in text.split("## Changed metrics")[0]  # no such model at either revision

    # the comment keeps what fits, says what is left out, and where the rest is
    kept, whole = metric_rows(text, "metrics/explain.json"), metric_rows(full, "metrics/explain.json")
    assert 100 < len(kept) < many == len(whole) and kept.items() <= whole.items()
    assert metric_rows(text, "metrics/svc.json") == metric_rows(full, "metrics/svc.json")  # model files first
    left_out = many - len(kept)
    assert f"*{left_out} more changed rows of `metrics/explain.json` are left out here.*" in text
    assert 0 < len(links) < len(images) == len(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", full))
    assert f"*{len(images) - len(links)} more changed figures are left out here.*" in text
    assert (
        f"> **Shortened to fit a pull-request comment:** {left_out} of {many + 4} changed metric rows and "
        f"{len(images) - len(links)} of {len(images)} figures left out here. The whole report is "
        "`report-full.md` in the `report` artifact of [this workflow run]"
        "(https://github.com/lab/cm/actions/runs/42)."
    ) in text
    assert "Shortened" not in full and full.startswith(text.split("> **Shortened")[0])


def make_targets():
    return set(re.findall(r"^([A-Za-z_][\w-]*)\s*:(?!=)", (PROJECT / "Makefile").read_text(), re.M))


def test_cml_workflow_runs_only_make_targets_and_cml():
    workflow = yaml.safe_load((PROJECT / ".github" / "workflows" / "cml.yaml").read_text())
    assert "pull_request" in workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as True
    assert workflow["permissions"]["pull-requests"] == "write"
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    assert any(step.get("uses", "").startswith("iterative/setup-cml") for step in steps)
    commands = [
        re.sub(r"\$\{\{.*?\}\}", "EXPR", line).strip()
        for step in steps
        if "run" in step
        for line in step["run"].splitlines()
        if line.strip()
    ]
    assert commands and all(command.split()[0] in ("make", "cml") for command in commands), commands
    used = {
        word
        for command in commands
        if command.startswith("make ")
        for word in command.split()[1:]
        if not word.startswith("-") and "=" not in word
    }
    assert used == {"repro", "report"} and used <= make_targets()
    comment = next(step for step in steps if step.get("run", "").startswith("cml "))
    assert comment["env"]["REPO_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"


def test_cml_workflow_is_cached_cancellable_and_keeps_the_full_report():
    workflow = yaml.safe_load((PROJECT / ".github" / "workflows" / "cml.yaml").read_text())
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.event.pull_request.number" in workflow["concurrency"]["group"]
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    python = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip" and python["with"]["cache-dependency-path"] == "requirements.lock"
    venv = next(step for step in steps if step.get("uses", "").startswith("actions/cache"))
    assert venv["with"]["path"] == ".venv" and "hashFiles('requirements.lock')" in venv["with"]["key"]
    cml = next(step for step in steps if step.get("uses", "").startswith("iterative/setup-cml"))
    assert cml["with"]["vega"] is False
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["name"] == ARTIFACT_NAME
    uploaded = upload["with"]["path"].split()
    assert "report.md" in uploaded and full_report_path(Path("report.md")).name in uploaded
    comment = next(step for step in steps if step.get("run", "").startswith("cml "))
    assert comment["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    names = [step.get("uses", step.get("run", "")) for step in steps]
    assert names.index(upload["uses"]) < names.index(
        comment["run"]
    )  # the artifact exists before a comment fails
