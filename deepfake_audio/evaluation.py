"""The evaluate stage's work: score dev and eval with every model, fuse the single models'
scores, and write the score files, the metrics and the plots.

Every model's metrics apply its decision threshold, the one its card holds: the fusion's
is chosen here, on the dev scores it was trained on.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.features.store import read_features, split_rows
from deepfake_audio.io import write_csv, write_json
from deepfake_audio.metrics import CONDITION_COLUMNS, dev_threshold, evaluate_scores
from deepfake_audio.models import fusion
from deepfake_audio.models.card import ModelCard
from deepfake_audio.models.files import read_card
from deepfake_audio.models.trained import (
    decision_threshold,
    load_models,
    model_path,
    model_scores,
    save_model,
)
from deepfake_audio.params import Params
from deepfake_audio.plots import write_model_plots, write_summary_images
from deepfake_audio.vocabulary import FUSION, SCORE_DECIMALS, SINGLE_MODELS


def evaluate_models(params: Params) -> None:
    """Score the dev and eval utterances of ``paths.FEATURES`` with the single models of
    ``paths.MODELS``, train and save the fusion, then write each model's score file, metrics
    and plots, and the summary images."""
    table, spectrograms = read_features(paths.FEATURES)
    rows = split_rows(table, "dev", "eval")
    scored = table.iloc[rows][["utt_id", "split", "label"]].reset_index(drop=True)
    # Scores are rounded as written, so the score files reproduce every metric.
    single = model_scores(load_models(paths.MODELS, SINGLE_MODELS), table.iloc[rows], spectrograms, rows=rows)
    is_dev = (scored["split"] == "dev").to_numpy()
    fused = fit_fusion_on_dev(single, scored["label"], is_dev, models_dir=paths.MODELS)
    scores_by_model = {**single, FUSION: fused}

    manifest = read_manifest(paths.MANIFEST)
    conditions = manifest.set_index("utt_id")[[c for c in CONDITION_COLUMNS if c in manifest.columns]]
    scored_by_model, metrics_by_model = {}, {}
    for name, values in scores_by_model.items():
        scores = scored.assign(score=values.to_numpy())
        write_csv(paths.scores_file(name), scores)
        with_conditions = scores.join(conditions, on="utt_id")
        metrics = evaluate_scores(
            with_conditions, params.evaluate, threshold=decision_threshold(paths.MODELS, name)
        )
        write_json(paths.metrics_file(name), metrics)
        write_model_plots(
            with_conditions, metrics, name, out_dir=paths.EVALUATE_PLOTS, points=params.evaluate.plot_points
        )
        scored_by_model[name], metrics_by_model[name] = with_conditions, metrics
    write_summary_images(scored_by_model, metrics_by_model, paths.EVALUATE_PLOTS)


def fit_fusion_on_dev(single: pd.DataFrame, labels: pd.Series, is_dev, *, models_dir: Path) -> pd.Series:
    """Train the fusion on the ``is_dev`` rows of ``single`` (one column of scores per single
    model, rounded as the score files) and save it with its card in ``models_dir``; its scores
    of every row, rounded likewise."""
    model = fusion.fit_fusion(single[is_dev], labels[is_dev])
    fused = pd.Series(fusion.fusion_scores(model, single)).round(SCORE_DECIMALS)
    save_model(
        FUSION, model, models_dir, card=fusion_card(models_dir, dev_threshold(labels[is_dev], fused[is_dev]))
    )
    return fused


def fusion_card(models_dir: Path, threshold: float) -> ModelCard:
    """The SVC's card (the two models share their preprocessing), with the CNN's statistics."""
    svc_card, cnn_card = (read_card(model_path(models_dir, name), name) for name in SINGLE_MODELS)
    return replace(
        svc_card,
        model=FUSION,
        threshold=threshold,
        spectrogram_stats=cnn_card.spectrogram_stats,
        trained_with={"svc": svc_card.trained_with, "cnn": cnn_card.trained_with},
    )
