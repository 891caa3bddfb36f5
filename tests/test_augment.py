"""Channel augmentation of the training audio: what each degradation does, and that copies are reproducible."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from helpers import PROJECT, SAMPLE_RATE, speech_like

from deepfake_audio.augment import AugmentedFile, augment
from deepfake_audio.errors import InputError
from deepfake_audio.features.augmented import augmented_copies, with_copies
from deepfake_audio.params import AugmentParams, load_params

NOTHING = dict(convolutive=0.0, impulsive=0.0, stationary=0.0, narrowband=0.0, mulaw=0.0)


def only(**chosen) -> AugmentParams:
    return AugmentParams(copies=1, **{**NOTHING, **chosen})


def band_share(signal: np.ndarray, low_hz: float) -> float:
    """Share of the signal's energy above ``low_hz``."""
    power = np.abs(np.fft.rfft(signal)) ** 2
    frequencies = np.fft.rfftfreq(len(signal), 1 / SAMPLE_RATE)
    return float(power[frequencies > low_hz].sum() / power.sum())


@pytest.fixture
def noise():
    return (0.3 * np.random.default_rng(0).standard_normal(SAMPLE_RATE)).astype(np.float32)


def test_a_copy_keeps_the_length_and_peak_level(noise):
    params = AugmentParams(
        copies=1, convolutive=1.0, impulsive=1.0, stationary=1.0, narrowband=1.0, mulaw=1.0
    )
    out = augment(noise, SAMPLE_RATE, params, rng=np.random.default_rng(1))
    assert out.dtype == np.float32 and out.shape == noise.shape
    assert np.abs(out).max() == pytest.approx(np.abs(noise).max(), rel=1e-5)
    assert not np.allclose(out, noise)


def test_with_every_probability_zero_the_copy_is_the_signal(noise):
    out = augment(noise, SAMPLE_RATE, only(), rng=np.random.default_rng(1))
    np.testing.assert_allclose(out, noise, rtol=1e-6)


def test_narrowband_removes_the_band_above_4_khz(noise):
    assert band_share(noise, 4000) == pytest.approx(0.5, abs=0.02)
    out = augment(noise, SAMPLE_RATE, only(narrowband=1.0), rng=np.random.default_rng(1))
    assert band_share(out, 4100) < 1e-4


def test_mulaw_leaves_at_most_256_levels(noise):
    out = augment(noise, SAMPLE_RATE, only(mulaw=1.0), rng=np.random.default_rng(1))
    assert len(np.unique(out)) <= 256


def test_stationary_noise_is_added_at_the_drawn_snr():
    speech = speech_like(seconds=1.0)
    out = augment(
        speech, SAMPLE_RATE, only(stationary=1.0, snr_db=(20.0, 20.0)), rng=np.random.default_rng(1)
    )
    # The copy is brought back to the signal's peak: undo that gain (the noise is uncorrelated).
    out = out.astype(np.float64) * np.dot(speech, speech) / np.dot(out, speech)
    added = out - speech
    snr = 10 * np.log10(np.sum(speech.astype(np.float64) ** 2) / np.sum(added**2))
    assert snr == pytest.approx(20.0, abs=0.1)


def test_impulsive_noise_touches_at_most_a_tenth_of_the_samples(noise):
    out = augment(noise, SAMPLE_RATE, only(impulsive=1.0), rng=np.random.default_rng(3))
    gain = np.median(out / noise)  # the copy's peak level is brought back to the signal's
    changed = ~np.isclose(out / gain, noise, rtol=1e-4, atol=0)
    assert 0 < changed.mean() <= 0.1


def test_convolutive_noise_reshapes_the_spectrum(noise):
    out = augment(noise, SAMPLE_RATE, only(convolutive=1.0), rng=np.random.default_rng(1))
    spectrum_in, spectrum_out = (np.abs(np.fft.rfft(x)) ** 2 for x in (noise, out))
    bands = [slice(start, start + 500) for start in range(0, 8000, 500)]
    ratios = np.array([spectrum_out[band].sum() / spectrum_in[band].sum() for band in bands])
    assert ratios.max() / ratios.min() > 10  # some bands passed, others cut


def test_a_copy_depends_on_seed_row_and_copy_only(tmp_path):
    path = tmp_path / "take.wav"
    sf.write(path, speech_like(seconds=0.5), SAMPLE_RATE)
    params = AugmentParams(copies=2)
    first = AugmentedFile(str(path), row=4, copy=1, seed=2017, params=params).load(SAMPLE_RATE)
    again = AugmentedFile(str(path), row=4, copy=1, seed=2017, params=params).load(SAMPLE_RATE)
    np.testing.assert_array_equal(first, again)
    for other in (
        dict(row=5, copy=1, seed=2017),
        dict(row=4, copy=0, seed=2017),
        dict(row=4, copy=1, seed=1),
    ):
        assert not np.array_equal(first, AugmentedFile(str(path), params=params, **other).load(SAMPLE_RATE))


def test_turning_one_degradation_off_leaves_the_others_draws_alone(noise):
    with_mulaw = only(stationary=1.0, mulaw=1.0, snr_db=(30.0, 30.0))
    without = only(stationary=1.0, snr_db=(30.0, 30.0))
    a = augment(noise, SAMPLE_RATE, with_mulaw, rng=np.random.default_rng(5))
    b = augment(noise, SAMPLE_RATE, without, rng=np.random.default_rng(5))
    # The same noise underneath: mu-law adds only its quantisation error (about 38 dB below).
    assert np.corrcoef(a, b)[0, 1] > 0.99


MANIFEST = pd.DataFrame(
    {
        "utt_id": [f"T_{i}" for i in range(6)],
        "split": ["train", "train", "dev", "train", "eval", "train"],
        "label": ["bonafide", "spoof", "bonafide", "bonafide", "spoof", "spoof"],
        "speaker": ["a", "a", "b", "c", "d", "c"],
        "path": [f"f{i}.wav" for i in range(6)],
        "duration_s": [1.0] * 6,
    }
)


def test_copies_are_made_of_training_files_only_in_manifest_order():
    copies = augmented_copies(MANIFEST, AugmentParams(copies=2))
    assert copies["row"].tolist() == [0, 0, 1, 1, 3, 3, 5, 5]
    assert copies["copy"].tolist() == [0, 1] * 4
    assert copies["utt_id"].tolist() == ["T_0", "T_0", "T_1", "T_1", "T_3", "T_3", "T_5", "T_5"]
    assert set(copies["split"]) == {"train"}


def test_bonafide_only_copies_the_bonafide_training_files():
    copies = augmented_copies(MANIFEST, AugmentParams(copies=1, classes="bonafide"))
    assert copies["row"].tolist() == [0, 3]
    assert set(copies["label"]) == {"bonafide"}


def test_with_copies_puts_train_then_copies_then_dev():
    spectrograms = np.arange(6, dtype=np.float16)[:, None, None] * np.ones((6, 2, 3), np.float16)
    copies = np.full((2, 2, 3), 9, np.float16)
    stacked, train, dev = with_copies(spectrograms, np.array([0, 1, 3, 5]), np.array([2]), copies=copies)
    assert stacked[:, 0, 0].tolist() == [0, 1, 3, 5, 9, 9, 2]
    assert train.tolist() == [0, 1, 2, 3, 4, 5] and dev.tolist() == [6]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"copies": 21}, "train_svc.augment.copies: Input should be less than or equal to 20 (got 21)"),
        ({"snr_db": [30.0, 10.0]}, "train_svc.augment: snr_db must be [low, high], got [30.0, 10.0]"),
        (
            {"narrowband": 1.5},
            "train_svc.augment.narrowband: Input should be less than or equal to 1 (got 1.5)",
        ),
        (
            {"classes": "spoof"},
            "train_svc.augment.classes: Input should be 'both' or 'bonafide' (got 'spoof')",
        ),
    ],
)
def test_bad_augment_params_are_refused_by_key(tmp_path, change, message):
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    raw["train_svc"]["augment"].update(change)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError) as raised:
        load_params(path)
    assert str(raised.value) == f"{path}: {message}"
