"""DVC stage `evaluate`: score dev and eval with every model, fuse them, write metrics and plots."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from dataclasses import replace

import pandas as pd

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import run_stage
from deepfake_audio.features.store import read_features, split_rows
from deepfake_audio.io import write_csv, write_json
from deepfake_audio.metrics import CONDITION_COLUMNS, SCORE_DECIMALS, eer_threshold, evaluate_scores
from deepfake_audio.models import cnn, fusion, svc
from deepfake_audio.models.card import ModelCard
from deepfake_audio.models.files import read_card
from deepfake_audio.models.trained import load_models, model_scores
from deepfake_audio.params import load_params
from deepfake_audio.plots import write_model_plots, write_summary_images


def main() -> None:
    params = load_params()
    table, spectrograms = read_features(paths.FEATURES)
    rows = split_rows(table, "dev", "eval")
    scored = table.iloc[rows][["utt_id", "split", "label"]].reset_index(drop=True)
    # Scores are rounded as written, so the score files reproduce every metric.
    single = model_scores(load_models(paths.MODELS, ("svc", "cnn")), table.iloc[rows], spectrograms, rows)
    is_dev = (scored["split"] == "dev").to_numpy()
    fusion_model = fusion.train_fusion(single[is_dev], scored["label"][is_dev])
    fused = pd.Series(fusion.fusion_scores(fusion_model, single)).round(SCORE_DECIMALS)
    fusion.save_fusion(
        fusion_model,
        paths.MODELS / fusion.MODEL_FILE,
        _fusion_card(eer_threshold(scored["label"][is_dev], fused[is_dev])),
    )
    scores_by_model = {**single, "fusion": fused}

    manifest = read_manifest(paths.MANIFEST)
    conditions = manifest.set_index("utt_id")[[c for c in CONDITION_COLUMNS if c in manifest.columns]]
    scored_by_model, metrics_by_model = {}, {}
    for name, values in scores_by_model.items():
        scores = scored.assign(score=values.to_numpy())
        write_csv(paths.scores_file(name), scores)
        with_conditions = scores.join(conditions, on="utt_id")
        metrics = evaluate_scores(with_conditions, params.evaluate)
        write_json(paths.metrics_file(name), metrics)
        write_model_plots(with_conditions, metrics, name, paths.EVALUATE_PLOTS, params.evaluate.plot_points)
        scored_by_model[name], metrics_by_model[name] = with_conditions, metrics
    write_summary_images(scored_by_model, metrics_by_model, paths.EVALUATE_PLOTS)


def _fusion_card(threshold: float) -> ModelCard:
    """The SVC's card (the two models share their preprocessing), with the CNN's statistics."""
    svc_card, cnn_card = (
        read_card(paths.MODELS / module.MODEL_FILE, name) for name, module in (("svc", svc), ("cnn", cnn))
    )
    return replace(
        svc_card,
        model="fusion",
        threshold=threshold,
        spectrogram_stats=cnn_card.spectrogram_stats,
        trained_with={"svc": svc_card.trained_with, "cnn": cnn_card.trained_with},
    )


if __name__ == "__main__":
    run_stage(main)
