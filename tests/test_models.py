import keras
import numpy as np
import pandas as pd
import pytest
import skops.io

from deepfake_audio.errors import InputError
from deepfake_audio.metrics import equal_error_rate
from deepfake_audio.models.cnn import cnn_scores, load_cnn, save_cnn, train_cnn
from deepfake_audio.models.svc import load_svc, save_svc, svc_scores, train_svc
from deepfake_audio.params import TrainCnnParams, TrainSvcParams


def eer(labels, scores):
    labels = np.asarray(labels)
    return equal_error_rate(scores[labels == "bonafide"], scores[labels == "spoof"])[0]


def feature_set(n, seed):
    """Bona fide and spoof differ in a ratio of two columns; a third is noise."""
    rng = np.random.default_rng(seed)
    labels = np.array(["bonafide", "spoof"] * (n // 2))
    shift = np.where(labels == "bonafide", 1.5, -1.5)
    table = pd.DataFrame({
        "hf_energy": rng.normal(shift, 1.0), "lf_energy": rng.normal(-shift, 1.0),
        "noise": rng.normal(0.0, 1.0, n)})
    return table, pd.Series(labels)


def spectrogram_set(n, seed, bands=16, frames=24):
    """Bona fide has more energy in the top bands than spoof, under noise."""
    rng = np.random.default_rng(seed)
    labels = np.array(["bonafide", "spoof"] * (n // 2))
    x = rng.normal(0.0, 1.0, (n, bands, frames)).astype(np.float32)
    x[labels == "bonafide", bands // 2:, :] += 1.0
    return x, labels


def test_svc_learns_a_separable_set_and_survives_saving(tmp_path):
    train, train_labels = feature_set(200, seed=0)
    test, test_labels = feature_set(200, seed=1)
    model = train_svc(train, train_labels, TrainSvcParams(), seed=0)
    scores = svc_scores(model, test)
    assert eer(test_labels, scores) < 0.05

    save_svc(model, tmp_path / "svc.skops")
    reloaded = load_svc(tmp_path / "svc.skops")
    assert np.array_equal(svc_scores(reloaded, test), scores)


def test_svc_scores_need_the_training_columns():
    train, labels = feature_set(40, seed=0)
    model = train_svc(train, labels, TrainSvcParams(), seed=0)
    with pytest.raises(InputError, match=r"lacks 1 columns the SVC was trained on: \['noise'\]"):
        svc_scores(model, train.drop(columns="noise"))


class Payload:
    """A type skops does not trust."""


def test_svc_loader_refuses_untrusted_types(tmp_path):
    path = tmp_path / "svc.skops"
    skops.io.dump({"model": Payload()}, path)
    with pytest.raises(InputError, match=rf"{path}: refused to load the SVC model: .*Payload"):
        load_svc(path)


def test_missing_model_files(tmp_path):
    with pytest.raises(InputError, match="svc.skops: model file not found"):
        load_svc(tmp_path / "svc.skops")
    with pytest.raises(InputError, match="cnn.keras: model file not found"):
        load_cnn(tmp_path / "cnn.keras")


CNN_PARAMS = TrainCnnParams(filters=(4, 8), epochs=12, batch_size=16, learning_rate=0.01, patience=12)


def test_cnn_learns_a_separable_set_deterministically(tmp_path):
    train_x, train_labels = spectrogram_set(96, seed=0)
    dev_x, dev_labels = spectrogram_set(32, seed=1)
    test_x, test_labels = spectrogram_set(64, seed=2)
    model, summary = train_cnn(train_x, train_labels, dev_x, dev_labels, CNN_PARAMS, seed=3)
    scores = cnn_scores(model, test_x)
    assert scores.shape == (64,)
    assert eer(test_labels, scores) < 0.1
    assert 1 <= summary.best_epoch <= summary.epochs_run == CNN_PARAMS.epochs

    again, _ = train_cnn(train_x, train_labels, dev_x, dev_labels, CNN_PARAMS, seed=3)
    assert np.array_equal(cnn_scores(again, test_x), scores)

    save_cnn(model, tmp_path / "cnn.keras")
    assert np.allclose(cnn_scores(load_cnn(tmp_path / "cnn.keras"), test_x), scores, atol=1e-6)


def test_cnn_loader_refuses_serialized_code(tmp_path):
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    path = tmp_path / "cnn.keras"
    model.save(path)
    with pytest.raises(InputError, match=rf"{path}: refused to load the CNN model: .*unsafe"):
        load_cnn(path)


def test_cnn_needs_both_classes():
    x, _ = spectrogram_set(8, seed=0)
    with pytest.raises(InputError, match="must contain both bona fide and spoofed"):
        train_cnn(x, ["spoof"] * 8, x, ["spoof"] * 8, CNN_PARAMS, seed=0)
