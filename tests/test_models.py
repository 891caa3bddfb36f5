import gc
import weakref

import keras
import numpy as np
import pandas as pd
import pytest
import skops.io
from helpers import model_card

from deepfake_audio.errors import InputError
from deepfake_audio.metrics import equal_error_rate
from deepfake_audio.models.cnn import (
    SpectrogramBatches,
    build_cnn,
    cnn_scores,
    ensemble,
    ensemble_members,
    fit_cnn,
    inference,
    load_cnn,
    save_cnn,
    shortest_input,
    spec_augment,
)
from deepfake_audio.models.svc import (
    KernelExpansion,
    LabelledFeatures,
    expanded,
    fit_svc_setting,
    load_svc,
    save_svc,
    search_svc,
    svc_scores,
)
from deepfake_audio.params import SpecAugmentParams, SvcSettings, TrainCnnParams, TrainSvcParams


def eer(labels, scores):
    labels = np.asarray(labels)
    return equal_error_rate(scores[labels == "bonafide"], scores[labels == "spoof"])[0]


def feature_set(n, seed, speakers=4):
    """Bona fide and spoof differ in two columns; a third is noise."""
    rng = np.random.default_rng(seed)
    labels = np.array(["bonafide", "spoof"] * (n // 2))
    shift = np.where(labels == "bonafide", 1.5, -1.5)
    table = pd.DataFrame(
        {
            "hf_energy": rng.normal(shift, 1.0),
            "lf_energy": rng.normal(-shift, 1.0),
            "noise": rng.normal(0.0, 1.0, n),
        }
    )
    return LabelledFeatures(table, pd.Series(labels), pd.Series([f"M{i // 2 % speakers}" for i in range(n)]))


def ring_set(n, seed):
    """Bona fide inside a ring, spoof outside: no linear boundary separates them."""
    rng = np.random.default_rng(seed)
    labels = np.array(["bonafide", "spoof"] * (n // 2))
    radius = np.where(labels == "bonafide", 1.0, 3.0) + rng.normal(0.0, 0.3, n)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    table = pd.DataFrame({"x": radius * np.cos(angle), "y": radius * np.sin(angle)})
    return LabelledFeatures(table, pd.Series(labels), pd.Series([f"M{i // 2 % 4}" for i in range(n)]))


def spectrogram_set(n, seed, bands=16, frames=24):
    """Bona fide has more energy in the top bands than spoof, under noise."""
    rng = np.random.default_rng(seed)
    labels = np.array(["bonafide", "spoof"] * (n // 2))
    x = rng.normal(0.0, 1.0, (n, bands, frames)).astype(np.float32)
    x[labels == "bonafide", bands // 2 :, :] += 1.0
    return x, labels


@pytest.mark.parametrize("setting", [SvcSettings(), SvcSettings(pca_components=2, kernel="linear")])
def test_svc_learns_a_separable_set_and_survives_saving(tmp_path, setting):
    train, test = feature_set(200, seed=0), feature_set(200, seed=1)
    model = fit_svc_setting(train, setting, seed=0)
    scores = svc_scores(model, test.features)
    assert eer(test.labels, scores) < 0.05

    save_svc(model, tmp_path / "svc.skops", model_card("svc"))
    reloaded = load_svc(tmp_path / "svc.skops")
    assert np.array_equal(svc_scores(reloaded, test.features), scores)
    assert np.array_equal(svc_scores(fit_svc_setting(train, setting, seed=0), test.features), scores)


def test_svc_scores_need_the_training_columns():
    train = feature_set(40, seed=0)
    model = fit_svc_setting(train, SvcSettings(), seed=0)
    with pytest.raises(InputError, match=r"lacks 1 columns the SVC was trained on: \['noise'\]"):
        svc_scores(model, train.features.drop(columns="noise"))


@pytest.mark.parametrize(
    "setting",
    [
        SvcSettings(),  # rbf, gamma "scale": the value it resolved to at fitting
        SvcSettings(gamma=0.3, C=10.0),
        SvcSettings(kernel="linear", pca_components=2),
        SvcSettings(kernel="poly"),
        SvcSettings(kernel="sigmoid"),
    ],
)
def test_the_kernel_expansion_scores_as_the_svc(setting):
    train, test = ring_set(200, seed=0), ring_set(100, seed=1)
    model = fit_svc_setting(train, setting, seed=0)
    fast = expanded(model)
    assert isinstance(fast[-1], KernelExpansion) and list(fast.feature_names_in_) == ["x", "y"]
    np.testing.assert_allclose(
        svc_scores(fast, test.features), svc_scores(model, test.features), rtol=0, atol=1e-9
    )
    with pytest.raises(TypeError, match="scores with an SVC fitted before"):
        fast.fit(train.features, train.targets)


@pytest.mark.parametrize("method", ["dev", "cv"])
def test_grid_search_picks_the_kernel_that_fits(method):
    # A ring needs the RBF kernel; a linear SVC is at chance. Linear is listed first, so
    # a search that ignored the scores would keep it.
    params = TrainSvcParams(search={"method": method, "cv_folds": 4, "grid": {"kernel": ("linear", "rbf")}})
    result = search_svc(ring_set(160, seed=0), ring_set(80, seed=1), params, seed=0)
    assert result.setting.kernel == "rbf"
    assert [row["kernel"] for row in result.table] == ["rbf", "linear"]
    best, worst = result.table
    assert best["eer"] < 5.0 < 30.0 < worst["eer"]
    assert set(best) == ({"kernel", "eer", "eer_std"} if method == "cv" else {"kernel", "eer"})


def test_grid_search_by_cv_keeps_speakers_apart():
    params = TrainSvcParams(search={"method": "cv", "cv_folds": 5, "grid": {"C": (1.0,)}})
    with pytest.raises(InputError, match=r"cv_folds \(5\) exceeds the 4 speakers of the training split"):
        search_svc(feature_set(40, seed=0), None, params, seed=0)


def test_grid_search_by_cv_needs_speaker_ids():
    data = feature_set(40, seed=0)
    params = TrainSvcParams(search={"method": "cv", "cv_folds": 2, "grid": {"C": (1.0,)}})
    with pytest.raises(InputError, match="the training utterances have no speaker ids; use method dev"):
        search_svc(LabelledFeatures(data.features, data.labels, pd.Series(["-"] * 40)), None, params, seed=0)


def test_grid_search_refuses_folds_with_one_class():
    data = feature_set(40, seed=0)
    # All bona fide files from one speaker, the spoofs from two others: some fold has one class.
    speakers = pd.Series(["A", "B", "A", "C"] * 10)
    params = TrainSvcParams(search={"method": "cv", "cv_folds": 2, "grid": {"C": (1.0,)}})
    with pytest.raises(InputError, match=r"fold \d holds one class only"):
        search_svc(LabelledFeatures(data.features, data.labels, speakers), None, params, seed=0)


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


NO_MASKS = SpecAugmentParams(freq_masks=0, time_masks=0, top_band=0.0)
CNN_PARAMS = {
    "simple": TrainCnnParams(
        arch="simple",
        filters=(4, 8),
        epochs=12,
        batch_size=16,
        learning_rate=0.01,
        patience=12,
        spec_augment=NO_MASKS,
        crop_frames=None,
    ),
    "lcnn": TrainCnnParams(
        arch="lcnn",
        lcnn_width=0.25,
        epochs=12,
        batch_size=16,
        learning_rate=0.01,
        patience=12,
        spec_augment=NO_MASKS,
        crop_frames=None,
    ),
}


def stacked(*sets):
    """One spectrogram array (like the feature folder's) and the rows of each set in it."""
    x = np.concatenate([x for x, _ in sets])
    bounds = np.cumsum([0] + [len(x) for x, _ in sets])
    return x, [np.arange(start, end) for start, end in zip(bounds[:-1], bounds[1:], strict=True)]


@pytest.mark.parametrize("arch", ["simple", "lcnn"])
def test_cnn_learns_a_separable_set_deterministically(tmp_path, arch):
    train, dev, test = spectrogram_set(96, seed=0), spectrogram_set(32, seed=1), spectrogram_set(64, seed=2)
    x, (train_rows, dev_rows, test_rows) = stacked(train, dev, test)
    params = CNN_PARAMS[arch]
    model, summary = fit_cnn(
        x, train_rows, train[1], dev_rows=dev_rows, dev_labels=dev[1], params=params, seed=3
    )
    scores = cnn_scores(model, x, test_rows)
    assert scores.shape == (64,)
    assert eer(test[1], scores) < 0.1
    assert 1 <= summary.best_epoch <= summary.epochs_run == params.epochs
    assert summary.best_dev_eer < 10.0
    assert summary.seed == 3 and summary.curves["epoch"].tolist() == list(range(1, params.epochs + 1))
    assert summary.curves["dev_eer"].min() == summary.best_dev_eer

    again, _ = fit_cnn(x, train_rows, train[1], dev_rows=dev_rows, dev_labels=dev[1], params=params, seed=3)
    assert np.array_equal(cnn_scores(again, x, test_rows), scores)

    save_cnn(model, tmp_path / "cnn.keras", model_card("cnn"))
    assert np.allclose(cnn_scores(load_cnn(tmp_path / "cnn.keras"), x, test_rows), scores, atol=1e-6)


def test_a_seed_ensemble_scores_the_mean_of_its_members_logits_and_saves_as_one_model(tmp_path):
    params = CNN_PARAMS["lcnn"]
    members = [build_cnn(16, params, name=f"lcnn_seed_{seed}") for seed in (1, 2, 3)]
    x = spectrogram_set(12, seed=0, bands=16, frames=20)[0]
    model = ensemble(members)
    assert ensemble_members(model) == members and ensemble([members[0]]) is members[0]
    expected = np.mean([cnn_scores(member, x) for member in members], axis=0)
    np.testing.assert_allclose(cnn_scores(model, x), expected, rtol=1e-6, atol=1e-6)

    save_cnn(model, tmp_path / "cnn.keras", model_card("cnn"))
    loaded = load_cnn(tmp_path / "cnn.keras")
    assert len(ensemble_members(loaded)) == 3
    assert np.array_equal(cnn_scores(loaded, x), cnn_scores(model, x))


def test_saving_the_same_models_twice_gives_identical_bytes(tmp_path):
    params = CNN_PARAMS["lcnn"]
    model = ensemble([build_cnn(16, params, name=f"lcnn_seed_{seed}") for seed in (1, 2)])
    save_cnn(model, tmp_path / "a.keras", model_card("cnn"))
    save_cnn(model, tmp_path / "b.keras", model_card("cnn"))
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()


def test_lcnn_uses_max_feature_map_and_scales_with_width():
    narrow = build_cnn(32, TrainCnnParams(arch="lcnn", lcnn_width=0.25))
    wide = build_cnn(32, TrainCnnParams(arch="lcnn", lcnn_width=0.5))
    kinds = [type(layer).__name__ for layer in narrow.layers]
    assert kinds.count("Maximum") == 10  # nine conv layers and the dense layer
    assert kinds.count("BatchNormalization") == 6 + 1  # as in the published table, plus after the dense MFM
    assert kinds.count("MaxPooling2D") == 4
    assert wide.count_params() > 2 * narrow.count_params()
    assert narrow.output_shape == (None, 1)


def test_training_batches_reshuffle_each_epoch_and_balance_the_classes():
    x = np.arange(10, dtype=np.float16)[:, None, None] * np.ones((10, 2, 3), dtype=np.float16)
    targets = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=np.float32)
    rows = np.arange(2, 10)  # rows 0 and 1 belong to another split
    batches = SpectrogramBatches(x, rows, targets[rows], batch_size=3, augment=NO_MASKS, seed=0)
    assert len(batches) == 3

    def epoch():
        parts = [batches[i] for i in range(len(batches))]
        return [int(v) for x_, _, _ in parts for v in x_[:, 0, 0]], parts

    first, parts = epoch()
    assert sorted(first) == list(range(2, 10))
    for x_, y, w in parts:  # labels and weights travel with their rows
        assert np.array_equal(y, targets[x_[:, 0, 0].astype(int)])
        assert np.allclose(w, np.where(y == 1, 8 / 2, 8 / 14))
    batches.on_epoch_end()
    second, _ = epoch()
    assert sorted(second) == sorted(first) and second != first
    again = SpectrogramBatches(x, rows, targets[rows], batch_size=3, augment=NO_MASKS, seed=0)
    assert [int(v) for i in range(3) for v in again[i][0][:, 0, 0]] == first


def test_training_crops_lie_within_each_utterances_own_frames():
    # Column j of an utterance holds j + 1, so a crop shows where it was cut from.
    lengths = np.array([30, 12, 20, 5])
    x = np.zeros((4, 2, 30), dtype=np.float16)
    for row, frames in enumerate(lengths):
        x[row, :, :frames] = np.arange(1, frames + 1)
    targets = np.array([1, 0, 1, 0], dtype=np.float32)

    def crops(seed):
        batches = SpectrogramBatches(
            x, np.arange(4), targets, batch_size=4, augment=NO_MASKS, seed=seed, crop_frames=8
        )
        order = batches.order[:4]
        inputs = batches[0][0]
        assert inputs.shape == (4, 2, 8)
        return {int(row): example[0].astype(int).tolist() for row, example in zip(order, inputs, strict=True)}

    first = crops(seed=0)
    for row, frames in enumerate(lengths[:3]):
        start = first[row][0]
        assert first[row] == list(range(start, start + 8)) and 1 <= start <= frames - 7
    assert first[3] == [1, 2, 3, 4, 5, 1, 2, 3]  # shorter than the crop: repeated
    assert crops(seed=0) == first
    starts = {crops(seed)[0][0] for seed in range(8)}
    assert len(starts) > 3  # the 30-frame utterance is cut at many places


def test_without_a_crop_the_batches_are_the_stored_inputs():
    x = np.random.default_rng(0).normal(size=(6, 3, 10)).astype(np.float16)
    batches = SpectrogramBatches(
        x, np.arange(6), np.array([1, 0] * 3, np.float32), batch_size=6, augment=NO_MASKS, seed=0
    )
    assert np.array_equal(batches[0][0], x[batches.order].astype(np.float32))


@pytest.mark.parametrize("arch", ["simple", "lcnn"])
def test_the_cnn_scores_an_utterance_on_its_own_frames_whatever_the_padding(arch):
    model = build_cnn(16, TrainCnnParams(arch=arch, lcnn_width=0.25, filters=(4, 8)))
    step = shortest_input(model)
    assert step == (16 if arch == "lcnn" else 4)
    rng = np.random.default_rng(1)
    lengths = [step * 3, step * 5 + step - 1, step * 2, step // 2]
    stored = np.zeros((len(lengths), 16, step * 8), dtype=np.float32)
    for row, frames in enumerate(lengths):
        stored[row, :, :frames] = rng.normal(size=(16, frames))
    scores = cnn_scores(model, stored)
    # The same utterance alone, stored at exactly the frames the network reads: the same score.
    alone = [
        stored[0, :, : step * 3],
        stored[1, :, : step * 5],  # cut to a multiple of the pooling step, as the max-pools would
        stored[2, :, : step * 2],
        np.tile(stored[3, :, : step // 2], 2),  # shorter than the network's minimum: repeated
    ]
    expected = [float(model(example[None], training=False).numpy()[0, 0]) for example in alone]
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    assert np.array_equal(cnn_scores(model, stored, [2, 0], batch_size=1), scores[[2, 0]])
    assert len(set(np.round(scores, 6))) == 4


def test_inference_is_one_graph_for_any_length_that_follows_the_weights_and_lets_the_model_go():
    model = build_cnn(16, TrainCnnParams(arch="lcnn", lcnn_width=0.25))
    forward = inference(model)
    assert inference(model) is forward
    x = np.random.default_rng(2).normal(size=(3, 16, 64)).astype(np.float32)
    for inputs in (x, x[:1, :, :32], x[:, :, :48]):
        assert np.array_equal(forward(inputs).numpy(), model(inputs, training=False).numpy())
    assert forward.experimental_get_tracing_count() == 1
    model.set_weights([weight * 0.5 for weight in model.get_weights()])  # as training moves them
    assert np.array_equal(forward(x).numpy(), model(x, training=False).numpy())
    held = weakref.ref(model)
    del model, forward
    gc.collect()
    assert held() is None  # the cache does not keep it alive


def test_spec_augment_masks_within_limits():
    params = SpecAugmentParams(freq_masks=1, max_freq_width=3, time_masks=1, max_time_width=5, top_band=0.0)
    batch = np.ones((20, 16, 30), dtype=np.float32)
    batch[:, 0, 0] = 0.0  # the mean is just under 1: masked cells differ from the rest
    spec_augment(batch, params, np.random.default_rng(0))
    masked = batch != 1.0
    masked[:, 0, 0] = False
    full_rows = masked.all(axis=2).sum(axis=1)
    full_columns = masked.all(axis=1).sum(axis=1)
    assert full_rows.max() <= 3 and full_columns.max() <= 5
    assert full_rows.sum() > 0 and full_columns.sum() > 0
    again = np.ones((20, 16, 30), dtype=np.float32)
    again[:, 0, 0] = 0.0
    spec_augment(again, params, np.random.default_rng(0))
    assert np.array_equal(again, batch)


def test_spec_augment_masks_the_top_rows_of_some_examples_as_a_narrowband_source_looks():
    params = SpecAugmentParams(freq_masks=0, time_masks=0, top_band=0.5, max_top_width=6)
    batch = np.tile(np.arange(16, dtype=np.float32)[:, None], (200, 1, 5))  # row r holds r everywhere
    spec_augment(batch, params, np.random.default_rng(0))
    masked_rows = (batch != np.arange(16)[:, None]).any(axis=2).sum(axis=1)
    assert 70 < (masked_rows > 0).sum() < 130  # about half the examples
    for example, rows in zip(batch, masked_rows, strict=True):
        assert rows <= 6 and np.all(example[16 - rows :] == 7.5)  # the example's mean
        assert np.array_equal(example[: 16 - rows, 0], np.arange(16 - rows))


def test_cnn_loader_refuses_serialized_code(tmp_path):
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    path = tmp_path / "cnn.keras"
    model.save(path)
    with pytest.raises(InputError, match=rf"{path}: refused to load the CNN model: .*unsafe"):
        load_cnn(path)


def test_cnn_needs_both_classes():
    x, _ = spectrogram_set(8, seed=0)
    with pytest.raises(
        InputError, match="training and dev splits must each contain both bona fide and spoofed"
    ):
        fit_cnn(
            x,
            np.arange(8),
            ["spoof"] * 8,
            dev_rows=np.arange(8),
            dev_labels=["spoof"] * 8,
            params=CNN_PARAMS["simple"],
            seed=0,
        )
