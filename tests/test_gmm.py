"""The GMM baseline: its frame-level input, its fit and its scores, and its explanation."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import numpy as np
import pandas as pd
import pytest
from helpers import PROJECT, SAMPLE_RATE, speech_like

from deepfake_audio.errors import InputError
from deepfake_audio.explain.gmm import coefficient_groups, frame_permutation
from deepfake_audio.features.frames import frame_features, frame_names
from deepfake_audio.models.gmm import fit_gmm, gmm_scores
from deepfake_audio.params import AnalysisSettings, FramesParams, TrainGmmParams, VadParams, load_params

PARAMS = load_params(PROJECT / "params.yaml")
SETTINGS = PARAMS.analysis_settings
N = PARAMS.features.handcrafted.n_cepstra
HOP = PARAMS.features.hop_length


@pytest.mark.parametrize("kind", ["cqcc", "lfcc"])
def test_frames_are_one_row_per_stft_frame_with_named_coefficients_and_deltas(kind):
    frames = FramesParams(kind=kind)
    signals = [speech_like(1.0, seed=0), speech_like(0.6, seed=1)]
    out = frame_features(signals, SETTINGS, frames)
    names = frame_names(SETTINGS, frames)
    assert len(names) == 3 * N
    assert names[:2] == [f"{kind}_0", f"{kind}_1"] and names[N] == f"{kind}_0_delta"
    assert names[-1] == f"{kind}_{N - 1}_delta2"
    assert [f.shape for f in out] == [(1 + 16000 // HOP, 3 * N), (1 + 9600 // HOP, 3 * N)]
    assert all(f.dtype == np.float32 for f in out)
    # batching changes nothing beyond rounding: the second signal alone gives its frames
    np.testing.assert_allclose(frame_features(signals[1:], SETTINGS, frames)[0], out[1], atol=1e-4)


def test_cmvn_gives_each_coefficient_zero_mean_and_unit_variance_per_utterance():
    signal = speech_like(1.0, seed=2)
    normalised = frame_features([signal], SETTINGS, FramesParams(kind="lfcc"))[0]
    np.testing.assert_allclose(normalised.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalised.std(axis=0), 1.0, atol=1e-3)
    raw = frame_features([signal], SETTINGS, FramesParams(kind="lfcc", cmvn=False, deltas=False))[0]
    assert raw.shape[1] == N and abs(raw[:, 0].mean()) > 1.0  # c0 carries the level without CMVN
    np.testing.assert_allclose(normalised[:, :N], (raw - raw.mean(0)) / raw.std(0), atol=1e-3)


def test_frames_of_a_trimmed_model_are_the_speech_only():
    trimming = AnalysisSettings(SAMPLE_RATE, PARAMS.features.model_copy(update={"trim": VadParams()}))
    speech = speech_like(0.5, seed=3)
    padded = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(8000, np.float32)])
    frames = FramesParams(kind="lfcc")
    trimmed = frame_features([padded], trimming, frames)[0]
    assert len(trimmed) < len(frame_features([padded], SETTINGS, frames)[0]) - 80  # a second of silence fewer
    assert abs(len(trimmed) - len(frame_features([speech], SETTINGS, frames)[0])) <= 3


def _two_classes(rng, n=12, frames=40, dims=4):
    """Bona fide frames around 0, spoofed ones around 1 in the first value."""
    shift = np.zeros(dims, np.float32)
    shift[0] = 1.0
    utterances = [rng.standard_normal((frames, dims)).astype(np.float32) + (i % 2) * shift for i in range(n)]
    return utterances, np.array(["bonafide", "spoof"] * (n // 2))


def test_the_score_is_the_mean_frame_log_likelihood_ratio():
    rng = np.random.default_rng(0)
    utterances, labels = _two_classes(rng)
    model = fit_gmm(utterances, labels, TrainGmmParams(components=2), seed=0)
    scores = gmm_scores(model, utterances)
    expected = [
        np.mean(model["bonafide"].score_samples(u) - model["spoof"].score_samples(u))
        for u in (u.astype(np.float64) for u in utterances)  # scored in float64, whatever the frames
    ]
    np.testing.assert_allclose(scores, expected, rtol=1e-10)
    assert (scores[labels == "bonafide"].min()) > scores[labels == "spoof"].max()
    # the same fit from the same seed
    again = fit_gmm(utterances, labels, TrainGmmParams(components=2), seed=0)
    np.testing.assert_array_equal(gmm_scores(again, utterances), scores)


def test_scores_in_blocks_equal_scores_one_utterance_at_a_time(monkeypatch):
    from deepfake_audio.models import gmm

    rng = np.random.default_rng(1)
    utterances, labels = _two_classes(rng, n=10)
    utterances[3] = utterances[3][:1]  # one frame only
    model = fit_gmm(utterances, labels, TrainGmmParams(components=2), seed=0)
    whole = gmm_scores(model, utterances)
    monkeypatch.setattr(gmm, "_BLOCK_FRAMES", 50)  # blocks of one or two utterances
    np.testing.assert_allclose(gmm_scores(model, utterances), whole, rtol=1e-10)


def test_streamed_scores_hold_one_block_and_equal_the_scores_of_all_frames_at_once(monkeypatch):
    from deepfake_audio.models import gmm

    rng = np.random.default_rng(2)
    utterances, labels = _two_classes(rng, n=10)
    model = fit_gmm(utterances, labels, TrainGmmParams(components=2), seed=0)
    whole = gmm_scores(model, utterances)
    blocks = []
    monkeypatch.setattr(gmm, "_BLOCK_FRAMES", 100)  # two or three utterances of 40 frames
    monkeypatch.setattr(
        gmm, "gmm_scores", lambda model, block: blocks.append(len(block)) or gmm_scores(model, block)
    )
    arriving = [(position, utterances[position]) for position in rng.permutation(len(utterances))]
    streamed = gmm.streamed_gmm_scores(model, iter(arriving), len(utterances))
    np.testing.assert_allclose(streamed, whole, rtol=1e-10)
    assert blocks == [2, 2, 2, 2, 2]


def test_training_frames_are_drawn_per_class_up_to_max_frames():
    rng = np.random.default_rng(2)
    utterances, labels = _two_classes(rng)
    model = fit_gmm(utterances, labels, TrainGmmParams(components=2, max_frames=100), seed=0)
    assert model["bonafide"].n_features_in_ == 4
    # 6 utterances x 40 frames per class, of which 100 drawn
    assert model["bonafide"].weights_.sum() == pytest.approx(1.0)


def test_a_class_without_utterances_or_with_too_few_frames_is_refused():
    rng = np.random.default_rng(3)
    utterances, labels = _two_classes(rng)
    with pytest.raises(InputError, match="^train_gmm: the training split has no spoof utterances$"):
        fit_gmm(utterances[::2], labels[::2], TrainGmmParams(components=2), seed=0)
    with pytest.raises(
        InputError,
        match=r"^train_gmm: 240 bonafide training frames, fewer than the 500 components \(train_gmm.components\)$",
    ):
        fit_gmm(utterances, labels, TrainGmmParams(components=500), seed=0)


def test_permutation_importance_finds_the_coefficient_that_separates_the_classes():
    names = ["lfcc_0", "lfcc_1", "lfcc_0_delta", "lfcc_1_delta"]
    by_coefficient, by_order = coefficient_groups(names)
    assert by_coefficient == {"lfcc_0": [0, 2], "lfcc_1": [1, 3]}
    assert by_order == {"static": [0, 1], "delta": [2, 3]}
    rng = np.random.default_rng(4)
    utterances, labels = _two_classes(rng, n=20)
    model = fit_gmm(utterances, labels, TrainGmmParams(components=1), seed=0)
    ranking = frame_permutation(
        model, utterances, labels, groups=by_coefficient, column="feature", repeats=3, seed=0
    )
    assert list(ranking.columns) == ["feature", "importance", "std"]
    assert ranking["feature"].tolist() == ["lfcc_0", "lfcc_1"]
    assert ranking["importance"].iloc[0] > 20 and abs(ranking["importance"].iloc[1]) < 10
    in_two_processes = frame_permutation(
        model, utterances, labels, groups=by_coefficient, column="feature", repeats=3, seed=0, n_jobs=2
    )
    pd.testing.assert_frame_equal(ranking, in_two_processes)
