"""DVC stage `evaluate`: score dev and eval with every model; metrics and ROC plot data."""

import pandas as pd

from deepfake_audio import paths
from deepfake_audio.errors import run_stage
from deepfake_audio.features.store import read_features, split_rows
from deepfake_audio.io import write_csv, write_json
from deepfake_audio.metrics import evaluate_scores, roc_points
from deepfake_audio.models import cnn, svc


def main() -> None:
    table, spectrograms = read_features(paths.FEATURES)
    rows = split_rows(table, "dev", "eval")
    scored = table.iloc[rows][["utt_id", "split", "label"]].reset_index(drop=True)
    model_scores = {
        "svc": svc.svc_scores(svc.load_svc(paths.MODELS / svc.MODEL_FILE), table.iloc[rows]),
        "cnn": cnn.cnn_scores(cnn.load_cnn(paths.MODELS / cnn.MODEL_FILE), spectrograms, rows),
    }
    for name, values in model_scores.items():
        # Metrics are computed from the scores exactly as written, so the CSV reproduces them.
        scores = scored.assign(score=values.astype(float).round(6))
        write_csv(paths.scores_file(name), scores)
        write_json(paths.metrics_file(name), evaluate_scores(scores))
        roc_split = "eval" if (scores["split"] == "eval").any() else "dev"
        part = scores[scores["split"] == roc_split]
        write_csv(paths.roc_file(name), pd.DataFrame(roc_points(part["label"], part["score"])).round(6))


if __name__ == "__main__":
    run_stage(main)
