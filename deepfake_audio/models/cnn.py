"""Convolutional countermeasure on fixed-size log-Mel spectrograms (Keras 3 on TensorFlow)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from dvclive import Live
from dvclive.keras import DVCLiveCallback

from deepfake_audio.errors import InputError
from deepfake_audio.io import atomic_path
from deepfake_audio.params import TrainCnnParams

MODEL_FILE = "cnn.keras"


@dataclass(frozen=True)
class TrainingSummary:
    epochs_run: int
    best_epoch: int
    best_dev_loss: float


def build_cnn(n_bands: int, n_frames: int, params: TrainCnnParams) -> keras.Model:
    """Conv blocks, then average over time only, so the dense layer still sees each band.

    Noise and dropout layers are active in training only.
    """
    inputs = keras.Input(shape=(n_bands, n_frames), name="log_mel")
    x = keras.layers.Reshape((n_bands, n_frames, 1))(inputs)
    x = keras.layers.GaussianNoise(params.input_noise)(x)
    for filters in params.filters:
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.SpatialDropout2D(params.spatial_dropout)(x)
    x = keras.layers.AveragePooling2D(pool_size=(1, x.shape[2]))(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(params.dropout)(x)
    score = keras.layers.Dense(1, name="bonafide_logit")(x)
    return keras.Model(inputs, score, name="cnn")


def train_cnn(train_x: np.ndarray, train_labels, dev_x: np.ndarray, dev_labels,
              params: TrainCnnParams, seed: int, curves_dir: Path | None = None,
              ) -> tuple[keras.Model, TrainingSummary]:
    """Train with early stopping on the dev loss; the best epoch's weights are kept.

    With ``curves_dir``, DVCLive logs the per-epoch losses there (``train/loss``,
    ``eval/loss``) for the plots that dvc.yaml declares.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    train_y, dev_y = _targets(train_labels), _targets(dev_labels)
    model = build_cnn(train_x.shape[1], train_x.shape[2], params)
    model.compile(
        optimizer=keras.optimizers.Adam(params.learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    callbacks = [keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=params.patience, restore_best_weights=True)]
    if curves_dir is not None:
        # The stage declares its metrics and plots in dvc.yaml itself, so DVCLive only logs.
        callbacks.append(DVCLiveCallback(live=Live(str(curves_dir), dvcyaml=False, save_dvc_exp=False)))
    history = model.fit(
        np.asarray(train_x, dtype=np.float32), train_y,
        validation_data=(np.asarray(dev_x, dtype=np.float32), dev_y),
        epochs=params.epochs, batch_size=params.batch_size, shuffle=True,
        class_weight=_balanced_class_weight(train_y), callbacks=callbacks, verbose=2,
    )
    dev_losses = history.history["val_loss"]
    best = int(np.argmin(dev_losses))
    return model, TrainingSummary(len(dev_losses), best + 1, round(float(dev_losses[best]), 6))


def cnn_scores(model: keras.Model, log_mel: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Bona fide logits (higher = more bona fide) for a stack of spectrograms."""
    scores = [
        model(np.asarray(log_mel[start:start + batch_size], dtype=np.float32), training=False).numpy()
        for start in range(0, len(log_mel), batch_size)
    ]
    return np.concatenate(scores).ravel() if scores else np.empty(0)


def save_cnn(model: keras.Model, path: Path) -> None:
    with atomic_path(path) as tmp:
        model.save(tmp)


def load_cnn(path: Path) -> keras.Model:
    """Load a native .keras file in safe mode: serialized Python code is refused, not run."""
    if not Path(path).is_file():
        raise InputError(f"{path}: model file not found")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises several types for unsafe or corrupt files
        raise InputError(f"{path}: refused to load the CNN model: {err}") from None


def _targets(labels) -> np.ndarray:
    return (np.asarray(labels) == "bonafide").astype(np.float32)


def _balanced_class_weight(targets: np.ndarray) -> dict[int, float]:
    n_bonafide = float(targets.sum())
    n_spoof = float(targets.size - n_bonafide)
    if not n_bonafide or not n_spoof:
        raise InputError("the training split must contain both bona fide and spoofed utterances")
    return {0: targets.size / (2 * n_spoof), 1: targets.size / (2 * n_bonafide)}
