"""PNG figures of the explanations, in the fixed style of ``plots`` (same bytes on every run)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from deepfake_audio.plots import STYLE, save_png
from deepfake_audio.seeding import global_numpy_seed
from deepfake_audio.vocabulary import BONAFIDE, SPOOF

if TYPE_CHECKING:  # the figures need no TensorFlow (which Grad-CAM loads)
    from deepfake_audio.explain.gradcam import Profile

BONAFIDE_COLOUR, SPOOF_COLOUR = "C0", "C3"


def ranking_png(
    ranking: pd.DataFrame,
    value: str,
    error: str | None,
    *,
    xlabel: str,
    title: str,
    path: Path,
    names: str = "feature",
) -> None:
    """Horizontal bars of the rows of ``ranking`` (already sorted and cut), largest on top."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6, 1 + 0.22 * len(ranking)))
        ax = fig.subplots()
        _ranking_bars(ax, ranking, value, error=error, names=names)
        ax.set(xlabel=xlabel, title=title)
        fig.tight_layout()
        save_png(fig, path)


def permutation_png(
    by_feature: pd.DataFrame,
    by_family: pd.DataFrame,
    *,
    xlabel: str,
    title: str,
    path: Path,
    panels: tuple[str, str] = (
        "one feature shuffled at a time",
        "all the features of a family shuffled together",
    ),
) -> None:
    """Permutation importance in two panels: per feature (the rows given) and per feature family
    (or any grouping of the features), titled ``panels``."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6, 2 + 0.22 * (len(by_feature) + len(by_family))))
        features, families = fig.subplots(
            2, 1, height_ratios=[max(len(by_feature), 1) + 1, max(len(by_family), 1) + 1]
        )
        _ranking_bars(features, by_feature, "importance", error="std", names="feature")
        features.set(title=panels[0])
        _ranking_bars(families, by_family, "importance", error="std", names="family")
        families.set(xlabel=xlabel, title=panels[1])
        fig.suptitle(title)
        fig.tight_layout()
        save_png(fig, path)


def _ranking_bars(ax, ranking: pd.DataFrame, value: str, *, error: str | None, names: str) -> None:
    """One bar per row of ``ranking`` (with ``error`` bars), the first row on top."""
    y = np.arange(len(ranking))
    ax.barh(y, ranking[value], xerr=ranking[error] if error else None, color="C0", capsize=2)
    ax.set_yticks(y, ranking[names])
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.5)


def shap_summary_png(values: np.ndarray, features: pd.DataFrame, top: int, *, title: str, path: Path) -> None:
    """SHAP's beeswarm: one dot per utterance and feature, coloured by the feature's value."""
    import shap  # imported here: it imports matplotlib.pyplot

    # The dots' jitter comes from NumPy's global generator.
    with matplotlib.rc_context(STYLE), global_numpy_seed(0):
        explanation = shap.Explanation(
            values, data=features.to_numpy(dtype=float), feature_names=list(features.columns)
        )
        fig = Figure(figsize=(7, 1 + 0.3 * top))
        ax = fig.add_subplot()
        shap.plots.beeswarm(explanation, max_display=top, ax=ax, show=False, plot_size=None)
        ax.set_title(title)
        ax.set_xlabel("SHAP value (+ = towards bona fide)")
        fig.tight_layout()
        save_png(fig, path)


def lime_png(weights: pd.DataFrame, title: str, *, fit_r2: float, path: Path) -> None:
    """LIME's local weights: green pushes the score towards bona fide, red towards spoof."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(7, 1.2 + 0.25 * len(weights)))
        ax = fig.subplots()
        y = np.arange(len(weights))
        colours = np.where(weights["weight"] > 0, "tab:green", "tab:red")
        ax.barh(y, weights["weight"], color=colours)
        ax.set_yticks(y, weights["condition"])
        ax.invert_yaxis()
        ax.axvline(0, color="k", lw=0.5)
        ax.set(
            xlabel=f"weight in LIME's local linear model of the SVC score (fit R² {fit_r2:.2f})", title=title
        )
        fig.tight_layout()
        save_png(fig, path)


def gradcam_png(
    spectrogram: np.ndarray,
    cam: np.ndarray,
    *,
    frequencies: np.ndarray,
    times: np.ndarray,
    title: str,
    path: Path,
) -> None:
    """The input spectrogram (grey) under its Grad-CAM map (colour, scaled to its maximum)."""
    extent = (
        times[0],
        times[-1] + (times[1] - times[0] if len(times) > 1 else 0),
        -0.5,
        len(frequencies) - 0.5,
    )
    peak = float(cam.max())
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(8, 3.2))
        ax = fig.subplots()
        ax.imshow(spectrogram, origin="lower", aspect="auto", cmap="gray", extent=extent)
        shown = ax.imshow(
            cam / peak if peak > 0 else cam,
            origin="lower",
            aspect="auto",
            cmap="inferno",
            alpha=0.55,
            vmin=0,
            vmax=1,
            extent=extent,
        )
        _frequency_axis(ax, frequencies, axis="y")
        ax.set(xlabel="time (s)", title=title)
        fig.colorbar(shown, ax=ax, label="Grad-CAM (relative)")
        fig.tight_layout()
        save_png(fig, path)


def profiles_png(
    profiles: dict[str, Profile],
    frequencies: np.ndarray,
    times: np.ndarray,
    *,
    first_s: float,
    above_hz: float,
    split: str,
    path: Path,
) -> None:
    """Each decision's mean Grad-CAM mass over frequency and over time, the shortcut regions shaded."""
    colours = {BONAFIDE: BONAFIDE_COLOUR, SPOOF: SPOOF_COLOUR}
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(9, 3.4))
        by_frequency, by_time = fig.subplots(1, 2)
        rows = np.arange(len(frequencies))
        for label, profile in profiles.items():
            name = f"decided {label} ({profile.n_maps} files)"
            by_frequency.plot(rows, profile.frequency, color=colours.get(label), label=name)
            by_time.plot(times, profile.time, color=colours.get(label), label=name)
        high_rows = rows[frequencies > above_hz]
        if len(high_rows):
            by_frequency.axvspan(
                high_rows[0] - 0.5, rows[-1] + 0.5, color="grey", alpha=0.15, label=f"above {above_hz:g} Hz"
            )
        by_time.axvspan(times[0], first_s, color="grey", alpha=0.15, label=f"first {1000 * first_s:g} ms")
        _frequency_axis(by_frequency, frequencies, axis="x")
        by_frequency.set(ylabel="share of Grad-CAM mass", title="Where in frequency")
        by_time.set(xlabel="time (s)", ylabel="share of Grad-CAM mass", title="Where in time")
        for ax in (by_frequency, by_time):
            ax.set_ylim(bottom=0)
            ax.legend(loc="best", fontsize=6)
        fig.suptitle(f"CNN Grad-CAM, mean over the {split} split")
        fig.tight_layout()
        save_png(fig, path)


def _frequency_axis(ax, frequencies: np.ndarray, *, axis: str, ticks: int = 7) -> None:
    """Rows are labelled with their centre frequency in Hz (Mel rows are not evenly spaced in Hz)."""
    rows = np.unique(np.linspace(0, len(frequencies) - 1, ticks).round().astype(int))
    labels = [f"{frequencies[row]:.0f}" for row in rows]
    if axis == "y":
        ax.set_yticks(rows, labels)
        ax.set_ylabel("frequency (Hz)")
    else:
        ax.set_xticks(rows, labels)
        ax.set_xlabel("frequency (Hz)")
