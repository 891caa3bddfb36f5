"""DVC stage `train_svc`: fit the support-vector countermeasure, optionally grid-searched."""

from deepfake_audio import paths
from deepfake_audio.errors import run_stage
from deepfake_audio.features.store import feature_columns, read_feature_table, split_rows
from deepfake_audio.io import write_json
import numpy as np

from deepfake_audio.metrics import SCORE_DECIMALS, eer_threshold, equal_error_rate
from deepfake_audio.models.card import make_card
from deepfake_audio.models.svc import LabelledFeatures, MODEL_FILE, save_svc, search_svc, svc_scores, train_svc
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    table = read_feature_table(paths.FEATURES)
    train, dev = (_labelled(table.iloc[split_rows(table, split)]) for split in ("train", "dev"))
    setting, search = params.train_svc.setting(), None
    if params.train_svc.search.method != "none":
        search = search_svc(train, dev, params.train_svc, params.seed, n_jobs=params.compute.n_jobs)
        setting = search.setting
    model = train_svc(train, setting, params.seed)
    threshold = eer_threshold(dev.labels, np.round(svc_scores(model, dev.features), SCORE_DECIMALS))
    save_svc(model, paths.MODELS / MODEL_FILE, make_card("svc", params, threshold, ("train_svc",)))

    scores = svc_scores(model, train.features)
    is_spoof = (train.labels == "spoof").to_numpy()
    train_eer, _ = equal_error_rate(scores[~is_spoof], scores[is_spoof])
    write_json(paths.metrics_file("train_svc"), {
        "n_train": len(train.features),
        "n_features": len(train.features.columns),
        "n_support_vectors": int(model.named_steps["svc"].n_support_.sum()),
        "train_eer": round(100 * train_eer, 4),
        "setting": setting.model_dump(),
        **({"search": {"method": params.train_svc.search.method, "results": search.table}} if search else {}),
    })


def _labelled(rows) -> LabelledFeatures:
    return LabelledFeatures(rows[feature_columns(rows)], rows["label"], rows["speaker"])


if __name__ == "__main__":
    run_stage(main)
