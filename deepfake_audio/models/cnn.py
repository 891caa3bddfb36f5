"""Convolutional countermeasures on log spectrograms of any length (Keras 3 on TensorFlow).

Two architectures: ``simple`` (a few conv blocks) and ``lcnn``, the Light CNN with
Max-Feature-Map activations that won ASVspoof 2017 (Lavrentyeva et al., Interspeech 2017;
the layer table of their ASVspoof 2019 system). Both are built from Keras' own layers
only, so a saved model loads in safe mode without any code of ours.

The networks are convolutional over time and average their last maps over however many
frames there are, so an utterance is scored on its own frames (``pad: none``), never on
padding; training reads crops of a fixed length (``train_cnn.crop_frames``).
"""

from __future__ import annotations

import resource
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import cast

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn.utils.class_weight import compute_sample_weight

from deepfake_audio.errors import InputError
from deepfake_audio.features.spectrogram import real_frames
from deepfake_audio.io import atomic_path
from deepfake_audio.metrics import equal_error_rate
from deepfake_audio.models.card import ModelCard, attach_card
from deepfake_audio.params import SpecAugmentParams, TrainCnnParams
from deepfake_audio.vocabulary import BONAFIDE

MODEL_FILE = "cnn.keras"
INPUT_NAME = "spectrogram"
# Light CNN (Lavrentyeva et al., 2019, table 1), one row per convolution: kernel, channels
# before MFM, max-pool after, batch norm after. A kernel of 1 is the "network in network"
# convolution between the larger ones.
LCNN_LAYERS = (
    (5, 64, True, False),
    (1, 64, False, True),
    (3, 96, True, True),
    (1, 96, False, True),
    (3, 128, True, False),
    (1, 128, False, True),
    (3, 64, False, True),
    (1, 64, False, True),
    (3, 64, True, False),
)
LCNN_DENSE = 160  # units before MFM


CURVE_COLUMNS = ("train_loss", "dev_loss", "dev_eer")


@dataclass(frozen=True)
class TrainingSummary:
    """One trained network: its seed, where early stopping stopped, and its per-epoch curves."""

    seed: int
    epochs_run: int
    best_epoch: int  # counted from 1
    best_dev_loss: float
    best_dev_eer: float
    curves: pd.DataFrame = field(repr=False, compare=False)  # epoch (from 1) and CURVE_COLUMNS
    # Measured, so they differ from run to run, unlike everything else here.
    timing: dict = field(default_factory=dict, repr=False, compare=False)

    def figures(self) -> dict:
        """The summary without the curves, for metrics/train_cnn.json."""
        return {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "best_dev_loss": self.best_dev_loss,
            "best_dev_eer": self.best_dev_eer,
            "timing": self.timing,
        }


def build_cnn(n_bins: int, params: TrainCnnParams, *, name: str | None = None) -> keras.Model:
    """The architecture ``params.arch`` on (n_bins, any frames) inputs, ending in one bona fide logit.

    Noise and dropout layers are active in training only.
    """
    inputs = keras.Input(shape=(n_bins, None), name=INPUT_NAME)
    x = keras.layers.Reshape((n_bins, -1, 1))(inputs)
    x = keras.layers.GaussianNoise(params.input_noise)(x)
    x = _lcnn_body(x, params) if params.arch == "lcnn" else _simple_body(x, params)
    x = keras.layers.Dropout(params.dropout)(x)
    score = keras.layers.Dense(1, name="bonafide_logit")(x)
    return keras.Model(inputs, score, name=name or params.arch)


def _simple_body(x, params: TrainCnnParams):
    for filters in params.filters:
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.SpatialDropout2D(params.spatial_dropout)(x)
    return _mean_over_time(x)


def _lcnn_body(x, params: TrainCnnParams):
    for kernel, channels, pool, norm in LCNN_LAYERS:
        half = max(1, round(channels * params.lcnn_width / 2))
        x = _max_feature_map(partial(keras.layers.Conv2D, half, kernel, padding="same"), x)
        if pool:
            x = keras.layers.MaxPooling2D(2)(x)
        if norm:
            x = keras.layers.BatchNormalization()(x)
    # The published net flattens a fixed-size map; the mean over time takes any length and
    # keeps the dense layer small and each frequency band visible.
    x = _mean_over_time(x)
    x = _max_feature_map(lambda: keras.layers.Dense(max(1, round(LCNN_DENSE * params.lcnn_width / 2))), x)
    return keras.layers.BatchNormalization()(x)


def _mean_over_time(x):
    """(batch, bins, frames, channels) maps to (batch, bins * channels): each band's mean over the frames."""
    _, bins, _, channels = x.shape
    x = keras.layers.Permute((2, 1, 3))(x)
    x = keras.layers.Reshape((-1, bins * channels))(x)
    return keras.layers.GlobalAveragePooling1D()(x)


def shortest_input(model: keras.Model) -> int:
    """Frames the network needs at least: two to the power of its max-pools over time."""
    member = ensemble_members(model)[0]
    return 2 ** sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in member.layers)


def usable_frames(frames: int, model_step: int) -> int:
    """The frames of an input of ``frames`` frames that the network reads in one pass.

    The max-pools drop the frames beyond a multiple of ``model_step`` (``shortest_input``),
    so cutting them costs nothing and leaves few distinct lengths to batch. A shorter
    input is repeated to ``model_step`` frames.
    """
    return max(model_step, frames - frames % model_step)


def fit_length(spectrogram: np.ndarray, frames: int) -> np.ndarray:
    """The first ``frames`` columns of a (bins, frames) input, repeated first if it has fewer."""
    if spectrogram.shape[1] < frames:
        spectrogram = np.tile(spectrogram, (1, -(-frames // spectrogram.shape[1])))
    return spectrogram[:, :frames]


def _max_feature_map(make_layer, x):
    """Max-Feature-Map: the element-wise maximum of two halves of a layer's outputs.

    Two layers of half the width, then their maximum, compute exactly that with stock layers.
    """
    return keras.layers.Maximum()([make_layer()(x), make_layer()(x)])


class SpectrogramBatches(keras.utils.PyDataset):
    """Training batches read from the memory-mapped spectrograms: crops and SpecAugment masks.

    Each example is ``crop_frames`` frames (default: the stored width) of its utterance's
    own frames, from a random start; an utterance with fewer is repeated to fill them.
    Order, crops and masks depend only on (seed, epoch, batch), so a rerun sees the same
    batches. Each batch carries class-balancing sample weights.
    """

    def __init__(
        self,
        spectrograms: np.ndarray,
        rows: np.ndarray,
        targets: np.ndarray,
        *,
        batch_size: int,
        augment: SpecAugmentParams,
        seed: int,
        crop_frames: int | None = None,
    ):
        super().__init__()
        self.spectrograms, self.rows, self.targets = spectrograms, np.asarray(rows), targets
        self.batch_size, self.augment, self.seed = batch_size, augment, seed
        self.crop_frames = crop_frames or spectrograms.shape[2]
        self.frames = _real_frames_of(spectrograms, self.rows)
        self.weights = _balanced_sample_weights(targets)
        self.epoch = 0
        self.order = self._shuffled()

    def __len__(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    def __getitem__(self, index: int):
        picked = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        stored = np.asarray(self.spectrograms[self.rows[picked]], dtype=np.float32)
        x = np.stack(
            [
                _crop(example, frames, self.crop_frames, rng=rng)
                for example, frames in zip(stored, self.frames[picked], strict=True)
            ]
        )
        spec_augment(x, self.augment, rng)
        y = self.targets[picked]
        return x, y, self.weights[picked]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._shuffled()

    def _shuffled(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.rows))


def _crop(example: np.ndarray, frames: int, size: int, *, rng: np.random.Generator) -> np.ndarray:
    """``size`` frames of ``example``'s first ``frames``, from a random start if it has more."""
    start = int(rng.integers(0, frames - size + 1)) if frames > size else 0
    return fit_length(example[:, start:frames], size)


def _real_frames_of(spectrograms: np.ndarray, rows: np.ndarray, *, block: int = 256) -> np.ndarray:
    """``real_frames`` of ``spectrograms[rows]``, read from the memory map a block at a time."""
    found = [real_frames(spectrograms[rows[start : start + block]]) for start in range(0, len(rows), block)]
    return np.concatenate(found) if found else np.zeros(0, dtype=int)


def spec_augment(batch: np.ndarray, params: SpecAugmentParams, rng: np.random.Generator) -> None:
    """Mask random frequency bands and time spans of each (bins, frames) example, in place.

    Masked cells take the example's mean, so a mask carries no level of its own. With
    ``top_band``, some examples also lose their top rows, as a narrowband source's do.
    """
    for example in batch:
        fill = example.mean()
        for axis, masks, max_width in (
            (0, params.freq_masks, params.max_freq_width),
            (1, params.time_masks, params.max_time_width),
        ):
            size = example.shape[axis]
            for _ in range(masks):
                width = int(rng.integers(0, min(max_width, size) + 1))
                start = int(rng.integers(0, size - width + 1))
                if axis == 0:
                    example[start : start + width, :] = fill
                else:
                    example[:, start : start + width] = fill
        if params.top_band > 0 and rng.random() < params.top_band:
            example[-int(rng.integers(1, min(params.max_top_width, len(example)) + 1)) :, :] = fill


class DevScores(keras.callbacks.Callback):
    """Scores the dev split after each epoch and logs ``val_loss`` and ``val_eer`` (%).

    Reading dev batch by batch from the memory map keeps memory flat for large dev sets.
    """

    def __init__(self, spectrograms: np.ndarray, rows, targets: np.ndarray):
        super().__init__()
        self.spectrograms, self.rows, self.targets = spectrograms, np.asarray(rows), targets
        self.weights = _balanced_sample_weights(targets)

    def on_epoch_end(self, epoch, logs=None):
        logits = cnn_scores(self.model, self.spectrograms, self.rows)
        is_bonafide = self.targets == 1
        eer, _ = equal_error_rate(logits[is_bonafide], logits[~is_bonafide])
        # Class-balanced like the training loss, so the two curves compare like with like.
        logs["val_loss"] = float(
            keras.losses.BinaryCrossentropy(from_logits=True)(
                self.targets, logits, sample_weight=self.weights
            )
        )
        logs["val_eer"] = 100.0 * eer


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds, CPU seconds (user and system) and minor page faults of this process per epoch.

    The first epoch also traces the graph, so ``summary`` reports it apart from the others.
    """

    def __init__(self):
        super().__init__()
        self.epochs: list[tuple[float, float, float, int]] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = (time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF))

    def on_epoch_end(self, epoch, logs=None):
        wall, usage = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        started, before = self._start
        self.epochs.append(
            (
                wall - started,
                usage.ru_utime - before.ru_utime,
                usage.ru_stime - before.ru_stime,
                usage.ru_minflt - before.ru_minflt,
            )
        )

    def summary(self) -> dict:
        """Seconds of the first epoch; over the later ones (all, with one epoch) the median seconds
        and minor page faults per epoch and the share of CPU time spent in the kernel (%)."""
        wall, user, system, faults = (np.array(column) for column in zip(*self.epochs, strict=True))
        later = slice(1, None) if len(wall) > 1 else slice(None)
        cpu = user[later].sum() + system[later].sum()
        return {
            "first_epoch_s": round(float(wall[0]), 1),
            "seconds_per_epoch": round(float(np.median(wall[later])), 2),
            "system_cpu_percent": round(float(100 * system[later].sum() / cpu), 1) if cpu > 0 else 0.0,
            "minor_faults_per_epoch": int(np.median(faults[later])),
        }


def fit_ensemble(
    spectrograms: np.ndarray, train_rows, train_labels, *, dev_rows, dev_labels, params: TrainCnnParams
) -> tuple[keras.Model, list[TrainingSummary]]:
    """One network per seed in ``params.seeds``, combined by :func:`ensemble`."""
    members = [
        fit_cnn(
            spectrograms,
            train_rows,
            train_labels,
            dev_rows=dev_rows,
            dev_labels=dev_labels,
            params=params,
            seed=seed,
        )
        for seed in params.seeds
    ]
    return ensemble([model for model, _ in members]), [summary for _, summary in members]


def ensemble(members: list[keras.Model]) -> keras.Model:
    """The average of the members' bona fide logits, as one model (a single member is itself).

    Built from stock layers, so it saves and loads in safe mode like any one network.
    """
    if len(members) == 1:
        return members[0]
    inputs = keras.Input(shape=members[0].inputs[0].shape[1:], name=INPUT_NAME)
    logit = keras.layers.Average(name="bonafide_logit")([member(inputs) for member in members])
    return keras.Model(inputs, logit, name="ensemble")


def ensemble_members(model: keras.Model) -> list[keras.Model]:
    """The networks whose logits ``model`` averages (``[model]`` for a single network)."""
    return [layer for layer in model.layers if isinstance(layer, keras.Model)] or [model]


def fit_cnn(
    spectrograms: np.ndarray,
    train_rows,
    train_labels,
    *,
    dev_rows,
    dev_labels,
    params: TrainCnnParams,
    seed: int,
) -> tuple[keras.Model, TrainingSummary]:
    """Train one network from ``seed`` on ``spectrograms[train_rows]``, early-stopped on the dev split.

    ``spectrograms`` may be a memory map: batches are read from it as training goes.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    train_y, dev_y = _targets(train_labels), _targets(dev_labels)
    batches = SpectrogramBatches(
        spectrograms,
        train_rows,
        train_y,
        batch_size=params.batch_size,
        augment=params.spec_augment,
        seed=seed,
        crop_frames=params.crop_frames,
    )
    model = build_cnn(spectrograms.shape[1], params, name=f"{params.arch}_seed_{seed}")
    model.compile(optimizer=_optimizer(params), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    monitor = "val_eer" if params.monitor == "dev_eer" else "val_loss"
    timer = EpochTimer()
    callbacks = [
        DevScores(spectrograms, dev_rows, dev_y),  # first, so the others see its figures
        keras.callbacks.EarlyStopping(
            monitor=monitor, mode="min", patience=params.patience, restore_best_weights=True
        ),
        timer,  # last, so an epoch's time includes scoring dev
    ]
    # The batches shuffle themselves, from the seed; Keras must not reorder them again.
    print(f"training {model.name}")
    log = model.fit(batches, epochs=params.epochs, callbacks=callbacks, shuffle=False, verbose=2).history
    best = int(np.argmin(log[monitor]))
    curves = pd.DataFrame(
        {
            "epoch": np.arange(1, len(log["loss"]) + 1),
            **{
                column: np.round(log[key], 6)
                for column, key in zip(CURVE_COLUMNS, ("loss", "val_loss", "val_eer"), strict=True)
            },
        }
    )
    return model, TrainingSummary(
        seed,
        len(log["val_loss"]),
        best + 1,
        round(float(log["val_loss"][best]), 6),
        round(float(log["val_eer"][best]), 4),
        curves,
        timer.summary(),
    )


def cnn_scores(
    model: keras.Model, spectrograms: np.ndarray, rows=None, *, batch_size: int = 128
) -> np.ndarray:
    """Bona fide logits (higher = more bona fide) for ``spectrograms[rows]`` (default: all).

    Each input is read to its end (``real_frames``), the frames the network uses
    (``usable_frames``); inputs of the same length go through the network together.
    """
    rows = np.arange(len(spectrograms)) if rows is None else np.asarray(rows)
    scores = np.empty(len(rows))
    forward = inference(model)
    for start in range(0, len(rows), batch_size):
        block = np.asarray(spectrograms[rows[start : start + batch_size]], dtype=np.float32)
        for at, inputs in same_length_groups(model, block):
            scores[start + at] = forward(inputs).numpy().ravel()
    return scores


_INFERENCE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def inference(model: keras.Model) -> Callable[[np.ndarray], tf.Tensor]:
    """``model`` in inference mode as one graph for inputs of any batch size and length.

    Called eagerly, a Keras model runs op by op: scoring dev took 5.1 s instead of 0.9 s,
    the same logits bit for bit. The graph is traced once per model and reads the current
    weights, so it also serves a model in training.
    """
    if model not in _INFERENCE:
        held = weakref.ref(model)  # the cache must not keep the model alive

        def forward(x):
            return cast(keras.Model, held())(x, training=False)

        spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32)
        _INFERENCE[model] = tf.function(forward, input_signature=[spec])
    return _INFERENCE[model]


def same_length_groups(model: keras.Model, spectrograms: np.ndarray):
    """``(positions, inputs)`` for each length the network reads of the (n, bins, frames) ``spectrograms``.

    ``inputs`` is float32 (len(positions), bins, length): those inputs cut (or repeated)
    to that length.
    """
    step, frames = shortest_input(model), real_frames(spectrograms)
    lengths = np.array([usable_frames(int(count), step) for count in frames])
    for length in np.unique(lengths):
        at = np.flatnonzero(lengths == length)
        inputs = np.stack([fit_length(spectrograms[i, :, : frames[i]], int(length)) for i in at])
        yield at, inputs.astype(np.float32, copy=False)


def save_cnn(model: keras.Model, path: Path, card: ModelCard) -> None:
    with atomic_path(path) as tmp:
        model.save(tmp)
        attach_card(tmp, card)


def load_cnn(path: Path) -> keras.Model:
    """Load a native .keras file in safe mode: serialized Python code is refused, not run."""
    if not Path(path).is_file():
        raise InputError(f"{path}: model file not found")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises several types for unsafe or corrupt files
        raise InputError(f"{path}: refused to load the CNN model: {err}") from None


def _optimizer(params: TrainCnnParams) -> keras.optimizers.Optimizer:
    if params.optimizer == "sgd":
        return keras.optimizers.SGD(params.learning_rate, momentum=0.9)
    if params.optimizer == "adamw":
        return keras.optimizers.AdamW(params.learning_rate)
    return keras.optimizers.Adam(params.learning_rate)


def _targets(labels) -> np.ndarray:
    return (np.asarray(labels) == BONAFIDE).astype(np.float32)


def _balanced_sample_weights(targets: np.ndarray) -> np.ndarray:
    """(n,) float32 weights that give both classes the same total weight (mean weight 1)."""
    if np.unique(targets).size < 2:
        raise InputError(
            "the training and dev splits must each contain both bona fide and spoofed utterances"
        )
    return compute_sample_weight("balanced", targets).astype(np.float32)
