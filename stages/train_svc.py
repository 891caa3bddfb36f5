"""DVC stage `train_svc`: fit the support-vector countermeasure, optionally grid-searched."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import pandas as pd

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import run_stage
from deepfake_audio.features.augmented import extract_augmented
from deepfake_audio.features.store import read_feature_table, split_rows
from deepfake_audio.io import write_json
from deepfake_audio.metrics import labelled_eer_percent
from deepfake_audio.models.calibration import fit_on_dev
from deepfake_audio.models.card import make_card
from deepfake_audio.models.svc import MODEL_FILE, LabelledFeatures, fit_svc, save_svc, svc_scores
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    table = read_feature_table(paths.FEATURES)
    train_table = table.iloc[split_rows(table, "train")]
    n_original = len(train_table)
    augment = params.train_svc.augment
    if augment.copies:
        augmented, _ = extract_augmented(
            read_manifest(paths.MANIFEST),
            params.analysis_settings,
            augment,
            seed=params.seed,
            compute=params.compute,
        )
        train_table = pd.concat([train_table, augmented], ignore_index=True)
    train = LabelledFeatures.from_table(train_table)
    dev = LabelledFeatures.from_table(table.iloc[split_rows(table, "dev")])
    model, setting, search = fit_svc(
        train, dev, params.train_svc, seed=params.seed, n_jobs=params.compute.n_jobs
    )
    fitted = fit_on_dev(dev.labels, svc_scores(model, dev.features))
    save_svc(model, paths.MODELS / MODEL_FILE, make_card("svc", params, fitted, sections=("train_svc",)))

    write_json(
        paths.metrics_file("train_svc"),
        {
            "n_train": n_original,
            "n_augmented": len(train.features) - n_original,
            "n_features": len(train.features.columns),
            "n_support_vectors": int(model.named_steps["svc"].n_support_.sum()),
            "train_eer": labelled_eer_percent(train.labels, svc_scores(model, train.features)),
            "setting": setting.model_dump(),
            **(
                {"search": {"method": params.train_svc.search.method, "results": search.table}}
                if search
                else {}
            ),
        },
    )


if __name__ == "__main__":
    run_stage(main)
