"""The CML report: dvc metrics diff and changed plot images against a base commit, in a throwaway repo."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deepfake_audio.cli import main
from deepfake_audio.errors import InputError
from deepfake_audio.report import write_report

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


def test_report_holds_the_metric_diff_and_the_changed_images(repo):
    repo, base = repo
    out = write_report("HEAD", repo / "report.md", root=repo)
    text = out.read_text()
    assert re.search(r"\|\s*metrics/x\.json\s*\|\s*eer\s*\|\s*12\.5\s*\|\s*7\.25\s*\|\s*-5\.25\s*\|", text)
    assert re.search(r"\|\s*metrics/x\.json\s*\|\s*auc\s*\|\s*0\.9\s*\|\s*0\.9\s*\|", text)  # --all
    assert re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text) == ["plots/evaluate/roc.png", "plots/loss.png"]
    assert f"Compared with `HEAD` (commit {base[:12]}" in text


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
    assert "`" + str(VENV_BIN / "dvc") + " metrics diff HEAD --md --all` failed: ERROR" in err
    assert "Traceback" not in err


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
    commands = [re.sub(r"\$\{\{.*?\}\}", "EXPR", line).strip() for step in steps if "run" in step
                for line in step["run"].splitlines() if line.strip()]
    assert commands and all(command.split()[0] in ("make", "cml") for command in commands), commands
    used = {word for command in commands if command.startswith("make ")
            for word in command.split()[1:] if not word.startswith("-") and "=" not in word}
    assert used == {"repro", "report"} and used <= make_targets()
    comment = next(step for step in steps if step.get("run", "").startswith("cml "))
    assert comment["env"]["REPO_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
