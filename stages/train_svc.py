"""DVC stage `train_svc`: fit the support-vector countermeasure on the training split."""

from deepfake_audio import paths
from deepfake_audio.errors import run_stage
from deepfake_audio.features.store import feature_columns, read_feature_table, split_rows
from deepfake_audio.io import write_json
from deepfake_audio.metrics import equal_error_rate
from deepfake_audio.models.svc import MODEL_FILE, save_svc, svc_scores, train_svc
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    table = read_feature_table(paths.FEATURES)
    train = table.iloc[split_rows(table, "train")]
    model = train_svc(train[feature_columns(table)], train["label"], params.train_svc, params.seed)
    save_svc(model, paths.MODELS / MODEL_FILE)

    scores = svc_scores(model, train)
    is_spoof = (train["label"] == "spoof").to_numpy()
    train_eer, _ = equal_error_rate(scores[~is_spoof], scores[is_spoof])
    write_json(paths.metrics_file("train_svc"), {
        "n_train": len(train),
        "n_features": len(feature_columns(table)),
        "n_support_vectors": int(model.named_steps["svc"].n_support_.sum()),
        "train_eer": round(100 * train_eer, 4),
    })


if __name__ == "__main__":
    run_stage(main)
