"""A Markdown report of how metrics and plot images differ from a base commit (for CML comments)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from deepfake_audio.errors import InputError
from deepfake_audio.io import atomic_path

PLOTS_DIR = "plots"


def write_report(base: str, out: Path = Path("report.md"), root: Path | None = None) -> Path:
    """Write the report comparing the working tree of ``root`` (default: the current git
    repository) with ``base``; returns the path written. Any failing command raises InputError."""
    root = Path(root) if root is not None else Path(_run(["git", "rev-parse", "--show-toplevel"], Path.cwd()))
    out = Path(out) if Path(out).is_absolute() else Path.cwd() / out
    commit = _run(["git", "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], root,
                  hint=f"{base!r} is not a commit of this repository (for a PR, fetch with depth 0)")
    subject = _run(["git", "log", "-1", "--format=%s", commit], root)
    metrics = _run([_dvc(), "metrics", "diff", base, "--md", "--all"], root)
    images = changed_images(base, root)

    lines = ["# Pipeline report", "",
             f"Compared with `{base}` (commit {commit[:12]}: {subject}).", "",
             "## Metrics", "",
             metrics if metrics else "No metrics found.", "",
             "## Plots", ""]
    if images:
        for image in images:
            link = Path(os.path.relpath(root / image, out.parent)).as_posix()
            lines += [f"### {image}", "", f"![{Path(image).name}]({link})", ""]
    else:
        lines += [f"No plot images differ from `{base}`.", ""]
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines))
    return out


def changed_images(base: str, root: Path) -> list[str]:
    """PNGs under plots/ that differ from ``base`` in the working tree: changed, added or untracked
    (deleted ones cannot be shown)."""
    changed = _run(["git", "diff", "--name-only", "--diff-filter=d", base, "--", PLOTS_DIR], root).splitlines()
    untracked = _run(["git", "ls-files", "--others", "--exclude-standard", "--", PLOTS_DIR], root).splitlines()
    return sorted({name for name in changed + untracked
                   if name.lower().endswith(".png") and (root / name).is_file()})


def _dvc() -> str:
    beside = Path(sys.executable).parent / "dvc"
    return str(beside) if beside.is_file() else (shutil.which("dvc") or "dvc")


def _run(args: list[str], cwd: Path, hint: str = "") -> str:
    command = " ".join(args)
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    except OSError as err:
        raise InputError(f"`{command}` could not run: {err}") from None
    if done.returncode != 0:
        stderr = done.stderr.strip()
        errors = [line for line in stderr.splitlines() if line.startswith("ERROR")]
        stderr = "\n".join(errors) if errors else stderr  # dvc's own message, not its traceback
        detail = stderr or hint or f"exit status {done.returncode}"
        if hint and stderr:
            detail = f"{detail} ({hint})"
        raise InputError(f"`{command}` failed: {detail}")
    return done.stdout.strip()
