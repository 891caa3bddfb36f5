"""Plot data for `dvc plots` and PNG images for readers without DVC.

Scores follow the ASVspoof convention (higher = more bona fide); spoof is the positive
class and an utterance is predicted spoof when its score is at or below the decision
threshold chosen on dev. Curves are drawn from the eval split (dev when there is no eval).

Files written under ``out_dir`` per model (column names are the fields dvc.yaml declares):
    roc_<model>.csv         fpr, tpr
    det_<model>.csv         far, frr          (percent: spoof accepted, bona fide rejected)
    hist_<model>.csv        score, bonafide, spoof   (densities over shared bins)
    confusion_<model>.csv   actual, predicted (one row per utterance)
    conditions_<model>.csv  condition, eer    (percent; header only without conditions)
    attacks_<model>.csv     attack, eer       (percent; replay, vocoder or system ids)
    <model>.png             ROC, DET, histograms, confusion matrix
and for all models together: conditions.png (per-condition EER), attacks.png (per-attack EER)
and roc.png. Cross-corpus evaluation adds the matrix of EERs, model by corpus (matrix.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

from deepfake_audio.io import atomic_path, write_csv
from deepfake_audio.metrics import det_curve, roc_points
from deepfake_audio.vocabulary import BONAFIDE, FRACTION_DECIMALS, LABELS, SPOOF

HIST_BINS = 40
# Fixed style and no timestamps or software tag, so the PNG bytes do not change run to run.
STYLE: dict[RcKeyType, Any] = {
    "svg.hashsalt": "deepfake-audio",
    "font.size": 8,
    "figure.dpi": 80,
    "savefig.dpi": 80,
}
_PNG_METADATA = {"Software": None}
_DET_TICKS = [0.1, 1, 5, 10, 20, 40, 60, 80, 95, 99]


def curve_split(scored: pd.DataFrame) -> str:
    """The split the curves describe: eval when present, else dev."""
    return "eval" if (scored["split"] == "eval").any() else "dev"


def thin(frame: pd.DataFrame, points: int) -> pd.DataFrame:
    """At most ``points`` rows, evenly spaced, always keeping the first and last."""
    if len(frame) <= points:
        return frame.reset_index(drop=True)
    index = np.unique(np.linspace(0, len(frame) - 1, max(points, 2)).round().astype(int))
    return frame.iloc[index].reset_index(drop=True)


def roc_frame(part: pd.DataFrame, points: int) -> pd.DataFrame:
    return thin(pd.DataFrame(roc_points(part["label"], part["score"])), points).round(FRACTION_DECIMALS)


def det_frame(part: pd.DataFrame, points: int) -> pd.DataFrame:
    frr, far, _ = det_curve(*_class_scores(part))
    frame = pd.DataFrame({"far": 100 * far, "frr": 100 * frr}).drop_duplicates()
    return thin(frame, points).round(FRACTION_DECIMALS)


def hist_frame(part: pd.DataFrame, bins: int = HIST_BINS) -> pd.DataFrame:
    """Density of each class over bins shared by both; ``score`` is the bin centre."""
    edges = np.histogram_bin_edges(part["score"].to_numpy(dtype=float), bins=bins)
    frame = {"score": (edges[:-1] + edges[1:]) / 2}
    for label, scores in zip(LABELS, _class_scores(part), strict=True):
        frame[label] = np.histogram(scores, bins=edges, density=True)[0]
    return pd.DataFrame(frame).round(FRACTION_DECIMALS)


def confusion_frame(part: pd.DataFrame, threshold: float) -> pd.DataFrame:
    predicted = np.where(part["score"].to_numpy(dtype=float) <= threshold, SPOOF, BONAFIDE)
    return pd.DataFrame({"actual": part["label"].to_numpy(), "predicted": predicted})


def conditions_frame(metrics: dict, split: str, column: str = "condition") -> pd.DataFrame:
    """The EER of each value of the manifest's ``column`` (``metrics["by_condition"]``): ``column, eer``."""
    by_condition = (metrics.get("by_condition") or {}).get(split) or {}
    rows = [(name, values["eer"]) for name, values in (by_condition.get(column) or {}).items()]
    return pd.DataFrame(rows, columns=[column, "eer"])


def write_model_plots(scored: pd.DataFrame, metrics: dict, model: str, *, out_dir: Path, points: int) -> None:
    """Plot data CSVs and ``<model>.png`` for one model's scored dev/eval utterances."""
    out_dir = Path(out_dir)
    split = curve_split(scored)
    part = scored[scored["split"] == split]
    eer, threshold = metrics[split]["eer"], metrics[split]["decision_threshold"]
    frames = {
        "roc": roc_frame(part, points),
        "det": det_frame(part, points),
        "hist": hist_frame(part),
        "confusion": confusion_frame(part, threshold),
        "conditions": conditions_frame(metrics, split),
        "attacks": conditions_frame(metrics, split, "attack"),
    }
    for kind, frame in frames.items():
        write_csv(out_dir / f"{kind}_{model}.csv", frame)
    _write_model_png(out_dir / f"{model}.png", model, split, frames=frames, eer=eer, threshold=threshold)


def write_summary_images(
    scored_by_model: dict[str, pd.DataFrame], metrics_by_model: dict[str, dict], out_dir: Path
) -> None:
    """``conditions.png`` and ``attacks.png`` (per-condition and per-attack EER, all models) and
    ``roc.png`` (all ROC curves)."""
    out_dir = Path(out_dir)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(5, 4.5))
        ax = fig.subplots()
        for model, scored in scored_by_model.items():
            part = scored[scored["split"] == curve_split(scored)]
            roc = roc_points(part["label"], part["score"])
            ax.plot(roc["fpr"], roc["tpr"], label=model)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.5, ls=":")
        ax.set(
            xlabel="bona fide flagged as spoof (FPR)",
            ylabel="spoofs detected (TPR)",
            title="ROC, positive class = spoof",
            xlim=(0, 1),
            ylim=(0, 1.01),
        )
        ax.legend(loc="lower right")
        fig.tight_layout()
        save_png(fig, out_dir / "roc.png")

        for column, title in (("condition", "condition"), ("attack", "attack")):
            tables = {
                model: conditions_frame(metrics, curve_split(scored_by_model[model]), column)
                for model, metrics in metrics_by_model.items()
            }
            _write_grouped_bars(tables, column, title=f"EER per {title}", path=out_dir / f"{column}s.png")


def _write_grouped_bars(tables: dict[str, pd.DataFrame], column: str, *, title: str, path: Path) -> None:
    """One bar per model for each value of ``column``: the EERs of ``tables`` (model -> column, eer)."""
    values = sorted({value for table in tables.values() for value in table[column]})
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6, max(2.5, 1 + 0.12 * len(values) * max(len(tables), 1))))
        ax = fig.subplots()
        if values:
            height = 0.8 / max(len(tables), 1)
            y = np.arange(len(values))
            for i, (model, table) in enumerate(tables.items()):
                eers = table.set_index(column)["eer"].reindex(values)
                ax.barh(y + i * height - 0.4 + height / 2, eers.to_numpy(dtype=float), height, label=model)
            ax.set_yticks(y, values)
            ax.invert_yaxis()
            ax.legend(loc="best")
        else:
            ax.text(0.5, 0.5, f"no per-{column} results", ha="center", va="center", transform=ax.transAxes)
        ax.set(xlabel="EER (%)", title=title)
        fig.tight_layout()
        save_png(fig, path)


def eer_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """The rows ``model, trained_on, evaluated_on, split, eer`` as a grid: a row per model, a
    column per corpus (its eval split, else its last split scored), in the order first seen."""
    last = table.drop_duplicates(["model", "evaluated_on"], keep="last")
    grid = last.pivot(index="model", columns="evaluated_on", values="eer")
    return grid.loc[last["model"].unique(), last["evaluated_on"].unique()].astype(np.float64)


def write_matrix_image(table: pd.DataFrame, path: Path) -> None:
    """The cross-corpus matrix: each model's EER (%) on each corpus (``eer_matrix``)."""
    grid = eer_matrix(table)
    trained_on = ", ".join(table["trained_on"].unique())
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(1.6 + 1.1 * grid.shape[1], 1.4 + 0.45 * grid.shape[0]))
        ax = fig.subplots()
        values = grid.to_numpy()
        ax.imshow(values, cmap="Reds", vmin=0, vmax=max(50.0, float(np.nanmax(values))), aspect="auto")
        for (i, j), eer in np.ndenumerate(values):
            text = "-" if np.isnan(eer) else f"{eer:.2f}"
            ax.text(j, i, text, ha="center", va="center", color="white" if eer > 30 else "black")
        ax.set_xticks(range(grid.shape[1]), grid.columns)
        ax.set_yticks(range(grid.shape[0]), grid.index)
        ax.set(xlabel="evaluated on (eval split)", ylabel=f"model, trained on {trained_on}")
        ax.set_title("EER (%): trained on -> evaluated on")
        fig.tight_layout()
        save_png(fig, path)


def _class_scores(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    bonafide, spoof = (part.loc[part["label"] == label, "score"].to_numpy(dtype=float) for label in LABELS)
    return bonafide, spoof


def _write_model_png(
    path: Path, model: str, split: str, *, frames: dict, eer: float, threshold: float
) -> None:
    from scipy.stats import norm

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(8, 7))
        axes = fig.subplots(2, 2)
        fig.suptitle(f"{model} on {split}: EER {eer:.2f}%")

        ax, roc = axes[0, 0], frames["roc"]
        ax.plot(roc["fpr"], roc["tpr"])
        ax.plot([0, 1], [0, 1], color="grey", lw=0.5, ls=":")
        # At the EER, bona fide rejected (FPR) = spoof accepted (1 - TPR) = EER.
        ax.plot([eer / 100], [1 - eer / 100], "o", color="C3", label=f"EER {eer:.2f}%")
        ax.set(
            xlabel="bona fide flagged as spoof (FPR)",
            ylabel="spoofs detected (TPR)",
            title="ROC (positive = spoof)",
            xlim=(0, 1),
            ylim=(0, 1.01),
        )
        ax.legend(loc="lower right")

        ax, det = axes[0, 1], frames["det"]

        def probit(percent):
            return norm.ppf(np.clip(np.asarray(percent, dtype=float) / 100, 1e-4, 1 - 1e-4))

        ax.plot(probit(det["far"]), probit(det["frr"]))
        ax.plot(probit([eer]), probit([eer]), "o", color="C3", label=f"EER {eer:.2f}%")
        ticks = probit(_DET_TICKS)
        ax.set_xticks(ticks, [f"{t:g}" for t in _DET_TICKS])
        ax.set_yticks(ticks, [f"{t:g}" for t in _DET_TICKS])
        ax.set(
            xlim=(ticks[0], ticks[-1]),
            ylim=(ticks[0], ticks[-1]),
            title="DET (normal deviate scale)",
            xlabel="spoof accepted, FAR (%)",
            ylabel="bona fide rejected, FRR (%)",
        )
        ax.grid(lw=0.3)
        ax.legend(loc="upper right")

        ax, hist = axes[1, 0], frames["hist"]
        width = float(hist["score"].diff().median()) if len(hist) > 1 else 1.0
        for label in LABELS:
            ax.bar(hist["score"], hist[label], width=width, alpha=0.5, label=label)
        ax.axvline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:.3g}")
        ax.set(xlabel="score (higher = more bona fide)", ylabel="density", title="Score distributions")
        ax.legend(loc="best")

        ax, confusion = axes[1, 1], frames["confusion"]
        counts = (
            pd.crosstab(confusion["actual"], confusion["predicted"])
            .reindex(index=list(LABELS), columns=list(LABELS), fill_value=0)
            .to_numpy()
        )
        ax.imshow(counts, cmap="Blues")
        for (i, j), count in np.ndenumerate(counts):
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                color="white" if count > counts.max() / 2 else "black",
            )
        ax.set_xticks([0, 1], LABELS)
        ax.set_yticks([0, 1], LABELS)
        ax.set(xlabel="predicted", ylabel="actual", title="Confusion at the dev EER threshold")

        fig.tight_layout()
        save_png(fig, path)


def save_png(fig: Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata=_PNG_METADATA)
