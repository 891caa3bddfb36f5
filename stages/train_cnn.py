"""DVC stage `train_cnn`: train the CNN on training log-Mels, early-stopped on dev."""

from dataclasses import asdict

from dvclive import Live
from dvclive.keras import DVCLiveCallback

from deepfake_audio import paths
from deepfake_audio.errors import run_stage
from deepfake_audio.features.store import read_feature_table, read_log_mel
from deepfake_audio.io import atomic_path, write_json
from deepfake_audio.models.cnn import MODEL_FILE, save_cnn, train_cnn
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    table = read_feature_table(paths.FEATURES)
    log_mel = read_log_mel(paths.FEATURES)
    train, dev = (table.index[table["split"] == split].to_numpy() for split in ("train", "dev"))

    with atomic_path(paths.TRAIN_CNN_PLOTS) as curves_dir:
        # The stage declares its own metrics and plots in dvc.yaml, so DVCLive only logs.
        live = Live(str(curves_dir), dvcyaml=False, save_dvc_exp=False)
        model, summary = train_cnn(
            log_mel[train], table.loc[train, "label"], log_mel[dev], table.loc[dev, "label"],
            params.train_cnn, params.seed, callbacks=[DVCLiveCallback(live=live)],
        )
    save_cnn(model, paths.MODELS / MODEL_FILE)
    write_json(paths.metrics_file("train_cnn"), {
        "n_train": len(train), "n_parameters": model.count_params(), **asdict(summary)})


if __name__ == "__main__":
    run_stage(main)
