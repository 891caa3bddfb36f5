"""DVC stage `train_cnn`: train the CNN on training spectrograms, early-stopped on dev."""

from dataclasses import asdict

from deepfake_audio import paths
from deepfake_audio.errors import run_stage
from deepfake_audio.features.spectrogram import read_spectrogram_stats
from deepfake_audio.features.store import read_features, split_rows
from deepfake_audio.io import atomic_path, write_json
from deepfake_audio.metrics import dev_threshold
from deepfake_audio.models.card import make_card
from deepfake_audio.models.cnn import MODEL_FILE, cnn_scores, save_cnn, train_cnn
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    table, spectrograms = read_features(paths.FEATURES)
    train, dev = split_rows(table, "train"), split_rows(table, "dev")
    with atomic_path(paths.TRAIN_CNN_PLOTS) as curves_dir:
        model, summary = train_cnn(
            spectrograms, train, table["label"].iloc[train], dev, table["label"].iloc[dev],
            params.train_cnn, params.seed, curves_dir=curves_dir,
        )
    threshold = dev_threshold(table["label"].iloc[dev], cnn_scores(model, spectrograms, dev))
    stats = read_spectrogram_stats(paths.FEATURES) if params.features.spectrogram.normalize == "global" else None
    save_cnn(model, paths.MODELS / MODEL_FILE, make_card("cnn", params, threshold, ("train_cnn",), stats))
    write_json(paths.metrics_file("train_cnn"), {
        "arch": params.train_cnn.arch, "n_train": len(train), "n_parameters": model.count_params(),
        **asdict(summary)})


if __name__ == "__main__":
    run_stage(main)
