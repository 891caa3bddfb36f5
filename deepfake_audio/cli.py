"""The `deepfake-audio` command."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from deepfake_audio import paths
from deepfake_audio.vocabulary import MODEL_NAMES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="deepfake-audio", description="Detect replayed and synthesised speech."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser(
        "metrics",
        help="print the headline metrics of the trained models",
        description="Print dev and eval EER and ROC AUC of each model from metrics/<model>.json, and the "
        "shortcut risk the artefact audit found (metrics/audit.json).",
    )
    show.add_argument(
        "--metrics-dir",
        type=Path,
        default=paths.METRICS,
        help="folder holding <model>.json files (default: %(default)s)",
    )
    report = commands.add_parser(
        "report",
        help="write a Markdown report of metric and plot changes against a base commit",
        description="Write dvc metrics diff against BASE and the plot images that differ from it "
        "to a Markdown file (for a CML pull-request comment).",
    )
    report.add_argument("--base", required=True, help="git revision to compare with, e.g. origin/main")
    report.add_argument(
        "--out",
        type=Path,
        default=Path("report.md"),
        help="Markdown file to write (default: %(default)s); the whole report, "
        "when that one is shortened to fit a comment, goes beside it as <name>-full.md",
    )
    _add_compare(commands)
    _add_predict(commands)
    args = parser.parse_args(argv)
    if args.command == "report":
        return write_report(args.base, args.out)
    if args.command == "compare":
        return compare(args.rev)
    if args.command == "predict":
        from deepfake_audio.predict import predict

        return predict(args)
    return print_metrics(args.metrics_dir)


def _add_compare(commands) -> None:
    compare = commands.add_parser(
        "compare",
        help="is each model's EER and minDCF change against a revision beyond bootstrap noise?",
        description="Compare the working tree's data/scores/<model>.csv with REV's (from git, or the DVC "
        "cache for revisions that did not commit them): dev and eval EER and minDCF, their "
        "change, and its 95 %% interval from a bootstrap over utterances (each class "
        "resampled separately; paired, one draw for both revisions, when both hold the same "
        "utterances). Verdict: better when the EER interval lies entirely below 0, worse "
        "entirely above, else within noise. Resamples and seed: params.yaml "
        "evaluate.bootstrap.",
    )
    compare.add_argument(
        "rev", nargs="?", default="main", help="git revision to compare with (default: %(default)s)"
    )


def compare(rev: str) -> int:
    from deepfake_audio.compare import compare_with, format_table
    from deepfake_audio.errors import InputError
    from deepfake_audio.revisions import describe_commit, repo_root

    try:
        root = repo_root()
        described = describe_commit(rev, root)
        comparisons = compare_with(rev, root)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"base: {described}; head: the working tree")
    print(format_table(comparisons))
    return 0


def _add_predict(commands) -> None:
    predict = commands.add_parser(
        "predict",
        help="score audio files with a trained model (higher = more bona fide)",
        description="Score each audio file with a trained model. The score is higher for bona fide "
        "speech; a file is called spoof when its score is at or below the threshold. "
        "Files are read in any format libsndfile reads, at any sample rate and channel "
        "count, and preprocessed as the model's training data was (from the model file, "
        "not params.yaml). Every input ends as one result row or one 'error:' line on stderr "
        "naming it and the reason; the others are still scored. Exit status: 0 every file "
        "scored, 1 some inputs refused, 2 nothing run (bad options or model files), 3 an "
        "internal failure (a bug; the file is named and the others are scored).",
    )
    predict.add_argument(
        "inputs",
        nargs="+",
        metavar="FILE_OR_DIR",
        help="audio files, or folders searched recursively for audio files",
    )
    predict.add_argument(
        "--model",
        choices=MODEL_NAMES,
        default="cnn",
        help="countermeasure to score with; fusion combines the single models (default: %(default)s)",
    )
    predict.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="output: an aligned table, a JSON array of objects, or CSV with a header; "
        "fields: path, model, score, threshold, decision, duration_s, windows, and with "
        "--calibrated llr, prior_bonafide, p_bonafide (default: %(default)s)",
    )
    predict.add_argument(
        "--threshold",
        type=_threshold,
        default="dev-eer",
        metavar="dev-eer|FLOAT",
        help="decision threshold: dev-eer, the dev EER threshold saved with the model, "
        "or a number in score units (default: %(default)s)",
    )
    predict.add_argument(
        "--calibrated",
        action="store_true",
        help="also give each score as evidence, through the calibration saved with the model "
        "(fitted on dev): llr, the log-likelihood ratio (nats, bona fide over spoof); "
        "prior_bonafide, the prior of --prior; p_bonafide, the probability of bona fide under "
        "that prior. The decision stays the --threshold's",
    )
    predict.add_argument(
        "--prior",
        type=_prior,
        metavar="P",
        help="with --calibrated: the prior probability of bona fide, strictly between 0 and 1, "
        "that p_bonafide assumes (default: 0.5)",
    )
    predict.add_argument(
        "--models-dir",
        type=Path,
        default=paths.MODELS,
        help="folder holding svc.skops, cnn.keras, gmm.skops and fusion.skops (default: %(default)s)",
    )
    predict.add_argument(
        "--window",
        type=_window,
        default=30.0,
        metavar="SECONDS",
        help="files longer than this are scored in windows of this length, read one at a "
        "time, and the window scores averaged; at least the model's minimum duration "
        "and at most 600 (default: %(default)s)",
    )
    predict.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="score on a Dask cluster: its scheduler address (tcp://host:8786) or scheduler "
        "file (.json); the workers need this package and must see the audio files and "
        "--models-dir at the same paths",
    )
    predict.add_argument(
        "--explain",
        type=Path,
        metavar="OUT_DIR",
        help="also write a Grad-CAM image of the CNN per file, OUT_DIR/<file name>.png "
        "(a later file of the same name: <file name>-2.png, ...; models cnn and fusion)",
    )


def _threshold(value: str):
    if value == "dev-eer":
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected dev-eer or a finite number, got {value!r}")
    return number


def _prior(value: str) -> float:
    try:
        probability = float(value)
    except ValueError:
        probability = math.nan
    if not 0.0 < probability < 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(
            f"expected the prior probability of bona fide, a number strictly between 0 and 1, got {value!r}"
        )
    return probability


def _window(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return seconds


def write_report(base: str, out: Path) -> int:
    from deepfake_audio.errors import InputError
    from deepfake_audio.report import write_report as write

    try:
        print(f"wrote {write(base, out)}")
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def print_metrics(metrics_dir: Path) -> int:
    audit_file = metrics_dir / "audit.json"
    try:
        audit = json.loads(audit_file.read_text()) if audit_file.is_file() else {}
    except ValueError as err:
        print(f"error: {audit_file}: not a metrics file of this pipeline ({err})", file=sys.stderr)
        return 1
    rows = []
    for model in MODEL_NAMES:
        file = metrics_dir / f"{model}.json"
        if not file.is_file():
            print(f"error: {file}: not found; run `make repro` first", file=sys.stderr)
            return 1
        try:
            metrics = json.loads(file.read_text())
            rows.append((model, *_headline_cells(metrics), audit.get(model, {}).get("shortcut_risk", "-")))
        except (ValueError, KeyError, TypeError) as err:
            print(
                f"error: {file}: not a metrics file of this pipeline ({type(err).__name__}: {err})",
                file=sys.stderr,
            )
            return 1
    header = ("model", "dev EER %", "dev AUC", "eval EER %", "eval AUC", "shortcut risk")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))
    _print_verdicts(metrics_dir.parent / paths.AUDIT_VERDICTS)
    return 0


def _print_verdicts(verdicts_file: Path) -> None:
    """The audit's verdict lines (the list items of plots/audit/verdicts.md, found beside the
    metrics folder, as in the project), under the table; nothing when there is no such file."""
    if not verdicts_file.is_file():
        return
    lines = [line for line in verdicts_file.read_text().splitlines() if line.startswith("- ")]
    if lines:
        print(f"\nshortcut verdicts ({verdicts_file}):")
        print("\n".join(lines))


def _headline_cells(metrics: dict) -> list[str]:
    cells = [f"{metrics['dev']['eer']:.2f}", f"{metrics['dev']['roc_auc']:.4f}"]
    if "eval" not in metrics:  # a corpus fetched without its eval part
        return [*cells, "-", "-"]
    return [*cells, f"{metrics['eval']['eer']:.2f}", f"{metrics['eval']['roc_auc']:.4f}"]


if __name__ == "__main__":
    sys.exit(main())
