"""`deepfake-audio predict`: the command-line layer over ``Detector``.

Every input ends as exactly one result row or one ``error:`` line on stderr, whatever
goes wrong while reading or scoring it; the exit status tells the outcomes apart.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import stat
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from deepfake_audio.audio import AudioError, check_regular_file
from deepfake_audio.compute import dask_client, dask_map_ordered
from deepfake_audio.detector import Detector, Prediction
from deepfake_audio.errors import InputError
from deepfake_audio.params import ComputeParams

FIELDS = ("path", "model", "score", "threshold", "decision", "duration_s", "windows")
# With --calibrated: the score's LLR, the prior it is read under, and the probability of bona fide.
CALIBRATED_FIELDS = ("llr", "prior_bonafide", "p_bonafide")
DEFAULT_PRIOR = 0.5  # --prior: the prior probability of bona fide of --calibrated
PROGRESS_ABOVE = 5  # files; fewer finish before a progress bar would help
CLUSTER_CHUNK = 16  # files per cluster task
# Exit statuses. 2 is also argparse's for a bad command line.
ALL_SCORED, SOME_REFUSED, NOT_RUN, INTERNAL_FAILURE = 0, 1, 2, 3
# What libsndfile reads, by extension: its format names and the usual extensions of each
# (headerless RAW is left out, as it cannot be read without being told its format).
AUDIO_EXTENSIONS = {f".{name.lower()}" for name in sf.available_formats() if name != "RAW"} | {
    ".aif",
    ".aifc",
    ".snd",
    ".8svx",
    ".iff",
    ".sph",
    ".sf",
    ".mat",
    ".oga",
    ".opus",
    ".mpc",
    ".wave",
}


@dataclass
class Outcome:
    """One input's end: a prediction, or the reason it has none (``internal``: a bug, not the input)."""

    path: str
    prediction: Prediction | None = None
    reason: str = ""
    internal: bool = False


@dataclass
class Scan:
    """The inputs found: files to score, inputs refused at once, and notes on what was skipped."""

    files: list[Path] = field(default_factory=list)
    refused: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def predict(args: argparse.Namespace) -> int:
    try:
        return _predict(args)
    except Exception as err:  # a bug: still one line, and a status that says so
        _error(f"internal failure: {type(err).__name__}: {err}")
        return INTERNAL_FAILURE


def _predict(args: argparse.Namespace) -> int:
    try:
        _check_options(args)
        scan = scan_inputs(args.inputs)
        detector = (
            None if args.scheduler else Detector.load(args.models_dir, args.model, window_s=args.window)
        )
        _make_folder(args.explain)
    except InputError as err:
        _error(str(err))
        return NOT_RUN
    for note in scan.notes:
        print(f"note: {printable(note)}", file=sys.stderr)
    outcomes = list(scan.refused)
    for outcome in outcomes:
        _report(outcome)
    # A bar for more than a handful of files, on a terminal only (None: tqdm checks for one).
    hide_bar = None if len(scan.files) > PROGRESS_ABOVE else True
    scored, status = 0, None
    with tqdm(total=len(scan.files), desc="predict", unit="file", disable=hide_bar, file=sys.stderr) as bar:
        try:
            for outcome in _score_all(scan.files, detector, args):
                _report(outcome)
                outcomes.append(outcome)
                scored += 1
                bar.update()
        except Exception as err:  # the cluster (or a bug), not one file: the rest are named, the scores kept
            status = NOT_RUN if isinstance(err, InputError) else INTERNAL_FAILURE
            reason = f"not scored: the run stopped: {type(err).__name__}: {err}"
            for path in scan.files[scored:]:
                _report(Outcome(str(path), reason=reason))
    write_predictions(
        [outcome.prediction for outcome in outcomes if outcome.prediction],
        args.format,
        calibrated=args.calibrated,
    )
    if status is not None:
        return status
    if any(outcome.internal for outcome in outcomes):
        return INTERNAL_FAILURE
    return SOME_REFUSED if any(outcome.prediction is None for outcome in outcomes) else ALL_SCORED


def _check_options(args: argparse.Namespace) -> None:
    if _kind(args.models_dir) not in (None, "folder"):
        raise InputError(f"--models-dir {args.models_dir}: not a folder")
    if args.prior is not None and not args.calibrated:
        raise InputError("--prior is the prior of the --calibrated output; add --calibrated")
    if args.explain is None:
        return
    if args.scheduler:
        raise InputError("--explain runs locally; leave out --scheduler to draw Grad-CAM maps")
    if args.model in ("svc", "gmm"):
        raise InputError("--explain draws Grad-CAM maps of the CNN; use --model cnn or fusion")
    if _kind(args.explain) not in (None, "folder"):
        raise InputError(f"--explain {args.explain}: not a folder")


def _make_folder(folder: Path | None) -> None:
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--explain {folder}: cannot create the folder: {err.strerror}") from None


def _kind(path: Path) -> str | None:
    """``folder``, ``file`` (anything else that exists) or None when there is nothing at ``path``."""
    try:
        return "folder" if stat.S_ISDIR(os.stat(path).st_mode) else "file"
    except FileNotFoundError:
        return None
    except OSError:  # a name too long, a folder we may not search: not usable as a folder
        return "file"


def _report(outcome: Outcome) -> None:
    if outcome.prediction is None:
        tqdm.write(f"error: {printable(outcome.path)}: {printable(outcome.reason)}", file=sys.stderr)


def _error(message: str) -> None:
    print(f"error: {printable(message)}", file=sys.stderr)


def _prior(args: argparse.Namespace) -> float | None:
    """The prior probability of bona fide of the --calibrated output; None without --calibrated."""
    if not args.calibrated:
        return None
    return DEFAULT_PRIOR if args.prior is None else args.prior


def _score_all(files: list[Path], detector: Detector | None, args) -> Iterator[Outcome]:
    """One outcome per file, in order: here, or on a Dask cluster."""
    prior = _prior(args)
    if detector is not None:
        images = explain_images(files, args.explain) if args.explain else [None] * len(files)
        for path, image in zip(files, images, strict=True):
            yield score_one(detector, path, args.threshold, image=image, prior=prior)
        return
    task = partial(
        score_files,
        models_dir=os.path.abspath(args.models_dir),
        model=args.model,
        window_s=args.window,
        threshold=args.threshold,
        prior=prior,
    )
    chunks = [
        [os.path.abspath(path) for path in files[start : start + CLUSTER_CHUNK]]
        for start in range(0, len(files), CLUSTER_CHUNK)
    ]
    with dask_client(ComputeParams(backend="dask", scheduler=args.scheduler)) as client:
        for outcomes in dask_map_ordered(client, task, chunks, name="predict"):
            yield from outcomes


def score_files(
    paths: list[str],
    *,
    models_dir: str,
    model: str,
    window_s: float,
    threshold: float | None,
    prior: float | None = None,
):
    """A cluster task: score ``paths`` with the worker's cached Detector."""
    detector = _cached_detector(models_dir, model, window_s)
    return [score_one(detector, Path(path), threshold, prior=prior) for path in paths]


@lru_cache(maxsize=2)
def _cached_detector(models_dir: str, model: str, window_s: float) -> Detector:
    return Detector.load(models_dir, model, window_s=window_s)


def score_one(
    detector: Detector,
    path: Path,
    threshold: float | None,
    *,
    image: Path | None = None,
    prior: float | None = None,
) -> Outcome:
    """Score one file (and draw its Grad-CAM image to ``image``); with ``prior``, the prior
    probability of bona fide, its prediction carries the calibrated fields. Any failure becomes
    the file's reason, never an exception."""
    try:
        return _score_one(detector, path, threshold, image=image, prior=prior)
    except Exception as err:  # decoder, resampler, features or model: a bug to report, not a crash
        return Outcome(
            str(path),
            reason=f"internal error while scoring ({type(err).__name__}: {err}); please report it",
            internal=True,
        )


def _score_one(
    detector: Detector, path: Path, threshold: float | None, *, image: Path | None, prior: float | None
) -> Outcome:
    try:
        if image is None:
            return Outcome(str(path), detector.score(path, threshold, prior=prior))
        return Outcome(str(path), detector.explain(path, image, threshold, prior=prior))
    except AudioError as err:
        return Outcome(str(path), reason=err.reason)
    except InputError as err:
        return Outcome(str(path), reason=str(err))
    except OSError as err:
        if image is None:
            raise
        return Outcome(
            str(path), reason=f"its Grad-CAM image {image} could not be written: {err.strerror or err}"
        )


def explain_images(files: list[Path], out_dir: Path) -> list[Path]:
    """``out_dir/<file name>.png`` for each file in turn; a later file of the same name gets
    ``<file name>-2.png``, ..."""
    images, taken = [], set()
    for path in files:
        stem, number = path.name, 1
        while (name := f"{stem}.png" if number == 1 else f"{stem}-{number}.png") in taken:
            number += 1
        taken.add(name)
        images.append(out_dir / name)
    return images


def scan_inputs(inputs: list[str]) -> Scan:
    """Files named directly, and the audio files under folders (sorted).

    Inputs that do not exist, entries of a folder that carry an audio extension but are
    not regular files (FIFOs, devices, broken links), and folders without audio are
    refused; files without an audio extension are skipped with a note.
    """
    scan = Scan()
    for name in inputs:
        path = Path(name)
        kind = _kind(path)
        if kind == "folder":
            _scan_folder(path, scan)
        elif kind == "file" or os.path.lexists(path):
            scan.files.append(
                path
            )  # the detector says why a FIFO, a broken link or a long name cannot be read
        else:
            scan.refused.append(Outcome(name, reason="no such file or folder"))
    return scan


def _scan_folder(folder: Path, scan: Scan) -> None:
    found: list[Path] = []
    skipped: dict[str, list[Path]] = {}  # by extension
    linked: list[str] = []

    def unreadable(err: OSError) -> None:
        scan.refused.append(Outcome(str(err.filename), reason=f"cannot read this folder: {err.strerror}"))

    for root, folders, names in os.walk(folder, onerror=unreadable):
        linked += [name for name in folders if os.path.islink(os.path.join(root, name))]
        for entry in (Path(root) / name for name in names):
            if entry.suffix.lower() not in AUDIO_EXTENSIONS:
                skipped.setdefault(entry.suffix.lower() or "(none)", []).append(entry)
                continue
            try:
                check_regular_file(entry)
                found.append(entry)
            except AudioError as err:
                scan.refused.append(Outcome(str(entry), reason=err.reason))
    scan.files += sorted(found)
    if skipped:
        count = sum(map(len, skipped.values()))
        scan.notes.append(
            f"{folder}: skipped {count} file{'s' * (count != 1)} without an audio extension "
            f"({', '.join(sorted(skipped))})"
        )
    if linked:
        shown = ", ".join(sorted(linked)[:3]) + (", ..." if len(linked) > 3 else "")
        scan.notes.append(
            f"{folder}: did not follow {len(linked)} linked folder{'s' * (len(linked) != 1)} "
            f"({shown}); name them to score them"
        )
    if not found and not any(Path(outcome.path).is_relative_to(folder) for outcome in scan.refused):
        scan.refused.append(Outcome(str(folder), reason="no audio files in this folder"))


def printable(text: str, controls: bool = True) -> str:
    """``text`` safe to print: undecodable bytes of file names (which Python keeps as lone
    surrogates) as ``\\xNN``; and, with ``controls``, backslashes doubled and control, format
    (bidirectional overrides) and line-breaking characters as ``\\n``, ``\\t``, ``\\xNN`` or
    ``\\uNNNN``, so a name can neither forge nor break an output line, nor pass for another."""
    return "".join(_printable(char, controls) for char in text)


def _printable(char: str, controls: bool) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}"
    if not controls:
        return char
    if char == "\\":
        return "\\\\"
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
        return named.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return char


def write_predictions(
    predictions: list[Prediction], form: str, out=None, *, calibrated: bool = False
) -> None:
    """Write ``predictions`` to ``out`` (stdout) as ``form``: ``table``, ``json`` or ``csv``, with
    the fields ``FIELDS``, and ``CALIBRATED_FIELDS`` after them when ``calibrated`` (then every
    prediction must carry them)."""
    out = out or sys.stdout
    fields = FIELDS + CALIBRATED_FIELDS if calibrated else FIELDS
    # JSON escapes control characters itself; in CSV a bare carriage return would split a row.
    rows = [
        {**prediction.as_dict(), "path": printable(prediction.path, controls=form != "json")}
        for prediction in predictions
    ]
    if form == "json":
        out.write(json.dumps(rows, indent=2, allow_nan=False) + "\n")
    elif form == "csv":
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif rows:
        cells = [fields, *([str(row[field]) for field in fields] for row in rows)]
        widths = [max(len(row[i]) for row in cells) for i in range(len(fields))]
        for row in cells:
            out.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
            )
