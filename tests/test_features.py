import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from helpers import SAMPLE_RATE, speech_like, tone

from deepfake_audio.audio import AudioError, load_audio
from deepfake_audio.corpus.manifest import manifest_from_asvspoof2017
from deepfake_audio.errors import InputError
from deepfake_audio.features import extract
from deepfake_audio.features.analysis import FEATURE_FAMILIES, analyse_batch, feature_family, feature_names
from deepfake_audio.features.extract import extract_features
from deepfake_audio.features.filterbanks import fft_frequencies, mel_basis
from deepfake_audio.features.spectrogram import (
    SpectrogramStats,
    empty_band_rows,
    fix_frames,
    frame_times,
    read_spectrogram_stats,
    real_frames,
    spectrogram_frequencies,
    training_stats,
    write_spectrogram_stats,
)
from deepfake_audio.features.store import feature_columns, read_features, split_rows
from deepfake_audio.params import (
    AnalysisSettings,
    ComputeParams,
    FeaturesParams,
    SpectrogramParams,
    VadParams,
)

PARAMS = FeaturesParams()
LINEAR = FeaturesParams(spectrogram={"kind": "linear"})
FAMILIES = ("mfcc", "lfcc", "cqcc", "spectral", "band_energy")
FFT_BIN_HZ = SAMPLE_RATE / PARAMS.n_fft


def analyse(signal, params=PARAMS):
    return analyse_batch([signal], AnalysisSettings(SAMPLE_RATE, params))[0]


def features_of(signal, params=PARAMS) -> dict[str, float]:
    return dict(zip(feature_names(params), analyse(signal, params).features, strict=True))


def test_feature_names_are_unique_readable_and_complete():
    names = feature_names(PARAMS)
    cepstra, spectral, bands = 3 * 3 * 20 * 2, (6 + 7) * 2, 6 * 2  # 7 contrast bands
    assert len(names) == cepstra + spectral + bands == 398
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*_(mean|std)", name) for name in names)
    for name in (
        "mfcc_3_mean",
        "lfcc_3_delta_std",
        "cqcc_0_delta2_mean",
        "spectral_contrast_2_mean",
        "spectral_rolloff_std",
        "spectral_zcr_mean",
        "band_energy_4000_6000hz_mean",
    ):
        assert name in names


def test_every_feature_name_belongs_to_one_family():
    families = [feature_family(name) for name in feature_names(PARAMS)]
    assert {family: families.count(family) for family in FEATURE_FAMILIES} == {
        "mfcc": 120,
        "lfcc": 120,
        "cqcc": 120,
        "spectral": 26,
        "band_energy": 12,
    }
    assert feature_family("band_energy_0_500hz_mean") == "band_energy"
    with pytest.raises(ValueError, match="'mfccs_1_mean' is not a feature name of this pipeline"):
        feature_family("mfccs_1_mean")


def test_spectrogram_rows_and_columns_have_frequencies_and_times():
    mel = FeaturesParams()
    frequencies = spectrogram_frequencies(AnalysisSettings(SAMPLE_RATE, mel))
    assert frequencies.shape == (mel.spectrogram.n_mels,) and np.all(np.diff(frequencies) > 0)
    # Each Mel row's centre is where its filter peaks, to within one FFT bin.
    peaks = fft_frequencies(SAMPLE_RATE, mel.n_fft)[mel_basis(SAMPLE_RATE, mel.n_fft, 64).argmax(axis=1)]
    np.testing.assert_allclose(frequencies, peaks, atol=SAMPLE_RATE / mel.n_fft)
    linear = FeaturesParams(spectrogram={"kind": "linear"})
    np.testing.assert_array_equal(
        spectrogram_frequencies(AnalysisSettings(SAMPLE_RATE, linear)), np.arange(257) * SAMPLE_RATE / 512
    )
    np.testing.assert_allclose(frame_times(4, AnalysisSettings(SAMPLE_RATE, mel)), [0.0, 0.01, 0.02, 0.03])


@pytest.mark.parametrize("family", FAMILIES)
def test_switching_a_family_off_removes_exactly_its_columns(family):
    reduced = FeaturesParams(handcrafted={family: False})
    prefix = {"spectral": "spectral_", "band_energy": "band_energy_"}.get(family, f"{family}_")
    full = feature_names(PARAMS)
    assert feature_names(reduced) == [name for name in full if not name.startswith(prefix)]
    assert len(analyse(tone(440), reduced).features) == len(feature_names(reduced))


def test_without_deltas_only_the_static_cepstra_remain():
    names = feature_names(FeaturesParams(handcrafted={"deltas": False}))
    assert not any("delta" in name for name in names)
    assert len(names) == 398 - 3 * 2 * 20 * 2


@pytest.mark.parametrize(
    "signal",
    [
        tone(440, seconds=1.0),
        tone(1000, seconds=0.1),
        np.random.default_rng(0).normal(0, 1e-6, SAMPLE_RATE).astype(np.float32),
        np.zeros(SAMPLE_RATE // 2, dtype=np.float32),
    ],
    ids=["tone", "0.1 s", "near silence", "digital silence"],
)
@pytest.mark.parametrize("kind", ["linear", "mel"])
def test_every_value_is_finite_and_shapes_are_fixed(signal, kind):
    params = FeaturesParams(spectrogram={"kind": kind})
    result = analyse(signal, params)
    assert result.features.shape == (len(feature_names(params)),)
    assert result.features.dtype == np.float64 and np.all(np.isfinite(result.features))
    bins = 64 if kind == "mel" else PARAMS.n_fft // 2 + 1
    assert result.spectrogram.shape == (bins, PARAMS.spectrogram.n_frames)
    assert result.spectrogram.dtype == np.float16
    assert np.all(np.isfinite(result.spectrogram.astype(float)))


def test_a_5_khz_tone_lands_in_its_band_its_centroid_and_its_fft_bin():
    values = features_of(tone(5000.0))
    assert values["band_energy_4000_6000hz_mean"] == pytest.approx(0.0, abs=0.5)
    others = [
        value
        for name, value in values.items()
        if name.startswith("band_energy_") and name.endswith("_mean") and "4000_6000" not in name
    ]
    assert max(others) < -40.0
    assert values["spectral_centroid_mean"] == pytest.approx(5000.0, rel=0.02)
    spectrogram = analyse(tone(5000.0), LINEAR).spectrogram.astype(float)
    assert np.argmax(spectrogram.mean(axis=1)) == round(5000.0 / FFT_BIN_HZ)


@pytest.mark.parametrize("freq_hz", [500.0, 4000.0])
def test_the_spectral_centroid_follows_a_tone(freq_hz):
    assert features_of(tone(freq_hz))["spectral_centroid_mean"] == pytest.approx(freq_hz, rel=0.05)


def test_a_high_tone_lights_up_high_mel_bands():
    params = FeaturesParams(spectrogram={"kind": "mel", "normalize": "none"})
    spectrogram = analyse(tone(6000.0), params).spectrogram.astype(float)
    assert np.argmax(spectrogram.mean(axis=1)) > 64 * 3 // 4


def test_a_batch_gives_the_same_features_as_one_file_at_a_time():
    rng = np.random.default_rng(1)
    signals = [
        (0.1 * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32) + tone(freq, seconds)
        for seconds, freq in ((0.3, 300.0), (1.7, 2500.0), (0.9, 6100.0))
    ]
    batch = analyse_batch(signals, AnalysisSettings(SAMPLE_RATE, PARAMS))
    for signal, together in zip(signals, batch, strict=True):
        alone = analyse(signal)
        assert np.allclose(together.features, alone.features, rtol=1e-4, atol=0.05)
        assert np.array_equal(together.spectrogram, alone.spectrogram)


def test_cepstra_tell_tones_apart():
    low, high = features_of(tone(300.0)), features_of(tone(5000.0))
    for family in ("mfcc", "lfcc", "cqcc"):
        assert abs(low[f"{family}_1_mean"] - high[f"{family}_1_mean"]) > 1.0


def test_cropping_keeps_the_start():
    spec = np.arange(2 * 10, dtype=float).reshape(2, 10)
    fixed = fix_frames(spec, SpectrogramParams(n_frames=8, normalize="none"))
    assert fixed.tolist() == spec[:, :8].tolist()


def test_repeat_padding_tiles_the_utterance():
    spec = np.array([[1.0, 2.0, 3.0]])
    fixed = fix_frames(spec, SpectrogramParams(n_frames=8, pad="repeat", normalize="none"))
    assert fixed.tolist() == [[1, 2, 3, 1, 2, 3, 1, 2]]


def test_zero_padding_appends_silence():
    spec = np.array([[-5.0, 2.0, 3.0]])
    fixed = fix_frames(spec, SpectrogramParams(n_frames=8, pad="zeros", normalize="none"))
    assert fixed.tolist() == [[-5, 2, 3, -5, -5, -5, -5, -5]]


def test_without_padding_an_utterance_is_normalised_on_its_own_frames_and_followed_by_zero_columns():
    spec = np.array([[1.0, 2.0, 3.0], [5.0, 8.0, 6.0]])
    fixed = fix_frames(spec, SpectrogramParams(n_frames=8, pad="none", normalize="utterance"))
    own = (spec - spec.mean()) / spec.std()
    assert np.allclose(fixed[:, :3], own) and not fixed[:, 3:].any()
    raw = fix_frames(spec, SpectrogramParams(n_frames=8, pad="none", normalize="none"))
    assert raw.tolist() == [[1, 2, 3, 0, 0, 0, 0, 0], [5, 8, 6, 0, 0, 0, 0, 0]]
    assert real_frames(np.stack([fixed, raw, fixed[:, :2].repeat(4, axis=1)])).tolist() == [3, 3, 8]


def test_real_frames_ends_at_the_last_sounding_column():
    inputs = np.zeros((4, 2, 6), dtype=np.float16)
    inputs[0, 1, 3] = -0.5  # one bin of the fourth column sounds
    inputs[1, :, :2] = 1.0
    inputs[1, 0, 4] = 2.0  # a silent column inside the utterance does not end it
    inputs[2] = 1.0
    # row 3 is all zeros: nothing marks an end, so it is read whole
    assert real_frames(inputs).tolist() == [4, 5, 6, 6]
    assert real_frames(inputs[:0]).tolist() == []


def test_training_statistics_and_their_application_leave_the_padding_out():
    rng = np.random.default_rng(0)
    utterances = [rng.normal(-40.0, 5.0, (3, frames)) for frames in (4, 10, 7)]
    params = SpectrogramParams(n_frames=10, pad="none", normalize="none")
    stored = np.stack([fix_frames(u, params) for u in utterances]).astype(np.float16)
    stats = training_stats(stored, np.arange(3))
    frames = np.concatenate(utterances, axis=1).astype(np.float16).astype(np.float64)
    assert np.allclose(stats.mean, frames.mean(axis=1), atol=1e-3)
    assert np.allclose(stats.std, frames.std(axis=1), atol=1e-3)
    normalised = stats.apply(stored)
    assert real_frames(normalised).tolist() == [4, 10, 7]
    assert not normalised[0, :, 4:].any() and normalised[0, :, :4].all()


def test_the_empty_band_above_a_narrowband_sources_bandwidth_is_masked():
    import librosa

    wideband = speech_like(seconds=1.0)
    narrowband = librosa.resample(
        librosa.resample(wideband, orig_sr=SAMPLE_RATE, target_sr=8000, res_type="soxr_hq"),
        orig_sr=8000,
        target_sr=SAMPLE_RATE,
        res_type="soxr_hq",
    )
    masked = FeaturesParams(spectrogram={"n_frames": 100, "normalize": "none", "mask_empty_band_db": 70.0})
    unmasked = FeaturesParams(spectrogram={"n_frames": 100, "normalize": "none", "mask_empty_band_db": None})
    rows = spectrogram_frequencies(AnalysisSettings(SAMPLE_RATE, masked))
    top, low = rows > 4500.0, rows < 3500.0
    spectrogram = analyse(narrowband, masked).spectrogram.astype(np.float32)
    as_recorded = analyse(narrowband, unmasked).spectrogram.astype(np.float32)
    filled = spectrogram[top]
    assert np.ptp(filled) == 0.0  # one value: the mean of the rows that sound
    assert as_recorded[top].mean() < filled[0, 0] - 40.0
    assert np.array_equal(spectrogram[low], as_recorded[low])
    # A recording whose own noise reaches 8 kHz keeps every row.
    assert np.array_equal(analyse(wideband, masked).spectrogram, analyse(wideband, unmasked).spectrogram)


def test_an_utterance_with_all_its_power_at_0_hz_keeps_every_row():
    settings = AnalysisSettings(SAMPLE_RATE, FeaturesParams())
    power = np.full((257, 20), 1e-12)
    power[0] = 1.0  # a DC offset over silence: its bandwidth ends below the lowest row
    assert not empty_band_rows(power, settings).any()
    power[40] = 1.0  # 1.25 kHz
    assert empty_band_rows(power, settings).any() and not empty_band_rows(power, settings).all()


def test_a_short_utterance_is_repeated_to_the_fixed_length():
    params = FeaturesParams(spectrogram={"n_frames": 40, "pad": "repeat", "normalize": "none"})
    spectrogram = analyse(tone(700.0, seconds=0.1), params).spectrogram  # 11 frames
    assert np.array_equal(spectrogram[:, 11:22], spectrogram[:, :11])


def test_utterance_normalisation_removes_gain_only():
    spec = np.array([[1.0, 2.0], [5.0, 8.0]])
    fixed = fix_frames(spec, SpectrogramParams(n_frames=8, pad="repeat", normalize="utterance"))
    assert fixed.mean() == pytest.approx(0.0) and fixed.std() == pytest.approx(1.0)
    louder = fix_frames(spec + 20.0, SpectrogramParams(n_frames=8, pad="repeat", normalize="utterance"))
    assert np.allclose(fixed, louder)


def test_global_normalisation_uses_the_training_split_only(small_corpus, tmp_path):
    manifest = manifest_from_asvspoof2017(small_corpus)
    noise = np.random.default_rng(2).normal(0, 0.3, SAMPLE_RATE // 2)
    for path in manifest.loc[manifest["split"] == "dev", "path"]:  # dev: broadband, unlike the tones
        sf.write(path, noise, SAMPLE_RATE, subtype="PCM_16")
    # Repeated to 60 frames, so every stored frame counts (the frames of unpadded inputs: see below).
    params = FeaturesParams(
        handcrafted={"cqcc": False}, spectrogram={"n_frames": 60, "pad": "repeat", "normalize": "global"}
    )
    extract_features(
        manifest,
        tmp_path / "features",
        AnalysisSettings(SAMPLE_RATE, params),
        compute=ComputeParams(n_jobs=1),
    )
    table, spectrograms = read_features(tmp_path / "features")

    unnormalised = FeaturesParams(
        handcrafted={"cqcc": False}, spectrogram={"n_frames": 60, "pad": "repeat", "normalize": "none"}
    )
    raw = np.stack(
        [analyse(load_audio(path, SAMPLE_RATE), unnormalised).spectrogram for path in manifest["path"]]
    ).astype(np.float64)
    train = raw[split_rows(table, "train")]
    stats = read_spectrogram_stats(tmp_path / "features")
    assert np.allclose(stats.mean, train.mean(axis=(0, 2)), atol=1e-3)
    assert np.allclose(stats.std, train.std(axis=(0, 2)), atol=1e-3)
    assert np.abs(stats.mean - raw.mean(axis=(0, 2))).max() > 10.0  # dev would have moved them
    assert np.allclose(spectrograms, stats.apply(raw), atol=0.02)  # float16 storage
    assert np.abs(np.asarray(spectrograms[split_rows(table, "train")], float).mean(axis=(0, 2))).max() < 0.01


def test_spectrogram_statistics_round_trip(tmp_path):
    stats = SpectrogramStats(
        mean=np.linspace(-80, -20, 257, dtype=np.float32), std=np.linspace(1, 9, 257, dtype=np.float32)
    )
    write_spectrogram_stats(tmp_path, stats)
    again = read_spectrogram_stats(tmp_path)
    assert np.array_equal(again.mean, stats.mean) and np.array_equal(again.std, stats.std)
    with pytest.raises(
        InputError, match=r"spectrogram_stats.npz: not found; .*spectrogram.normalize is global"
    ):
        read_spectrogram_stats(tmp_path / "elsewhere")


def test_extract_features_writes_aligned_rows_in_manifest_order(small_corpus, tmp_path, monkeypatch):
    manifest = manifest_from_asvspoof2017(small_corpus)
    seconds = [0.3 + 0.1 * ((5 * row) % 12) for row in range(len(manifest))]  # shuffled durations
    for row, path in enumerate(manifest["path"]):
        sf.write(path, tone(300 + 100 * row, seconds[row]), SAMPLE_RATE, subtype="PCM_16")
    manifest["duration_s"] = seconds
    monkeypatch.setattr(extract, "_CHUNK", 5)  # chunks of similar duration, across the splits

    out = tmp_path / "features"
    extract_features(manifest, out, AnalysisSettings(SAMPLE_RATE, PARAMS), compute=ComputeParams(n_jobs=2))
    table, spectrograms = read_features(out)
    assert table["utt_id"].tolist() == manifest["utt_id"].tolist()
    assert list(table.columns[:4]) == ["utt_id", "split", "label", "speaker"]
    assert table["speaker"].tolist() == manifest["speaker"].tolist()
    assert feature_columns(table) == feature_names(PARAMS)
    assert spectrograms.shape == (len(manifest), PARAMS.spectrogram.n_mels, PARAMS.spectrogram.n_frames)
    assert isinstance(spectrograms, np.memmap) and spectrograms.dtype == np.float16
    for row in range(len(manifest)):  # each row holds its own utterance (distinct tones and lengths)
        expected = analyse(load_audio(manifest["path"][row], SAMPLE_RATE))
        assert np.array_equal(spectrograms[row], expected.spectrogram)
        assert np.allclose(
            table.iloc[row][feature_names(PARAMS)].to_numpy(float), expected.features, rtol=1e-4, atol=0.05
        )
    assert split_rows(table, "dev").tolist() == [4, 5, 6, 7]

    serial = tmp_path / "serial"
    extract_features(manifest, serial, AnalysisSettings(SAMPLE_RATE, PARAMS), compute=ComputeParams(n_jobs=1))
    serial_table, serial_spectrograms = read_features(serial)
    pd.testing.assert_frame_equal(serial_table, table)
    assert np.array_equal(serial_spectrograms, spectrograms)


def test_misaligned_feature_files_are_refused(small_corpus, tmp_path):
    manifest = manifest_from_asvspoof2017(small_corpus)
    extract_features(
        manifest.iloc[:4],
        tmp_path / "short",
        AnalysisSettings(SAMPLE_RATE, PARAMS),
        compute=ComputeParams(n_jobs=1),
    )
    extract_features(
        manifest, tmp_path / "full", AnalysisSettings(SAMPLE_RATE, PARAMS), compute=ComputeParams(n_jobs=1)
    )
    (tmp_path / "short" / "spectrogram.npy").replace(tmp_path / "full" / "spectrogram.npy")
    with pytest.raises(
        InputError, match=r"full: spectrogram.npy has 4 rows but utterances.csv has 12; rerun"
    ):
        read_features(tmp_path / "full")


def test_global_normalisation_needs_training_files(small_corpus, tmp_path):
    manifest = manifest_from_asvspoof2017(small_corpus)
    params = FeaturesParams(spectrogram={"normalize": "global"})
    with pytest.raises(InputError, match=r"features.spectrogram.normalize: global needs training utterances"):
        extract_features(
            manifest[manifest["split"] == "dev"],
            tmp_path / "features",
            AnalysisSettings(SAMPLE_RATE, params),
            compute=ComputeParams(n_jobs=1),
        )
    assert not (tmp_path / "features").exists()


def test_a_bad_file_leaves_no_feature_folder(small_corpus, tmp_path):
    manifest = manifest_from_asvspoof2017(small_corpus)
    bad = manifest["path"].iloc[3]
    open(bad, "wb").write(b"RIFF broken")
    out = tmp_path / "features"
    with pytest.raises(AudioError, match=rf"{bad}: cannot read audio"):
        extract_features(
            manifest, out, AnalysisSettings(SAMPLE_RATE, PARAMS), compute=ComputeParams(n_jobs=1)
        )
    assert [path.name for path in tmp_path.iterdir()] == ["corpus"]  # no output, no temporary


def test_with_trim_the_length_of_the_non_speech_around_a_file_does_not_change_its_features():
    speech = speech_like(seconds=1.0)
    hiss = (1e-4 * np.random.default_rng(3).standard_normal(SAMPLE_RATE)).astype(np.float32)

    def padded(lead_s, tail_s):  # the same hiss next to the speech; whole hops, so the frames align
        return np.concatenate([hiss[-int(lead_s * SAMPLE_RATE) :], speech, hiss[: int(tail_s * SAMPLE_RATE)]])

    short, long = padded(0.2, 0.1), padded(0.8, 0.6)
    trimmed = FeaturesParams(trim=VadParams())
    np.testing.assert_allclose(analyse(short, trimmed).features, analyse(long, trimmed).features, rtol=1e-6)
    assert np.array_equal(analyse(short, trimmed).spectrogram, analyse(long, trimmed).spectrogram)
    # Whole, the hiss shows: the log-energy track spreads further with more of it.
    assert not np.allclose(analyse(short).features, analyse(long).features, rtol=1e-3, atol=0.05)
