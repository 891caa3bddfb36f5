"""Cross-corpus evaluation, part two (stage ``evaluate_cross``): every model scores each corpus that
``prepare.py`` prepared and applies the decision threshold and calibration of its model card, chosen
on the main corpus's dev split, never tuned on a cross corpus. Per corpus: the score files
``data/scores/cross/<name>/<model>.csv``, ``metrics/cross/<name>.json`` (per model the keys of
``metrics/<model>.json``, per-condition and per-attack EERs included) and the plot data and figures
of ``plots/evaluate`` under ``plots/cross/<name>/``; and the matrix "trained on -> evaluated on" of
every model's EER (``plots/cross/matrix.csv`` and ``images/matrix.png``).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pandas as pd

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.cross.prepare import FEATURES_DIR, MANIFEST_FILE
from deepfake_audio.errors import InputError
from deepfake_audio.evaluation import streamed_gmm_scores_of
from deepfake_audio.features.store import read_features
from deepfake_audio.io import atomic_path, read_json, write_csv, write_json
from deepfake_audio.metrics import CONDITION_COLUMNS, evaluate_scores
from deepfake_audio.models.files import read_card
from deepfake_audio.models.trained import fused_scores, load_models, model_path, model_scores
from deepfake_audio.params import Params
from deepfake_audio.plots import write_matrix_image, write_model_plots, write_summary_images
from deepfake_audio.vocabulary import FUSION, MODEL_NAMES, SCORE_COLUMNS

MATRIX_COLUMNS = ["case", "model", "trained_on", "evaluated_on", "split", "eer"]


def evaluate_cross(params: Params) -> None:
    """Stage ``evaluate_cross``: every model of ``paths.MODELS`` scores every prepared cross
    corpus; its score files, metrics, plots, and the matrix of EERs."""
    models = load_models(paths.MODELS, MODEL_NAMES)
    cards = {name: read_card(model_path(paths.MODELS, name), name) for name in MODEL_NAMES}
    matrix = [_main_eers(params)]
    with ExitStack() as stack:
        scores_dir, metrics_dir, plots_dir = (
            stack.enter_context(atomic_path(folder))
            for folder in (paths.CROSS_SCORES, paths.CROSS_METRICS, paths.CROSS_PLOTS)
        )
        for folder in (scores_dir, metrics_dir, plots_dir):
            folder.mkdir()
        for corpus in params.evaluate.cross:
            scored = cross_scores(models, paths.CROSS_DATA / corpus.name, params)
            metrics = {}
            for name in MODEL_NAMES:
                write_csv(scores_dir / corpus.name / f"{name}.csv", scored[name][list(SCORE_COLUMNS)])
                metrics[name] = evaluate_scores(
                    scored[name],
                    params.evaluate,
                    threshold=cards[name].threshold,
                    calibration=cards[name].score_calibration,
                )
                write_model_plots(
                    scored[name],
                    metrics[name],
                    name,
                    out_dir=plots_dir / corpus.name / name,
                    points=params.evaluate.plot_points,
                )
            write_json(metrics_dir / f"{corpus.name}.json", metrics)
            write_summary_images(scored, metrics, plots_dir / "images" / corpus.name)
            matrix.append(_eers(metrics, params.data.source, corpus.name))
        table = pd.concat(matrix, ignore_index=True).sort_values(
            "model", key=lambda model: model.map(MODEL_NAMES.index), kind="stable"
        )
        write_csv(plots_dir / "matrix.csv", table)
        write_matrix_image(table, plots_dir / "images" / "matrix.png")


def cross_scores(models: dict, folder: Path, params: Params) -> dict[str, pd.DataFrame]:
    """Each model's scores of the prepared corpus in ``folder``: ``utt_id, split, label, score``
    and the manifest's condition columns, rows in the manifest's order."""
    manifest = read_manifest(folder / MANIFEST_FILE)
    table, spectrograms = read_features(folder / FEATURES_DIR)
    if table["utt_id"].tolist() != manifest["utt_id"].tolist():
        raise InputError(f"{folder}: its features are not its manifest's files; rerun prepare_cross")
    scores = model_scores({name: models[name] for name in ("svc", "cnn")}, table, spectrograms)
    scores["gmm"] = streamed_gmm_scores_of(models["gmm"], manifest, params)
    scores[FUSION] = fused_scores(models[FUSION], scores)
    labelled = manifest[["utt_id", "split", "label"]]
    conditions = manifest[[column for column in CONDITION_COLUMNS if column in manifest.columns]]
    return {
        name: pd.concat([labelled.assign(score=scores[name].to_numpy()), conditions], axis=1)
        for name in MODEL_NAMES
    }


def _main_eers(params: Params) -> pd.DataFrame:
    """The matrix's first column: each model's EER on the main corpus's own eval split."""
    metrics = {name: read_json(paths.metrics_file(name)) for name in MODEL_NAMES}
    return _eers(metrics, params.data.source, params.data.source)


def _eers(metrics: dict[str, dict], trained_on: str, evaluated_on: str) -> pd.DataFrame:
    """One row per model and split scored (``MATRIX_COLUMNS``): its EER on corpus ``evaluated_on``."""
    rows = [
        (
            f"{name} on {evaluated_on} {split}",
            name,
            trained_on,
            evaluated_on,
            split,
            model_metrics[split]["eer"],
        )
        for name, model_metrics in metrics.items()
        for split in ("dev", "eval")
        if split in model_metrics and not (split == "dev" and trained_on == evaluated_on)
    ]
    return pd.DataFrame(rows, columns=MATRIX_COLUMNS)
