"""A Markdown report of how metrics and plot images differ from a base commit, sized for a
pull-request comment (CML).

``report.md`` holds, in order: a headline table (EER, minDCF and ROC AUC of each model on dev
and eval, with the verdict of the paired bootstrap of ``compare``), the changed metrics
grouped by file, and the changed figures. GitHub refuses comments over 65,536 characters,
so ``report.md`` stays within ``COMMENT_LIMIT``: what does not fit is left out there, with
counts, and the whole report is written beside it as ``report-full.md`` (the CI workflow
uploads both as the build artifact ``report``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from deepfake_audio import paths
from deepfake_audio.compare import Comparison, compare_with, interval_text
from deepfake_audio.io import atomic_path
from deepfake_audio.revisions import describe_commit, dvc_executable, repo_root, run
from deepfake_audio.vocabulary import MODEL_NAMES

PLOTS_DIR = "plots"
COMMENT_LIMIT = 60_000  # characters; GitHub's limit is 65,536
IMAGE_LINK_ALLOWANCE = 200  # characters `cml comment create` may add to an image link (its upload URL)
# Numbers are printed to this many significant digits: enough for every value the pipeline
# rounds (at most 6 decimals), few enough to hide float noise. A row whose base and head print
# the same is left out of the changed metrics.
SIGNIFICANT_DIGITS = 10
ARTIFACT_NAME = "report"  # the upload-artifact name in .github/workflows/cml.yaml
HEADLINE_METRICS = (("eer", "EER %"), ("min_dcf", "minDCF"), ("roc_auc", "ROC AUC"))


@dataclass(frozen=True)
class MetricRow:
    name: str
    base: object  # number, string, bool or None (absent at that revision)
    head: object

    @property
    def cells(self) -> tuple[str, str, str, str]:
        return (
            _cell(self.name),
            _cell(format_value(self.base)),
            _cell(format_value(self.head)),
            _cell(change_text(self.base, self.head)),
        )


def write_report(
    base: str, out: Path = Path("report.md"), root: Path | None = None, *, limit: int = COMMENT_LIMIT
) -> Path:
    """Write the report comparing the working tree of ``root`` (default: the current git
    repository) with ``base`` to ``out``, and the whole of it to ``full_report_path(out)``;
    returns ``out``. Any failing command raises InputError."""
    root = Path(root) if root is not None else repo_root()
    out = Path(out) if Path(out).is_absolute() else Path.cwd() / out
    described = describe_commit(base, root)
    diff = metrics_diff(base, root)
    comparisons = compare_with(base, root)
    images = [
        (image, Path(os.path.relpath(root / image, out.parent)).as_posix())
        for image in changed_images(base, root)
    ]
    intro = [f"Compared with {described}: base is that commit, head this working tree.", ""]
    headline = headline_section(diff, comparisons)
    tables = changed_metrics(diff)
    full = _document(intro, headline, tables, images=images, note=[])
    short = fit(intro, headline, tables, images=images, limit=limit, full_name=full_report_path(out).name)
    with atomic_path(full_report_path(out)) as tmp:
        tmp.write_text(full)
    with atomic_path(out) as tmp:
        tmp.write_text(short)
    return out


def full_report_path(out: Path) -> Path:
    """report.md -> report-full.md, in the same folder."""
    return out.with_name(f"{out.stem}-full{out.suffix}")


def metrics_diff(base: str, root: Path) -> dict[str, dict[str, dict]]:
    """``dvc metrics diff BASE --json --all``: {file: {metric: {"old": .., "new": ..}}}."""
    text = run([dvc_executable(), "metrics", "diff", base, "--json", "--all"], root)
    return json.loads(text) if text else {}


def headline_section(diff: dict, comparisons: list[Comparison]) -> list[str]:
    """EER, minDCF and ROC AUC base → head per model and split, with the bootstrap verdict."""
    by_key = {(c.model, c.split): c for c in comparisons}
    rows: list[str] = []
    reasons: dict[str, list[str]] = {}  # why a comparison is unavailable: the models and splits
    for model in MODEL_NAMES:
        values = diff.get(paths.metrics_file(model).as_posix(), {})
        for split in ("dev", "eval"):
            cells = [_arrow(values.get(f"{split}.{key}", {})) for key, _ in HEADLINE_METRICS]
            if all(cell == "-" for cell in cells):
                continue  # no such model or split at either revision
            comparison = by_key.get((model, split))
            change, verdict = "-", "unavailable"
            if comparison is not None and comparison.unavailable:
                reasons.setdefault(comparison.unavailable, []).append(f"{model} {split}")
            elif comparison is not None:
                eer = comparison.eer
                assert eer is not None  # an available comparison has one
                change = f"{eer.change:+.2f} {interval_text(eer, 2)}" + (
                    "" if comparison.paired else ", unpaired"
                )
                verdict = (
                    comparison.verdict
                    if comparison.verdict == "within noise"
                    else f"**{comparison.verdict}**"
                )
            rows.append("| " + " | ".join([model, split, *cells, change, verdict]) + " |")
    if not rows:
        return ["## Headline", "", "No model metrics (metrics/<model>.json) at either revision.", ""]
    lines = [
        "## Headline",
        "",
        "| model | split | "
        + " | ".join(title for _, title in HEADLINE_METRICS)
        + " | EER change [95 % interval] | verdict |",
        "|---|---|" + "---|" * len(HEADLINE_METRICS) + "---|---|",
        *rows,
        "",
        "Values are base → head (one value: unchanged). The interval is the 95 % percentile "
        "interval of the EER change (head − base, percentage points) from a bootstrap over "
        "utterances, each class resampled separately and paired (the same draw scores both "
        "revisions) unless the utterance sets differ; the verdict is *better* when it lies "
        "entirely below 0, *worse* entirely above, else *within noise* (resamples and seed: "
        "`evaluate.bootstrap`).",
        "",
    ]
    for reason, where in reasons.items():
        lines.append(f"- unavailable ({', '.join(where)}): {_cell(reason)}")
    return lines + ([""] if reasons else [])


def changed_metrics(diff: dict) -> list[tuple[str, list[MetricRow]]]:
    """The rows whose change shows at the printed precision, grouped by file: the models'
    metrics first, then the other files by name."""
    first = [paths.metrics_file(model).as_posix() for model in MODEL_NAMES]
    files = [file for file in first if file in diff] + sorted(set(diff) - set(first))
    tables = []
    for file in files:
        rows = [
            MetricRow(name, entry.get("old"), entry.get("new")) for name, entry in sorted(diff[file].items())
        ]
        rows = [row for row in rows if format_value(row.base) != format_value(row.head)]
        if rows:
            tables.append((file, rows))
    return tables


def changed_images(base: str, root: Path) -> list[str]:
    """PNGs under plots/ that differ from ``base`` in the working tree: changed, added or untracked
    (deleted ones cannot be shown)."""
    changed = run(["git", "diff", "--name-only", "--diff-filter=d", base, "--", PLOTS_DIR], root).splitlines()
    untracked = run(["git", "ls-files", "--others", "--exclude-standard", "--", PLOTS_DIR], root).splitlines()
    return sorted(
        {name for name in changed + untracked if name.lower().endswith(".png") and (root / name).is_file()}
    )


def format_value(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{SIGNIFICANT_DIGITS}g}"
    return str(value)


def change_text(base, head) -> str:
    if base is None:
        return "added"
    if head is None:
        return "removed"
    if _is_number(base) and _is_number(head):
        if isinstance(base, int) and isinstance(head, int):
            return f"{head - base:+d}"
        change = Decimal(repr(float(head))) - Decimal(
            repr(float(base))
        )  # of the numbers as written: no float noise
        return f"{float(change):+.{SIGNIFICANT_DIGITS}g}"
    return "changed"


def fit(
    intro: list[str],
    headline: list[str],
    tables: list[tuple[str, list[MetricRow]]],
    *,
    images: list[tuple[str, str]],
    limit: int,
    full_name: str,
) -> str:
    """The report within ``limit`` characters (each image counted with ``IMAGE_LINK_ALLOWANCE``):
    the intro and headline always; then as many metric rows and images as fit, the rest
    counted in a note that points to ``full_name``. Images may take at most half the room
    left after the headline while the metrics need the rest."""
    full = _document(intro, headline, tables, images=images, note=[])
    if _size(full, len(images)) <= limit:
        return full
    n_rows = sum(len(rows) for _, rows in tables)
    room = limit - _size(
        _document(
            intro,
            headline,
            [],
            images=[],
            note=_note(n_rows, n_rows, images_out=len(images), images=len(images), full_name=full_name),
        ),
        0,
    )
    while True:
        kept_images = _images_within(images, room // 2)
        kept_tables = _rows_within(tables, room - _images_size(kept_images))
        kept_images = _images_within(images, room - _tables_size(kept_tables))
        kept_rows = sum(len(rows) for _, rows in kept_tables)
        note = _note(
            n_rows - kept_rows,
            n_rows,
            images_out=len(images) - len(kept_images),
            images=len(images),
            full_name=full_name,
        )
        text = _document(
            intro,
            headline,
            kept_tables,
            images=kept_images,
            note=note,
            all_tables=tables,
            n_images=len(images),
        )
        overflow = _size(text, len(kept_images)) - limit
        if overflow <= 0 or room <= 0:
            return text
        room -= overflow  # the headings and "left out" lines took more than estimated


def _document(
    intro: list[str],
    headline: list[str],
    tables: list[tuple[str, list[MetricRow]]],
    *,
    images: list[tuple[str, str]],
    note: list[str],
    all_tables: list[tuple[str, list[MetricRow]]] | None = None,
    n_images: int | None = None,
) -> str:
    all_tables = tables if all_tables is None else all_tables
    n_images = len(images) if n_images is None else n_images
    lines = ["# Pipeline report", "", *intro, *note, *headline, "## Changed metrics", ""]
    total = {file: len(rows) for file, rows in all_tables}
    if not total:
        lines += ["No metric changed at the printed precision.", ""]
    for file, rows in tables:
        lines += _table(file, rows, total[file])
    left_out = [f"`{file}` ({count} rows)" for file, count in total.items() if file not in dict(tables)]
    if left_out:
        lines += [f"Left out here: {', '.join(left_out)}.", ""]
    lines += ["## Changed figures", ""]
    for image, link in images:
        lines += _image(image, link)
    if not n_images:
        lines += ["No plot image differs from the base.", ""]
    elif n_images > len(images):
        lines += [f"*{n_images - len(images)} more changed figures are left out here.*", ""]
    return "\n".join(lines)


def _table(file: str, rows: list[MetricRow], total: int) -> list[str]:
    lines = [f"### {file}", "", "| metric | base | head | change |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(row.cells) + " |" for row in rows]
    if total > len(rows):
        lines += ["", f"*{total - len(rows)} more changed rows of `{file}` are left out here.*"]
    return lines + [""]


def _image(image: str, link: str) -> list[str]:
    return [f"### {image}", "", f"![{Path(image).name}]({link})", ""]


def _note(rows_out: int, rows: int, *, images_out: int, images: int, full_name: str) -> list[str]:
    parts = ([f"{rows_out} of {rows} changed metric rows"] if rows_out else []) + (
        [f"{images_out} of {images} figures"] if images_out else []
    )
    where = f"`{full_name}` in the `{ARTIFACT_NAME}` artifact of " + (
        f"[this workflow run]({_run_url()})" if _run_url() else "the workflow run that wrote this"
    )
    return [
        f"> **Shortened to fit a pull-request comment:** {' and '.join(parts) or 'nothing'} "
        f"left out here. The whole report is {where}.",
        "",
    ]


def _run_url() -> str:
    """The GitHub Actions run writing this report, from the variables Actions sets."""
    server, repo, run_id = (
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repo}/actions/runs/{run_id}" if server and repo and run_id else ""


def _rows_within(tables, room: int) -> list[tuple[str, list[MetricRow]]]:
    kept = []
    for file, rows in tables:
        room -= len("\n".join(_table(file, [], len(rows) + 1))) + 1
        taken = []
        for row in rows:
            size = len("| " + " | ".join(row.cells) + " |") + 1
            if size > room:
                break
            taken.append(row)
            room -= size
        if not taken:
            break
        kept.append((file, taken))
        if len(taken) < len(rows):
            break
    return kept


def _images_within(images, room: int) -> list[tuple[str, str]]:
    kept = []
    for image in images:
        room -= _images_size([image])
        if room < 0:
            break
        kept.append(image)
    return kept


def _tables_size(tables) -> int:
    return sum(len("\n".join(_table(file, rows, len(rows) + 1))) + 1 for file, rows in tables)


def _images_size(images) -> int:
    return sum(len("\n".join(_image(*image))) + 1 + IMAGE_LINK_ALLOWANCE for image in images)


def _size(text: str, n_images: int) -> int:
    return len(text) + n_images * IMAGE_LINK_ALLOWANCE


def _arrow(entry: dict) -> str:
    base, head = format_value(entry.get("old")), format_value(entry.get("new"))
    return head if base == head else f"{base} → {head}"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
