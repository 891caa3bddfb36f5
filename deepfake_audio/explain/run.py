"""The explain stage's work: what the SVC, the CNN and the GMM rely on, as figures, plot data and a summary.

Each model is explained on its own (``explain_svc``, ``explain_cnn``, ``explain_gmm``): it loads its model and
its decision threshold (its card's) from ``paths.MODELS``, writes its files into the folder
it is given and returns its metrics (metrics/explain_<model>.json), each run by its own
stage (``explain@svc``, ``explain@cnn``, ``explain@gmm``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import InputError
from deepfake_audio.explain import figures
from deepfake_audio.explain.cases import describe, pick_cases
from deepfake_audio.explain.gmm import coefficient_groups, frame_permutation
from deepfake_audio.explain.svc import (
    LocalExplainer,
    balanced_sample,
    lime_weights,
    permutation_by_family,
    permutation_ranking,
    permutation_summary,
    shap_by_family,
    shap_ranking,
    shap_values,
    top_rows,
    values_by,
)
from deepfake_audio.features.frames import card_frames, frame_names
from deepfake_audio.features.spectrogram import frame_times, real_frames, spectrogram_frequencies
from deepfake_audio.features.store import read_features
from deepfake_audio.io import atomic_path, write_csv, write_json
from deepfake_audio.models.files import read_card
from deepfake_audio.models.svc import expanded
from deepfake_audio.models.trained import decision_threshold, load_models, model_path, read_scores
from deepfake_audio.params import AnalysisSettings, Params
from deepfake_audio.progress import progress, step
from deepfake_audio.vocabulary import BONAFIDE, FRACTION_DECIMALS, SPOOF

METRICS_TOP = 5  # features listed per ranking in metrics/explain_svc.json (the plots show top_features)
PERMUTATION_AXIS = "rise in dev EER when shuffled (percentage points)"


def explain_model(name: str, params: Params) -> None:
    """Stage ``explain@<name>``: explain model ``name`` (svc, cnn or gmm) on ``explain.split`` into
    plots/explain/<name>/ and metrics/explain_<name>.json."""
    table, spectrograms = read_features(paths.FEATURES)
    if not (table["split"] == params.explain.split).any():
        raise InputError(
            f"explain.split is {params.explain.split} but {paths.FEATURES} holds no "
            f"{params.explain.split} utterances; set explain.split to a split the corpus has"
        )
    with atomic_path(paths.explain_plots_dir(name)) as out:
        (out / "images").mkdir(parents=True)
        if name == "svc":
            summary = explain_svc(table, params, out=out)
        elif name == "gmm":
            summary = explain_gmm(table, params, out=out)
        else:
            summary = explain_cnn(table, spectrograms, params, out=out)
    write_json(paths.metrics_file(f"explain_{name}"), {"split": params.explain.split, **summary})


def explain_svc(table: pd.DataFrame, params: Params, *, out: Path) -> dict:
    """Explain the SVC into ``out`` (plot data; figures in its images/ folder): permutation
    importance on dev, SHAP values and LIME cases on ``explain.split``. ``table``: the feature
    table of every utterance. Returns the SVC's metrics."""
    # Scored as a kernel matrix product: the same scores, 6x faster over the perturbed copies.
    model = expanded(load_models(paths.MODELS, ("svc",))["svc"])
    settings, top = params.explain, params.explain.top_features
    columns = list(model.feature_names_in_)
    train, dev = table[table["split"] == "train"], table[table["split"] == "dev"]

    targets, repeats = (dev["label"] == BONAFIDE).to_numpy(dtype=int), settings.permutation.repeats
    with step(f"explain svc: permutation importance ({len(columns)} features, {repeats} shuffles each)"):
        permutation = permutation_ranking(
            model, dev[columns], targets, repeats=repeats, seed=settings.seed, n_jobs=params.compute.n_jobs
        )
        by_family_permutation = permutation_by_family(
            model, dev[columns], targets, repeats=repeats, seed=settings.seed
        )
    write_csv(out / "permutation_importance.csv", permutation.head(top))
    write_csv(out / "permutation_families.csv", by_family_permutation)
    figures.permutation_png(
        permutation.head(top),
        by_family_permutation,
        xlabel=PERMUTATION_AXIS,
        title=f"SVC permutation importance on dev (mean and std of {repeats} shuffles)",
        path=out / "images" / "permutation_importance.png",
    )

    explained = balanced_sample(
        table[table["split"] == settings.split], settings.shap.utterances, settings.seed
    )
    with step(f"explain svc: SHAP values of {len(explained)} utterances"):
        values = shap_values(
            model,
            train[columns],
            explained[columns],
            params=settings.shap,
            seed=settings.seed,
            n_jobs=params.compute.n_jobs,
        )
    by_shap = shap_ranking(values, columns)
    write_csv(out / "shap_importance.csv", by_shap.head(top))
    title = f"SVC SHAP values on {len(explained)} {settings.split} utterances"
    figures.ranking_png(
        by_shap.head(top),
        "mean_abs_shap",
        None,
        xlabel="mean |SHAP value| (SVC score units)",
        title=title,
        path=out / "images" / "shap_bar.png",
    )
    figures.shap_summary_png(
        values, explained[columns], top, title=title, path=out / "images" / "shap_summary.png"
    )
    by_family = shap_by_family(values, columns)
    write_csv(out / "shap_families.csv", by_family)
    figures.ranking_png(
        by_family,
        "mean_abs_shap",
        None,
        xlabel="mean |sum of the family's SHAP values| (SVC score units)",
        title=f"{title}, by feature family",
        path=out / "images" / "shap_families.png",
        names="family",
    )

    cases = pick_cases(
        read_scores("svc", settings.split), decision_threshold(paths.MODELS, "svc"), settings.per_case
    )
    lime = LocalExplainer(model, train, settings.lime, seed=settings.seed)
    features_by_id = table.set_index("utt_id")
    for name, case in progress(list(_named(cases, "lime")), "explain svc: LIME", unit="case"):
        explanation = lime.explain(features_by_id.loc[case["utt_id"]])
        weights = lime_weights(explanation, columns)
        write_csv(out / f"{name}.csv", weights.round(FRACTION_DECIMALS))
        figures.lime_png(
            weights, describe(case), fit_r2=explanation.score, path=out / "images" / f"{name}.png"
        )
    write_csv(out / "cases_svc.csv", cases.round(FRACTION_DECIMALS))
    return {
        **permutation_summary(permutation, by_family_permutation, METRICS_TOP),
        "shap_top": top_rows(by_shap, "mean_abs_shap", METRICS_TOP),
        "shap_by_family": values_by(by_family, "family", "mean_abs_shap"),
    }


def explain_gmm(table: pd.DataFrame, params: Params, *, out: Path) -> dict:
    """Explain the GMM into ``out``: permutation importance of its frame coefficients on dev, one
    coefficient (with its deltas) at a time and one order at a time. Returns the GMM's metrics."""
    model = load_models(paths.MODELS, ("gmm",))["gmm"]
    card = read_card(model_path(paths.MODELS, "gmm"), "gmm")
    assert card.frames_params is not None  # read_card requires frames for a GMM
    names = frame_names(AnalysisSettings(card.sample_rate, card.features_params), card.frames_params)
    settings, repeats = params.explain, params.explain.permutation.repeats
    dev = read_manifest(paths.MANIFEST)[table["split"].to_numpy() == "dev"]
    frames = card_frames(dev["path"].tolist(), dev["duration_s"], card, compute=params.compute)
    by_coefficient, by_order = coefficient_groups(names)
    with step(f"explain gmm: permutation importance ({len(names)} frame values, {repeats} shuffles each)"):
        permutation, orders = (
            frame_permutation(
                model,
                frames,
                dev["label"],
                groups=groups,
                column=column,
                repeats=repeats,
                seed=settings.seed,
                n_jobs=params.compute.n_jobs,
            )
            for groups, column in ((by_coefficient, "feature"), (by_order, "family"))
        )
    write_csv(out / "permutation_importance.csv", permutation.head(settings.top_features))
    write_csv(out / "permutation_orders.csv", orders)
    figures.permutation_png(
        permutation.head(settings.top_features),
        orders,
        xlabel=PERMUTATION_AXIS,
        title=f"GMM permutation importance on dev (mean and std of {repeats} shuffles)",
        path=out / "images" / "permutation_importance.png",
        panels=(
            "one coefficient and its deltas shuffled at a time",
            "all the coefficients of an order shuffled together",
        ),
    )
    summary = permutation_summary(permutation, orders, METRICS_TOP)
    return {
        "permutation_top": summary["permutation_top"],
        "permutation_positive": summary["permutation_positive"],
        "permutation_by_order": summary["permutation_by_family"],
    }


def explain_cnn(table: pd.DataFrame, spectrograms: np.ndarray, params: Params, *, out: Path) -> dict:
    """Explain the CNN into ``out`` (plot data; figures in its images/ folder): Grad-CAM profiles
    and cases on ``explain.split``. ``table`` and ``spectrograms`` (rows, bins, frames): the
    features of every utterance. Returns the CNN's metrics."""
    # Imported here: it imports TensorFlow, which explaining the SVC does without.
    from deepfake_audio.explain.gradcam import GradCam, mass_fractions, uniform_profile

    model = load_models(paths.MODELS, ("cnn",))["cnn"]
    settings = params.explain
    frequencies = spectrogram_frequencies(params.analysis_settings)
    times = frame_times(spectrograms.shape[2], params.analysis_settings)
    gradcam = GradCam(model)
    row_of = pd.Series(np.arange(len(table)), index=table["utt_id"])

    # Profiles group the utterances by the model's decision and explain that decision.
    scored = read_scores("cnn", settings.split)
    threshold = decision_threshold(paths.MODELS, "cnn")
    decided = np.where(scored["score"] > threshold, BONAFIDE, SPOOF)
    profiles = gradcam.class_profiles(spectrograms, row_of[scored["utt_id"]].to_numpy(), decided)
    write_csv(
        out / "gradcam_frequency.csv",
        pd.DataFrame({"hz": frequencies, **{label: p.frequency for label, p in profiles.items()}}).round(
            FRACTION_DECIMALS
        ),
    )
    write_csv(
        out / "gradcam_time.csv",
        pd.DataFrame({"seconds": times, **{label: p.time for label, p in profiles.items()}}).round(
            FRACTION_DECIMALS
        ),
    )
    figures.profiles_png(
        profiles,
        frequencies,
        times,
        first_s=settings.gradcam.first_ms / 1000,
        above_hz=settings.gradcam.above_hz,
        split=settings.split,
        path=out / "images" / "gradcam_profiles.png",
    )

    cases = pick_cases(scored, threshold, settings.per_case)
    for name, case in _named(cases, "gradcam"):
        row = row_of[case["utt_id"]]
        towards_bonafide = case["score"] > threshold
        cam = gradcam.maps(spectrograms, [row], towards_bonafide)[0]
        spectrogram = np.asarray(spectrograms[row], dtype=np.float32)
        shown = slice(None, int(real_frames(spectrogram[None])[0]))  # without padding, the input ends there
        title = f"{describe(case)}\nevidence for {'bona fide' if towards_bonafide else 'spoof'}"
        figures.gradcam_png(
            spectrogram[:, shown],
            cam[:, shown],
            frequencies=frequencies,
            times=times[shown],
            title=title,
            path=out / "images" / f"{name}.png",
        )
    write_csv(out / "cases_cnn.csv", cases.round(FRACTION_DECIMALS))

    uniform = uniform_profile(len(frequencies), len(times))
    return {
        "gradcam": {
            **{
                f"decided_{label}": {
                    "files": p.n_maps,
                    **mass_fractions(p, frequencies, times, params=settings.gradcam),
                }
                for label, p in profiles.items()
            },
            "uniform": mass_fractions(uniform, frequencies, times, params=settings.gradcam),
        }
    }


def _named(cases: pd.DataFrame, prefix: str):
    """(file stem, case) pairs: ``<prefix>_<case>_<rank>``, rank 1 being the most extreme."""
    rank = cases.groupby("case").cumcount() + 1
    for (_, case), k in zip(cases.iterrows(), rank, strict=True):
        yield f"{prefix}_{case['case']}_{k}", case
