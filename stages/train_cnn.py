"""DVC stage `train_cnn`: train one CNN per seed, early-stopped on dev; the model averages their logits."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import run_stage
from deepfake_audio.features.augmented import extract_augmented, with_copies
from deepfake_audio.features.spectrogram import read_spectrogram_stats
from deepfake_audio.features.store import read_features, split_rows
from deepfake_audio.io import atomic_path, write_json
from deepfake_audio.metrics import rounded
from deepfake_audio.models.calibration import fit_on_dev
from deepfake_audio.models.card import make_card
from deepfake_audio.models.cnn import MODEL_FILE, cnn_scores, fit_ensemble, save_cnn
from deepfake_audio.params import load_params

CURVES_FILE = "curves.csv"


def main() -> None:
    params = load_params()
    table, spectrograms = read_features(paths.FEATURES)
    train, dev = split_rows(table, "train"), split_rows(table, "dev")
    train_labels, dev_labels = table["label"].iloc[train], table["label"].iloc[dev]
    n_train = len(train)
    stats = (
        read_spectrogram_stats(paths.FEATURES) if params.features.spectrogram.normalize == "global" else None
    )
    if params.train_cnn.augment.copies:
        augmented, augmented_spectrograms = extract_augmented(
            read_manifest(paths.MANIFEST),
            params.analysis_settings,
            params.train_cnn.augment,
            seed=params.seed,
            compute=params.compute,
            stats=stats,
        )
        spectrograms, train, dev = with_copies(spectrograms, train, dev, copies=augmented_spectrograms)
        train_labels = pd.concat([train_labels, augmented["label"]], ignore_index=True)
    model, members = fit_ensemble(
        spectrograms, train, train_labels, dev_rows=dev, dev_labels=dev_labels, params=params.train_cnn
    )
    fitted = fit_on_dev(dev_labels, cnn_scores(model, spectrograms, dev))
    card = make_card("cnn", params, fitted, sections=("train_cnn",), stats=stats)
    save_cnn(model, paths.MODELS / MODEL_FILE, card)
    with atomic_path(paths.TRAIN_CNN_PLOTS) as curves_dir:
        curves_dir.mkdir()
        pd.concat([member.curves.assign(seed=member.seed) for member in members]).to_csv(
            curves_dir / CURVES_FILE, index=False
        )
    member_eers = np.array([member.best_dev_eer for member in members])
    write_json(
        paths.metrics_file("train_cnn"),
        {
            "arch": params.train_cnn.arch,
            "n_train": n_train,
            "n_augmented": len(train) - n_train,
            "n_parameters": model.count_params(),
            "seeds": {str(member.seed): member.figures() for member in members},
            # Sample std over the seeds: the noise a one-seed CNN carries (0 with one seed).
            "member_dev_eer": {
                "mean": rounded(member_eers.mean(), 4),
                "std": rounded(member_eers.std(ddof=1) if len(members) > 1 else 0.0, 4),
            },
        },
    )


if __name__ == "__main__":
    run_stage(main)
