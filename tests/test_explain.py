"""Explanations: the case choice, permutation importance, SHAP, LIME and Grad-CAM."""

import keras
import numpy as np
import pandas as pd
import pytest

from deepfake_audio.explain.cases import CASE_COLUMNS, describe, pick_cases
from deepfake_audio.explain.gradcam import GradCam, Profile, last_conv_layer, mass_fractions, uniform_profile
from deepfake_audio.explain.svc import (
    LocalExplainer,
    balanced_sample,
    lime_weights,
    permutation_by_family,
    permutation_ranking,
    permutation_summary,
    shap_by_family,
    shap_ranking,
    shap_values,
)
from deepfake_audio.models.cnn import build_cnn
from deepfake_audio.models.svc import build_svc
from deepfake_audio.params import GradcamParams, LimeParams, ShapParams, TrainCnnParams, TrainSvcParams

NAMES = ["mfcc_0_mean", "mfcc_0_std", "lfcc_3_delta_std", "spectral_zcr_mean", "band_energy_0_500hz_mean"]


def planted_set(rows=200, informative="lfcc_3_delta_std", seed=0):
    """Five features of pure noise except ``informative``, which carries the label."""
    rng = np.random.default_rng(seed)
    targets = np.tile([0, 1], rows // 2)
    features = pd.DataFrame(rng.standard_normal((rows, len(NAMES))), columns=NAMES)
    features[informative] += 2.5 * targets
    return features, targets


@pytest.fixture(scope="module")
def tiny_svc():
    features, targets = planted_set()
    return build_svc(TrainSvcParams().setting(), seed=0).fit(features, targets), features, targets


# --------------------------------------------------------------------------- cases


def test_cases_pick_the_extremes_of_each_class_and_flag_errors():
    scored = pd.DataFrame(
        {
            "utt_id": ["b1", "b2", "b3", "s1", "s2", "s3"],
            "label": ["bonafide"] * 3 + ["spoof"] * 3,
            "score": [2.0, -1.0, 0.5, -3.0, 1.5, -0.2],
        }
    )
    cases = pick_cases(scored, threshold=0.0, per_case=1)
    assert list(cases.columns) == CASE_COLUMNS
    assert cases.values.tolist() == [
        ["bonafide_most_confident", "b1", "bonafide", 2.0, True],
        ["spoof_most_confident", "s1", "spoof", -3.0, True],
        ["bonafide_worst", "b2", "bonafide", -1.0, False],  # rejected: an error
        ["spoof_worst", "s2", "spoof", 1.5, False],  # accepted: an error
    ]
    assert describe(cases.iloc[2]) == "b2: lowest-scored bona fide, score -1.000 (ERROR)"


def test_case_choice_is_independent_of_row_order_and_breaks_ties_by_id():
    scored = pd.DataFrame(
        {
            "utt_id": ["b9", "b2", "b5", "s7", "s3", "s4"],
            "label": ["bonafide"] * 3 + ["spoof"] * 3,
            "score": [1.0, 1.0, 0.0, -2.0, -2.0, 0.5],
        }
    )
    cases = pick_cases(scored, threshold=0.0, per_case=2)
    shuffled = pick_cases(scored.sample(frac=1, random_state=3), threshold=0.0, per_case=2)
    pd.testing.assert_frame_equal(cases, shuffled)
    assert cases["utt_id"].tolist() == ["b2", "b9", "s3", "s7", "b5", "b2", "s4", "s3"]
    # A bona fide score at the threshold is a rejection, as in the evaluation.
    assert cases.set_index(["case", "utt_id"]).loc[("bonafide_worst", "b5"), "correct"] == False  # noqa: E712


# --------------------------------------------------------------------------- SVC


def test_permutation_importance_ranks_the_planted_feature_first(tiny_svc):
    model, features, targets = tiny_svc
    ranking = permutation_ranking(model, features, targets, repeats=5, seed=0)
    assert list(ranking.columns) == ["feature", "importance", "std"]
    assert sorted(ranking["feature"]) == sorted(NAMES)
    assert ranking["feature"].iloc[0] == "lfcc_3_delta_std"
    # Shuffling the only informative feature takes the EER (%) most of the way to chance.
    assert ranking["importance"].iloc[0] > 20
    assert ranking["importance"].iloc[1:].abs().max() < 5


def test_family_permutation_finds_a_family_whose_features_stand_in_for_each_other():
    # Both mfcc features carry the label (with their own noise): shuffled alone, each is covered by
    # the other; shuffled together as a family, the model loses its evidence.
    rng = np.random.default_rng(1)
    features, targets = planted_set(informative="mfcc_0_mean")
    features["mfcc_0_std"] = features["mfcc_0_mean"] + 0.3 * rng.standard_normal(len(features))
    model = build_svc(TrainSvcParams().setting(), seed=0).fit(features, targets)
    families = permutation_by_family(model, features, targets, repeats=5, seed=0)
    assert list(families.columns) == ["family", "importance", "std"]
    assert sorted(families["family"]) == ["band_energy", "lfcc", "mfcc", "spectral"]
    assert families["family"].iloc[0] == "mfcc" and families["importance"].iloc[0] > 20
    assert families["importance"].iloc[1:].abs().max() < 5
    by_feature = permutation_ranking(model, features, targets, repeats=5, seed=0).set_index("feature")
    assert (
        families["importance"].iloc[0]
        > 1.5 * by_feature.loc[["mfcc_0_mean", "mfcc_0_std"], "importance"].max()
    )
    # Rounded once, where computed (percentage points, 4 places), and reproducible.
    assert (families[["importance", "std"]] == families[["importance", "std"]].round(4)).all().all()
    pd.testing.assert_frame_equal(
        families, permutation_by_family(model, features, targets, repeats=5, seed=0)
    )


def test_features_whose_shuffling_did_not_raise_the_eer_are_never_top():
    by_feature = pd.DataFrame(
        {
            "feature": ["a_1", "b_2", "c_3", "d_4", "e_5", "f_6"],
            "importance": [3.0, 0.5, 0.0, 0.0, 0.0, -0.25],
            "std": [0.1] * 6,
        }
    )
    by_family = pd.DataFrame({"family": ["mfcc", "lfcc"], "importance": [4.0, 0.0], "std": [0.2, 0.0]})
    summary = permutation_summary(by_feature, by_family, n=5)
    assert summary == {
        "permutation_top": {
            "1": {"feature": "a_1", "importance": 3.0},
            "2": {"feature": "b_2", "importance": 0.5},
        },
        "permutation_positive": 2,
        "permutation_by_family": {"mfcc": 4.0, "lfcc": 0.0},
    }


def test_a_feature_the_model_cannot_use_is_not_top_and_its_family_scores_zero():
    features, targets = planted_set()
    features["cqcc_0_mean"] = 1.0  # constant: shuffling it changes nothing
    model = build_svc(TrainSvcParams().setting(), seed=0).fit(features, targets)
    ranking = permutation_ranking(model, features, targets, repeats=5, seed=0)
    families = permutation_by_family(model, features, targets, repeats=5, seed=0)
    assert ranking.set_index("feature").loc["cqcc_0_mean", "importance"] == 0.0
    summary = permutation_summary(ranking, families, n=len(features.columns))
    listed = [entry["feature"] for entry in summary["permutation_top"].values()]
    assert listed[0] == "lfcc_3_delta_std" and "cqcc_0_mean" not in listed
    assert len(listed) == summary["permutation_positive"] == len(features.columns) - 1
    assert summary["permutation_by_family"]["cqcc"] == 0.0
    assert max(summary["permutation_by_family"], key=summary["permutation_by_family"].get) == "lfcc"


def test_shap_values_are_finite_for_every_feature_and_find_the_planted_one(tiny_svc):
    model, features, targets = tiny_svc
    explained = features.iloc[:10]
    settings = ShapParams(background=5, utterances=10, samples=100)
    values = shap_values(model, features, explained, params=settings, seed=1)
    assert values.shape == (10, len(NAMES)) and np.isfinite(values).all()
    ranking = shap_ranking(values, NAMES)
    assert sorted(ranking["feature"]) == sorted(NAMES)
    assert ranking["feature"].iloc[0] == "lfcc_3_delta_std"
    # The same values again, and whatever the number of worker processes.
    np.testing.assert_array_equal(values, shap_values(model, features, explained, params=settings, seed=1))
    np.testing.assert_array_equal(
        values, shap_values(model, features, explained, params=settings, seed=1, n_jobs=2)
    )


def test_shap_families_add_the_values_of_their_features():
    values = np.array([[1.0, -3.0, 0.5, 2.0, 0.0], [-1.0, 1.0, 0.5, -2.0, 0.25]])
    families = shap_by_family(values, NAMES)
    # mfcc: |1 - 3| = 2 and |-1 + 1| = 0, mean 1; the others have one feature each.
    assert list(families.columns) == ["family", "mean_abs_shap"]
    assert families.values.tolist() == [
        ["spectral", 2.0],
        ["mfcc", 1.0],
        ["lfcc", 0.5],
        ["band_energy", 0.125],
    ]


def test_lime_weighs_every_feature_name_and_is_reproducible(tiny_svc):
    model, features, _ = tiny_svc
    settings = LimeParams(features=len(NAMES), samples=300)
    row = features.iloc[3]
    weights = lime_weights(LocalExplainer(model, features, settings, seed=2).explain(row), NAMES)
    assert list(weights.columns) == ["feature", "condition", "weight"]
    assert sorted(weights["feature"]) == sorted(NAMES)
    assert np.isfinite(weights["weight"]).all()
    assert weights["feature"].iloc[0] == "lfcc_3_delta_std"
    assert all(
        name in condition for name, condition in zip(weights["feature"], weights["condition"], strict=True)
    )
    again = lime_weights(LocalExplainer(model, features, settings, seed=2).explain(row), NAMES)
    pd.testing.assert_frame_equal(weights, again)


def test_balanced_sample_takes_half_of_each_label_reproducibly():
    table = pd.DataFrame({"utt_id": [f"u{i}" for i in range(30)], "label": ["bonafide"] * 5 + ["spoof"] * 25})
    sample = balanced_sample(table, 8, seed=0)
    assert sample["label"].value_counts().to_dict() == {"bonafide": 4, "spoof": 4}
    assert sample.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(sample, balanced_sample(table, 8, seed=0))
    assert len(balanced_sample(table, 20, seed=0)) == 5 + 10  # all five bona fide


# --------------------------------------------------------------------------- Grad-CAM

BINS, FRAMES = 16, 64
CUE_ROWS, CUE_FRAMES = slice(10, 14), slice(40, 48)


def cue_set(rows, seed):
    """Noise spectrograms; bona fide ones carry a bright patch at CUE_ROWS x CUE_FRAMES."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, BINS, FRAMES)).astype(np.float32)
    targets = np.tile([0.0, 1.0], rows // 2).astype(np.float32)
    x[targets == 1, CUE_ROWS, CUE_FRAMES] += 3.0
    return x, targets


@pytest.fixture(scope="module")
def cue_cnn():
    keras.utils.set_random_seed(0)
    params = TrainCnnParams(arch="simple", filters=(8, 8), input_noise=0.0, spatial_dropout=0.0, dropout=0.0)
    model = build_cnn(BINS, params)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.BinaryCrossentropy(from_logits=True)
    )
    x, targets = cue_set(256, seed=0)
    model.fit(x, targets, epochs=8, batch_size=32, verbose=0)
    return model


def test_gradcam_peaks_at_the_planted_cue(cue_cnn):
    x, targets = cue_set(64, seed=1)
    bonafide = np.flatnonzero(targets == 1)
    maps = GradCam(cue_cnn, batch_size=16).maps(x, bonafide, towards_bonafide=True)
    assert maps.shape == (len(bonafide), BINS, FRAMES) and (maps >= 0).all()
    profile = GradCam(cue_cnn).class_profiles(x, bonafide, ["bonafide"] * len(bonafide))["bonafide"]
    assert profile.n_maps == len(bonafide)
    assert CUE_FRAMES.start <= np.argmax(profile.time) < CUE_FRAMES.stop
    assert CUE_ROWS.start - 1 <= np.argmax(profile.frequency) <= CUE_ROWS.stop
    assert profile.time.sum() == pytest.approx(1.0) and profile.frequency.sum() == pytest.approx(1.0)
    # Most of the evidence lies on the cue's frames, which are an eighth of the input.
    assert profile.time[CUE_FRAMES].sum() > 0.5


def test_gradcam_maps_depend_on_their_own_row_only(cue_cnn):
    x, _ = cue_set(8, seed=2)
    together = GradCam(cue_cnn, batch_size=8).maps(x, np.arange(8), towards_bonafide=True)
    alone = GradCam(cue_cnn, batch_size=1).maps(x, [5], towards_bonafide=True)
    np.testing.assert_allclose(alone[0], together[5], rtol=1e-5, atol=1e-6)


def test_gradcam_maps_an_unpadded_input_over_its_own_frames_only(cue_cnn):
    x, _ = cue_set(2, seed=3)
    x[1, :, 48:] = 0.0  # stored with pad: none, it ends after 48 frames
    maps = GradCam(cue_cnn).maps(x, [0, 1], towards_bonafide=True)
    alone = GradCam(cue_cnn).maps(x[1:, :, :48], [0], towards_bonafide=True)
    assert not maps[1, :, 48:].any() and maps[0, :, 48:].any()
    np.testing.assert_allclose(maps[1, :, :48], alone[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch, layer_type", [("lcnn", keras.layers.Maximum), ("simple", keras.layers.ReLU)])
def test_gradcam_explains_the_last_convolutional_block_before_pooling(arch, layer_type):
    model = build_cnn(32, TrainCnnParams(arch=arch, lcnn_width=0.25, filters=(4, 8)))
    layer = last_conv_layer(model)
    assert isinstance(layer, layer_type)
    convs = [lyr for lyr in model.layers if isinstance(lyr, keras.layers.Conv2D)]
    assert tuple(layer.output.shape) == tuple(convs[-1].output.shape)


def test_mass_fractions_read_the_first_milliseconds_and_the_top_band():
    frequencies = np.array([100.0, 1000.0, 3000.0, 5000.0])
    times = np.arange(10) * 0.1  # 100 ms frames
    profile = Profile(frequency=np.array([0.1, 0.2, 0.3, 0.4]), time=np.full(10, 0.1), n_maps=3)
    shares = mass_fractions(profile, frequencies, times, params=GradcamParams(first_ms=300, above_hz=4000))
    assert shares == {"first_300ms": pytest.approx(0.3), "above_4000hz": pytest.approx(0.4)}
    uniform = mass_fractions(
        uniform_profile(4, 10), frequencies, times, params=GradcamParams(first_ms=300, above_hz=4000)
    )
    assert uniform == {"first_300ms": pytest.approx(0.3), "above_4000hz": pytest.approx(0.25)}


# --------------------------------------------------------------------------- figures


def test_figures_are_byte_identical_across_runs(tmp_path, tiny_svc):
    from deepfake_audio.explain import figures

    model, features, _ = tiny_svc
    values = shap_values(
        model, features, features.iloc[:6], params=ShapParams(background=3, samples=40), seed=0
    )
    for name in ("a", "b"):
        figures.shap_summary_png(
            values, features.iloc[:6], 5, title="SHAP", path=tmp_path / f"summary_{name}.png"
        )
        profile = Profile(np.linspace(0, 1, BINS) / 8, np.full(FRAMES, 1 / FRAMES), 4)
        figures.profiles_png(
            {"bonafide": profile, "spoof": profile},
            np.linspace(0, 8000, BINS),
            np.arange(FRAMES) * 0.01,
            first_s=0.3,
            above_hz=4000,
            split="eval",
            path=tmp_path / f"profiles_{name}.png",
        )
        by_feature = pd.DataFrame(
            {"feature": NAMES, "importance": [9.0, 2.0, 1.0, 0.0, -0.5], "std": [0.5] * 5}
        )
        by_family = pd.DataFrame({"family": ["lfcc", "mfcc"], "importance": [9.5, 1.0], "std": [0.2, 0.1]})
        figures.permutation_png(
            by_feature,
            by_family,
            xlabel="EER rise",
            title="permutation",
            path=tmp_path / f"permutation_{name}.png",
        )
    for kind in ("summary", "profiles", "permutation"):
        first, second = (tmp_path / f"{kind}_{name}.png" for name in ("a", "b"))
        assert first.stat().st_size > 1000 and first.read_bytes() == second.read_bytes()
