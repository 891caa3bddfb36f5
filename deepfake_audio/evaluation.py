"""The evaluate stages' work: score dev and eval with each single model (``evaluate_model``,
one stage per model), then fuse the single models' scores (``evaluate_fusion``), writing each
model's score file, metrics and plots.

Every model's metrics apply its decision threshold and its calibration, the ones its card
holds: the fusion's are fitted here, on the dev scores it was trained on.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import InputError
from deepfake_audio.features.frames import card_frames_as_extracted
from deepfake_audio.features.store import read_features, split_rows
from deepfake_audio.io import read_json, write_csv, write_json
from deepfake_audio.metrics import CONDITION_COLUMNS, evaluate_scores
from deepfake_audio.models import fusion
from deepfake_audio.models.calibration import DevFit, fit_on_dev
from deepfake_audio.models.card import ModelCard
from deepfake_audio.models.files import read_card
from deepfake_audio.models.gmm import streamed_gmm_scores
from deepfake_audio.models.trained import (
    decision_calibration,
    decision_threshold,
    load_models,
    model_path,
    model_scores,
    save_model,
)
from deepfake_audio.params import Params
from deepfake_audio.plots import write_model_plots, write_summary_images
from deepfake_audio.tables import read_table
from deepfake_audio.vocabulary import FUSION, SCORE_DECIMALS, SINGLE_MODELS


def evaluate_model(name: str, params: Params) -> None:
    """Stage ``evaluate@<name>``: score the dev and eval utterances of ``paths.FEATURES`` with the
    single model ``name`` of ``paths.MODELS``; write its score file, metrics and plots."""
    table, spectrograms = read_features(paths.FEATURES)
    rows = split_rows(table, "dev", "eval")
    scored = table.iloc[rows][["utt_id", "split", "label"]].reset_index(drop=True)
    models = load_models(paths.MODELS, (name,))
    # Scores are rounded as written, so the score files reproduce every metric.
    if name == "gmm":
        values = streamed_gmm_scores_of(models["gmm"], read_manifest(paths.MANIFEST).iloc[rows], params)
    else:
        values = model_scores(models, table.iloc[rows], spectrograms, rows=rows)[name].to_numpy()
    write_evaluation(name, scored.assign(score=values), params)


def streamed_gmm_scores_of(model: dict, manifest: pd.DataFrame, params: Params) -> np.ndarray:
    """The score of the GMM of ``paths.MODELS`` for every file of ``manifest``, in order, rounded
    as written, from its card's frames: each file scored as its frames come (the frames of a
    whole split would fill gigabytes)."""
    card = read_card(model_path(paths.MODELS, "gmm"), "gmm")
    frames = card_frames_as_extracted(
        manifest["path"].tolist(), manifest["duration_s"], card, compute=params.compute
    )
    return np.round(streamed_gmm_scores(model, frames, len(manifest)), SCORE_DECIMALS)


def evaluate_fusion(params: Params) -> None:
    """Stage ``evaluate_fusion``: train the fusion on the single models' dev scores (their score
    files), save it, write its score file, metrics and plots, and the images comparing all models."""
    single = [read_table(paths.scores_file(name)) for name in SINGLE_MODELS]
    scored = single[0][["utt_id", "split", "label"]]
    for name, scores in zip(SINGLE_MODELS[1:], single[1:], strict=True):
        if not scores["utt_id"].equals(scored["utt_id"]):
            raise InputError(
                f"{paths.scores_file(name)} and {paths.scores_file(SINGLE_MODELS[0])} score different "
                "utterances; rerun the evaluate stages (dvc repro evaluate)"
            )
    by_model = pd.DataFrame(
        {name: scores["score"].astype(float) for name, scores in zip(SINGLE_MODELS, single, strict=True)}
    )
    fused = fit_fusion_on_dev(
        by_model, scored["label"], (scored["split"] == "dev").to_numpy(), models_dir=paths.MODELS
    )
    scored_by_model, metrics_by_model = {}, {}
    conditions = _conditions()
    for name in SINGLE_MODELS:
        scored_by_model[name] = scored.assign(score=by_model[name].to_numpy()).join(conditions, on="utt_id")
        metrics_by_model[name] = read_json(paths.metrics_file(name))
    scored_by_model[FUSION], metrics_by_model[FUSION] = write_evaluation(
        FUSION, scored.assign(score=fused.to_numpy()), params, conditions=conditions
    )
    write_summary_images(scored_by_model, metrics_by_model, paths.EVALUATE_COMPARED)


def write_evaluation(
    name: str, scores: pd.DataFrame, params: Params, *, conditions: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict]:
    """Write model ``name``'s ``scores`` (utt_id, split, label, score), its metrics at its card's
    threshold and calibration, and its plots; returns the scores with the manifest's condition columns, and the metrics."""
    write_csv(paths.scores_file(name), scores)
    with_conditions = scores.join(_conditions() if conditions is None else conditions, on="utt_id")
    metrics = evaluate_scores(
        with_conditions,
        params.evaluate,
        threshold=decision_threshold(paths.MODELS, name),
        calibration=decision_calibration(paths.MODELS, name),
    )
    write_json(paths.metrics_file(name), metrics)
    write_model_plots(
        with_conditions,
        metrics,
        name,
        out_dir=paths.evaluate_plots_dir(name),
        points=params.evaluate.plot_points,
    )
    return with_conditions, metrics


def _conditions() -> pd.DataFrame:
    """The manifest's condition columns (those it has), indexed by utt_id."""
    manifest = read_manifest(paths.MANIFEST)
    return manifest.set_index("utt_id")[[c for c in CONDITION_COLUMNS if c in manifest.columns]]


def fit_fusion_on_dev(single: pd.DataFrame, labels: pd.Series, is_dev, *, models_dir: Path) -> pd.Series:
    """Train the fusion on the ``is_dev`` rows of ``single`` (one column of scores per single
    model, rounded as the score files) and save it with its card in ``models_dir`` (the dev EER
    threshold and the calibration of its dev scores); its scores of every row, rounded likewise."""
    model = fusion.fit_fusion(single[is_dev], labels[is_dev])
    fused = pd.Series(fusion.fusion_scores(model, single)).round(SCORE_DECIMALS)
    save_model(
        FUSION, model, models_dir, card=fusion_card(models_dir, fit_on_dev(labels[is_dev], fused[is_dev]))
    )
    return fused


def fusion_card(models_dir: Path, dev: DevFit) -> ModelCard:
    """The SVC's card (the single models share their preprocessing), with the fusion's threshold
    and calibration (``dev``), the CNN's statistics and the GMM's frames."""
    cards = {name: read_card(model_path(models_dir, name), name) for name in SINGLE_MODELS}
    return replace(
        cards["svc"],
        model=FUSION,
        threshold=dev.threshold,
        calibration=dev.calibration.as_dict(),
        spectrogram_stats=cards["cnn"].spectrogram_stats,
        frames=cards["gmm"].frames,
        trained_with={name: card.trained_with for name, card in cards.items()},
    )
