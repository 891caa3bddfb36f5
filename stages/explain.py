"""DVC stage `explain`: what the SVC and the CNN rely on, as figures and a metrics summary.

Writes plots/explain/ (plot data; figures in images/) and metrics/explain.json.
"""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import json

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.errors import InputError, run_stage
from deepfake_audio.explain import figures
from deepfake_audio.explain.cases import describe, pick_cases
from deepfake_audio.explain.gradcam import GradCam, mass_fractions, uniform_profile
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
from deepfake_audio.features.spectrogram import frame_times, spectrogram_frequencies
from deepfake_audio.features.store import read_features
from deepfake_audio.io import atomic_path, write_csv, write_json
from deepfake_audio.models.trained import load_models, read_scores
from deepfake_audio.params import Params, load_params
from deepfake_audio.plots import DECIMALS

METRICS_TOP = 5  # features listed per ranking in metrics/explain.json (the plots show top_features)
PERMUTATION_AXIS = "rise in dev EER when shuffled (percentage points)"


def main() -> None:
    params = load_params()
    table, spectrograms = read_features(paths.FEATURES)
    if not (table["split"] == params.explain.split).any():
        raise InputError(
            f"explain.split is {params.explain.split} but {paths.FEATURES} holds no "
            f"{params.explain.split} utterances; set explain.split to a split the corpus has"
        )
    models = load_models(paths.MODELS, ("svc", "cnn"))
    with atomic_path(paths.EXPLAIN_PLOTS) as out:
        (out / "images").mkdir(parents=True)
        summary = {
            "split": params.explain.split,
            "svc": explain_svc(models["svc"], table, params, out),
            "cnn": explain_cnn(models["cnn"], table, spectrograms, params, out),
        }
    write_json(paths.metrics_file("explain"), summary)


def explain_svc(model, table: pd.DataFrame, params: Params, out) -> dict:
    settings, top = params.explain, params.explain.top_features
    columns = list(model.feature_names_in_)
    train, dev = table[table["split"] == "train"], table[table["split"] == "dev"]

    targets, repeats = (dev["label"] == "bonafide").to_numpy(dtype=int), settings.permutation.repeats
    permutation = permutation_ranking(
        model, dev[columns], targets, repeats, settings.seed, params.compute.n_jobs
    )
    by_family_permutation = permutation_by_family(model, dev[columns], targets, repeats, settings.seed)
    write_csv(out / "permutation_importance.csv", permutation.head(top))
    write_csv(out / "permutation_families.csv", by_family_permutation)
    figures.permutation_png(
        permutation.head(top),
        by_family_permutation,
        PERMUTATION_AXIS,
        f"SVC permutation importance on dev (mean and std of {repeats} shuffles)",
        out / "images" / "permutation_importance.png",
    )

    explained = balanced_sample(
        table[table["split"] == settings.split], settings.shap.utterances, settings.seed
    )
    values = shap_values(model, train[columns], explained[columns], settings.shap, settings.seed)
    by_shap = shap_ranking(values, columns)
    write_csv(out / "shap_importance.csv", by_shap.head(top))
    title = f"SVC SHAP values on {len(explained)} {settings.split} utterances"
    figures.ranking_png(
        by_shap.head(top),
        "mean_abs_shap",
        None,
        "mean |SHAP value| (SVC score units)",
        title,
        out / "images" / "shap_bar.png",
    )
    figures.shap_summary_png(values, explained[columns], top, title, out / "images" / "shap_summary.png")
    by_family = shap_by_family(values, columns)
    write_csv(out / "shap_families.csv", by_family)
    figures.ranking_png(
        by_family,
        "mean_abs_shap",
        None,
        "mean |sum of the family's SHAP values| (SVC score units)",
        f"{title}, by feature family",
        out / "images" / "shap_families.png",
        names="family",
    )

    cases = pick_cases(
        read_scores("svc", settings.split), _threshold("svc", settings.split), settings.per_case
    )
    lime = LocalExplainer(model, train, settings.lime, settings.seed)
    features_by_id = table.set_index("utt_id")
    for name, case in _named(cases, "lime"):
        explanation = lime.explain(features_by_id.loc[case["utt_id"]])
        weights = lime_weights(explanation, columns)
        write_csv(out / f"{name}.csv", weights.round(DECIMALS))
        figures.lime_png(weights, describe(case), explanation.score, out / "images" / f"{name}.png")
    write_csv(out / "cases_svc.csv", cases.round(DECIMALS))
    return {
        **permutation_summary(permutation, by_family_permutation, METRICS_TOP),
        "shap_top": top_rows(by_shap, "mean_abs_shap", METRICS_TOP),
        "shap_by_family": values_by(by_family, "family", "mean_abs_shap"),
    }


def explain_cnn(model, table: pd.DataFrame, spectrograms: np.ndarray, params: Params, out) -> dict:
    settings = params.explain
    frequencies = spectrogram_frequencies(params.data.sample_rate, params.features)
    times = frame_times(spectrograms.shape[2], params.data.sample_rate, params.features)
    gradcam = GradCam(model)
    row_of = pd.Series(np.arange(len(table)), index=table["utt_id"])

    # Profiles group the utterances by the model's decision and explain that decision.
    scored = read_scores("cnn", settings.split)
    threshold = _threshold("cnn", settings.split)
    decided = np.where(scored["score"] > threshold, "bonafide", "spoof")
    profiles = gradcam.class_profiles(spectrograms, row_of[scored["utt_id"]].to_numpy(), decided)
    write_csv(
        out / "gradcam_frequency.csv",
        pd.DataFrame({"hz": frequencies, **{label: p.frequency for label, p in profiles.items()}}).round(
            DECIMALS
        ),
    )
    write_csv(
        out / "gradcam_time.csv",
        pd.DataFrame({"seconds": times, **{label: p.time for label, p in profiles.items()}}).round(DECIMALS),
    )
    figures.profiles_png(
        profiles,
        frequencies,
        times,
        settings.gradcam.first_ms / 1000,
        settings.gradcam.above_hz,
        settings.split,
        out / "images" / "gradcam_profiles.png",
    )

    cases = pick_cases(scored, threshold, settings.per_case)
    for name, case in _named(cases, "gradcam"):
        row = row_of[case["utt_id"]]
        towards_bonafide = case["score"] > threshold
        cam = gradcam.maps(spectrograms, [row], towards_bonafide)[0]
        title = f"{describe(case)}\nevidence for {'bona fide' if towards_bonafide else 'spoof'}"
        figures.gradcam_png(
            np.asarray(spectrograms[row], dtype=np.float32),
            cam,
            frequencies,
            times,
            title,
            out / "images" / f"{name}.png",
        )
    write_csv(out / "cases_cnn.csv", cases.round(DECIMALS))

    uniform = uniform_profile(len(frequencies), len(times))
    return {
        "gradcam": {
            **{
                f"decided_{label}": {
                    "files": p.n_maps,
                    **mass_fractions(p, frequencies, times, settings.gradcam),
                }
                for label, p in profiles.items()
            },
            "uniform": mass_fractions(uniform, frequencies, times, settings.gradcam),
        }
    }


def _threshold(model: str, split: str) -> float:
    """The dev EER threshold that evaluate applied to ``split``."""
    return json.loads(paths.metrics_file(model).read_text())[split]["decision_threshold"]


def _named(cases: pd.DataFrame, prefix: str):
    """(file stem, case) pairs: ``<prefix>_<case>_<rank>``, rank 1 being the most extreme."""
    rank = cases.groupby("case").cumcount() + 1
    for (_, case), k in zip(cases.iterrows(), rank):
        yield f"{prefix}_{case['case']}_{k}", case


if __name__ == "__main__":
    run_stage(main)
