"""`deepfake-audio predict`: the command-line layer over ``Detector``."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from deepfake_audio.detector import Detector, Prediction
from deepfake_audio.errors import InputError

FIELDS = ("path", "model", "score", "threshold", "decision", "duration_s", "windows")
PROGRESS_ABOVE = 5  # files; fewer finish before a progress bar would help
# What libsndfile reads, by extension (its format names, plus the usual aliases); headerless
# RAW is left out, as it cannot be read without being told its format.
AUDIO_EXTENSIONS = {f".{name.lower()}" for name in sf.available_formats() if name != "RAW"} | {".aif", ".oga", ".opus"}


def predict(args: argparse.Namespace) -> int:
    try:
        files, missing = find_audio(args.inputs)
        detector = Detector.load(args.models_dir, args.model, window_s=args.window)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in missing:
        print(f"error: {path}: no such file or folder", file=sys.stderr)
    predictions, failed = [], len(missing)
    # A bar for more than a handful of files, on a terminal only (None: tqdm checks for one).
    hide_bar = None if len(files) > PROGRESS_ABOVE else True
    for path in tqdm(files, desc="predict", unit="file", disable=hide_bar, file=sys.stderr):
        try:
            prediction = detector.score(path, args.threshold)
            if args.explain:
                detector.explain(prediction, args.explain / f"{Path(path).name}.png")
        except InputError as err:
            tqdm.write(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        predictions.append(prediction)
    write_predictions(predictions, args.format)
    return 1 if failed else 0


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
