"""The audit's figures and plot data (fixed style, same bytes on every run)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from deepfake_audio.audit.verdicts import non_speech
from deepfake_audio.plots import STYLE, save_png
from deepfake_audio.vocabulary import LABELS

RETRAINED = "retrained on trimmed"


def eer_frame(report: dict, retrained: dict) -> pd.DataFrame:
    """``case, eer, roc_auc``: each model untrimmed, trimmed and (where retrained) retrained on trimmed audio."""
    rows = []
    for model, result in report.items():
        rows += [
            {"case": f"{model}, {state}", "eer": result["eer"][state], "roc_auc": result["roc_auc"][state]}
            for state in ("untrimmed", "trimmed")
        ]
        if model in retrained:
            rows.append(
                {
                    "case": f"{model}, {RETRAINED}",
                    "eer": retrained[model]["eer"],
                    "roc_auc": retrained[model]["roc_auc"],
                }
            )
    return pd.DataFrame(rows, columns=["case", "eer", "roc_auc"])


def transplant_frame(report: dict, retrained: dict) -> pd.DataFrame:
    """``case, far, frr``: each model before and after the transplant (retrained ones too)."""
    results = {**report, **{f"{model} ({RETRAINED})": result for model, result in retrained.items()}}
    rows = [
        {"case": f"{model}, {when}", "far": result["far"][when], "frr": result["frr"][when]}
        for model, result in results.items()
        for when in ("before", "after")
    ]
    return pd.DataFrame(rows, columns=["case", "far", "frr"])


def summary_png(report: dict, retrained: dict, split: str, *, head_ms: float, path: Path) -> None:
    """Three panels (EER, FAR, FRR), each model's bars side by side, its shortcut risk under its name."""
    results = {**report, **{f"{model}\nretrained": result for model, result in retrained.items()}}
    panels = [
        (
            "EER (%)",
            "EER: untrimmed vs trimmed audio",
            ("untrimmed", "trimmed"),
            lambda result, state: _eer(result, state),
        ),
        (
            "FAR (%)",
            f"spoofs accepted; after: {head_ms:g} ms\nof a bona fide file's start in front",
            ("before", "after"),
            lambda result, when: result["far"][when],
        ),
        (
            "FRR (%)",
            f"bona fide rejected; after: {head_ms:g} ms\nof a spoofed file's start in front",
            ("before", "after"),
            lambda result, when: result["frr"][when],
        ),
    ]
    x = np.arange(len(results))
    names = [f"{model}\nrisk {result['shortcut_risk']}" for model, result in results.items()]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(13, 4.2))
        axes = fig.subplots(1, 3)
        for ax, (ylabel, title, states, value) in zip(axes, panels, strict=True):
            for i, state in enumerate(states):
                ax.bar(
                    x + (i - 0.5) * 0.38,
                    [value(result, state) for result in results.values()],
                    0.38,
                    label=state,
                    color=("C7", "C3")[i],
                )
            ax.set_xticks(x, names)
            for tick, result in zip(ax.get_xticklabels(), results.values(), strict=True):
                tick.set_color("C3" if result["shortcut_risk"] == "high" else "k")
            ax.set(ylabel=ylabel, title=title)
            ax.set_ylim(0, max(1.0, ax.get_ylim()[1] * 1.15))
            ax.legend(loc="upper right")
        retrained_note = " ('retrained': trained and scored on trimmed audio)" if retrained else ""
        fig.suptitle(f"Artefact audit on {split}: do the decisions rest on the non-speech?{retrained_note}")
        fig.tight_layout()
        save_png(fig, path)


def _eer(result: dict, state: str) -> float:
    """A retrained model is only evaluated trimmed (its ``eer`` is a number, not a pair)."""
    if isinstance(result["eer"], dict):
        return result["eer"][state]
    return result["eer"] if state == "trimmed" else np.nan


def speech_png(speech: pd.DataFrame, path: Path) -> None:
    """How much non-speech the trimming removed at each end, per class: a gap between the
    classes is itself a cue a model can learn."""
    lead, trail = non_speech(speech)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(9, 3.2))
        axes = fig.subplots(1, 2)
        for ax, values, where in ((axes[0], lead, "leading"), (axes[1], trail, "trailing")):
            bins = np.linspace(0, max(float(values.max()), 0.01), 31)
            for label, colour in zip(LABELS, ("C0", "C3"), strict=True):
                part = values[speech["label"] == label]
                ax.hist(
                    part,
                    bins=bins,
                    weights=np.full(len(part), 1 / max(len(part), 1)),
                    alpha=0.55,
                    color=colour,
                    label=f"{label} (median {part.median() * 1000:.0f} ms)" if len(part) else label,
                )
            ax.set(
                xlabel=f"{where} non-speech removed (s)",
                ylabel="share of the class's files",
                title=f"{where.capitalize()} trim",
            )
            ax.legend(loc="upper right")
        fig.tight_layout()
        save_png(fig, path)
