"""The whole pipeline at the size of the real corpus: each stage's time and peak memory.

Checks the current commit out into a scratch git worktree, sets the embedded corpus to the
file counts of ASVspoof 2017 V2 (train 1,507 + 1,507, dev 760 + 950, eval 1,298 + 12,008
bona fide + spoof) and runs `dvc repro` there, then prints a table from the line each stage
ends with (``<stage>: done in S s, peak memory M MiB``). The repository itself is not touched.

    python benchmarks/bench_scale_corpus.py --log scale.log
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import REPO, log

ASVSPOOF2017_SIZES = {"train": (1507, 1507), "dev": (760, 950), "eval": (1298, 12008)}
DONE = re.compile(r"^(?P<stage>\S+): done in (?P<seconds>[\d.]+) s, peak memory (?P<mib>\d+) MiB$")


def scale_params(worktree: Path, factor: float) -> None:
    params_file = worktree / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    for split, (genuine, spoof) in ASVSPOOF2017_SIZES.items():
        params["synthetic"][split].update(genuine=round(genuine * factor), spoof=round(spoof * factor))
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


def run_pipeline(worktree: Path, log_file: Path) -> float:
    """`dvc repro` in ``worktree`` with this checkout's .venv, its output copied to ``log_file``."""
    venv_bin = Path(sys.executable).parent
    environment = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(worktree),  # the worktree's package, not the editable install's
    }
    started = time.monotonic()
    with log_file.open("w") as out:
        done = subprocess.run(
            [str(venv_bin / "dvc"), "repro"],
            cwd=worktree,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode:
        raise SystemExit(f"error: dvc repro failed; see {log_file}")
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, default=Path("scale-corpus.log"), help="dvc repro's output")
    parser.add_argument(
        "--factor", type=float, default=1.0, help="scale the real sizes (0.1 for a quick try; default 1)"
    )
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="scale-corpus-"))
    worktree = scratch / "repo"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(worktree)], cwd=REPO, check=True, capture_output=True
    )
    try:
        scale_params(worktree, args.factor)
        log(f"dvc repro at {args.factor:g}x the ASVspoof 2017 V2 sizes in {worktree}; output in {args.log}")
        wall = run_pipeline(worktree, args.log.resolve())
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    print("stage               seconds  peak MiB")
    for line in args.log.read_text().splitlines():
        if match := DONE.match(line.strip()):
            print(f"{match['stage']:<18}  {float(match['seconds']):>7.1f}  {int(match['mib']):>8,d}")
    print(f"{'dvc repro (wall)':<18}  {wall:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
