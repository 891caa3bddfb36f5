"""`deepfake-audio predict`: the command-line layer over ``Detector``."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from collections.abc import Iterator
from functools import lru_cache, partial

import soundfile as sf
from tqdm import tqdm

from deepfake_audio.audio import AudioError
from deepfake_audio.compute import dask_client, dask_map_ordered
from deepfake_audio.detector import Detector, Prediction
from deepfake_audio.errors import InputError
from deepfake_audio.params import ComputeParams

FIELDS = ("path", "model", "score", "threshold", "decision", "duration_s", "windows")
PROGRESS_ABOVE = 5  # files; fewer finish before a progress bar would help
CLUSTER_CHUNK = 16  # files per cluster task
# What libsndfile reads, by extension (its format names, plus the usual aliases); headerless
# RAW is left out, as it cannot be read without being told its format.
AUDIO_EXTENSIONS = {f".{name.lower()}" for name in sf.available_formats() if name != "RAW"} | {".aif", ".oga", ".opus"}


def predict(args: argparse.Namespace) -> int:
    try:
        files, missing = find_audio(args.inputs)
        if args.scheduler and args.explain:
            raise InputError("--explain runs locally; leave out --scheduler to draw Grad-CAM maps")
        detector = None if args.scheduler else Detector.load(args.models_dir, args.model, window_s=args.window)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in missing:
        print(f"error: {path}: no such file or folder", file=sys.stderr)
    # A bar for more than a handful of files, on a terminal only (None: tqdm checks for one).
    hide_bar = None if len(files) > PROGRESS_ABOVE else True
    predictions, failed = [], len(missing)
    with tqdm(total=len(files), desc="predict", unit="file", disable=hide_bar, file=sys.stderr) as bar:
        try:
            for prediction, error in _score_all(files, detector, args):
                if error:
                    tqdm.write(f"error: {error}", file=sys.stderr)
                    failed += 1
                else:
                    predictions.append(prediction)
                bar.update()
        except InputError as err:  # the models or the cluster, not one file
            print(f"error: {err}", file=sys.stderr)
            return 1
    write_predictions(predictions, args.format)
    return 1 if failed else 0


def _score_all(files: list[Path], detector: Detector | None, args) -> Iterator[tuple[Prediction | None, str]]:
    """(prediction, "") or (None, error message) per file, in order: here, or on a Dask cluster."""
    if detector is not None:
        for path in files:
            yield _score_one(detector, path, args.threshold, args.explain)
        return
    task = partial(score_files, models_dir=str(args.models_dir.resolve()), model=args.model, window_s=args.window,
                   threshold=args.threshold)
    chunks = [[str(path.resolve()) for path in files[start:start + CLUSTER_CHUNK]]
              for start in range(0, len(files), CLUSTER_CHUNK)]
    with dask_client(ComputeParams(backend="dask", scheduler=args.scheduler)) as client:
        for results in dask_map_ordered(client, task, chunks, "predict"):
            yield from results


def score_files(paths: list[str], models_dir: str, model: str, window_s: float, threshold: float | None):
    """A cluster task: score ``paths`` with the worker's cached Detector."""
    detector = _cached_detector(models_dir, model, window_s)
    return [_score_one(detector, Path(path), threshold, None) for path in paths]


@lru_cache(maxsize=2)
def _cached_detector(models_dir: str, model: str, window_s: float) -> Detector:
    return Detector.load(models_dir, model, window_s=window_s)


def _score_one(detector: Detector, path: Path, threshold, explain_dir) -> tuple[Prediction | None, str]:
    try:
        if explain_dir:
            prediction = detector.explain(path, explain_dir / f"{path.name}.png", threshold)
        else:
            prediction = detector.score(path, threshold)
    except AudioError as err:
        return None, str(err)
    return prediction, ""


def find_audio(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """Files named directly, and the audio files under folders (sorted); and the inputs that do not exist."""
    files, missing = [], []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
        elif path.exists():
            files.append(path)
        else:
            missing.append(name)
    return files, missing


def write_predictions(predictions: list[Prediction], form: str, out=None) -> None:
    out = out or sys.stdout
    rows = [prediction.as_dict() for prediction in predictions]
    if form == "json":
        out.write(json.dumps(rows, indent=2) + "\n")
    elif form == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif rows:
        cells = [FIELDS, *([str(row[field]) for field in FIELDS] for row in rows)]
        widths = [max(len(row[i]) for row in cells) for i in range(len(FIELDS))]
        for row in cells:
            out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() + "\n")
