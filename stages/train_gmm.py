"""DVC stage `train_gmm`: fit the bona fide and spoof Gaussian mixtures on frame-level cepstra."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import numpy as np

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import run_stage
from deepfake_audio.features.frames import extract_frames, frame_names
from deepfake_audio.io import write_json
from deepfake_audio.metrics import labelled_eer_percent
from deepfake_audio.models.calibration import fit_on_dev
from deepfake_audio.models.card import make_card
from deepfake_audio.models.gmm import MODEL_FILE, fit_gmm, gmm_scores, save_gmm
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    settings, frames_params = params.analysis_settings, params.train_gmm.frames
    manifest = read_manifest(paths.MANIFEST)
    train, dev = (manifest[manifest["split"] == split] for split in ("train", "dev"))
    train_frames, dev_frames = (
        extract_frames(
            split["path"].tolist(),
            split["duration_s"],
            settings,
            frames=frames_params,
            compute=params.compute,
        )
        for split in (train, dev)
    )
    model = fit_gmm(train_frames, train["label"], params.train_gmm, seed=params.seed)
    dev_scores = gmm_scores(model, dev_frames)
    fitted = fit_on_dev(dev["label"], dev_scores)
    card = make_card("gmm", params, fitted, sections=("train_gmm",), frames=frames_params)
    save_gmm(model, paths.MODELS / MODEL_FILE, card)

    n_frames = np.array([len(utterance) for utterance in train_frames])
    write_json(
        paths.metrics_file("train_gmm"),
        {
            "n_train": len(train),
            "n_frames": {label: int(n_frames[(train["label"] == label).to_numpy()].sum()) for label in model},
            "n_dims": len(frame_names(settings, frames_params)),
            "converged": {label: bool(mixture.converged_) for label, mixture in model.items()},
            "n_iter": {label: int(mixture.n_iter_) for label, mixture in model.items()},
            "train_eer": labelled_eer_percent(train["label"], gmm_scores(model, train_frames)),
            "dev_eer": labelled_eer_percent(dev["label"], dev_scores),
        },
    )


if __name__ == "__main__":
    run_stage(main)
