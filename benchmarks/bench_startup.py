"""Time to first score of `deepfake-audio predict` for one file, per model, from a cold start.

Runs the command as a user would (a fresh process each time) on one file and reports the
median wall time over ``--repeats`` runs, and whether the process imported TensorFlow.
Needs the trained models of `make repro` (``--models-dir``):

    python benchmarks/bench_startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import REPO, log

# Runs the CLI in-process, then says whether TensorFlow was imported on the way.
PREDICT = """
import sys
from deepfake_audio.cli import main
code = main(sys.argv[1:])
print("tensorflow" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


def first_file() -> Path:
    from deepfake_audio import paths
    from deepfake_audio.corpus.manifest import read_manifest

    if not (REPO / paths.MANIFEST).is_file():
        raise SystemExit(f"error: {paths.MANIFEST} not found: run `make repro` first or pass --file")
    return REPO / read_manifest(REPO / paths.MANIFEST)["path"].iloc[0]


def predict_once(model: str, audio: Path, models_dir: Path) -> tuple[float, bool]:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PREDICT,
            "predict",
            str(audio),
            "--model",
            model,
            "--models-dir",
            str(models_dir),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"error: predict --model {model} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stderr.strip().splitlines()[-1] == "True"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per model (default: 5)")
    parser.add_argument("--file", type=Path, help="audio file to score (default: the corpus's first)")
    parser.add_argument("--models-dir", type=Path, default=REPO / "models", help="default: models/")
    parser.add_argument(
        "--models", nargs="+", default=["svc", "cnn", "fusion"], help="default: svc cnn fusion"
    )
    args = parser.parse_args(argv)
    audio = args.file or first_file()
    print("model   first score s (median)  min    max    imports TensorFlow")
    for model in args.models:
        log(f"predict --model {model}, {args.repeats} cold starts")
        runs = [predict_once(model, audio, args.models_dir) for _ in range(args.repeats)]
        seconds = [elapsed for elapsed, _ in runs]
        print(
            f"{model:<6}  {statistics.median(seconds):>22.2f}  {min(seconds):>5.2f}  {max(seconds):>5.2f}  "
            f"{'yes' if runs[0][1] else 'no'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
