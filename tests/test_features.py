import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLE_RATE, tone
from deepfake_audio.audio import AudioError, load_audio
from deepfake_audio.corpus.manifest import manifest_from_asvspoof2017
from deepfake_audio.features.analysis import analyse, feature_names, fix_frames
from deepfake_audio.features.extract import extract_features
from deepfake_audio.features.store import feature_columns, read_features, split_rows
from deepfake_audio.errors import InputError
from deepfake_audio.params import FeaturesParams, SpectrogramParams

PARAMS = FeaturesParams()


def test_feature_names_are_readable_and_complete():
    names = feature_names(PARAMS)
    assert len(names) == 3 * 2 * PARAMS.n_mfcc + 6 * 2
    assert len(set(names)) == len(names)
    assert names[:2] == ["mfcc_0_mean", "mfcc_0_std"]
    assert "mfcc_19_delta2_std" in names and "spectral_rolloff_mean" in names


def test_analysis_shapes_and_finite_values():
    result = analyse(tone(440, seconds=1.0), SAMPLE_RATE, PARAMS)
    assert result.features.shape == (len(feature_names(PARAMS)),)
    assert np.all(np.isfinite(result.features))
    assert result.log_mel.shape == (PARAMS.n_mels, PARAMS.spectrogram.n_frames)
    assert result.log_mel.dtype == np.float16


@pytest.mark.parametrize("freq_hz", [500.0, 4000.0])
def test_a_tone_puts_the_spectral_centroid_at_its_frequency(freq_hz):
    values = dict(zip(feature_names(PARAMS), analyse(tone(freq_hz), SAMPLE_RATE, PARAMS).features))
    assert values["spectral_centroid_mean"] == pytest.approx(freq_hz, rel=0.05)


def test_a_high_tone_lights_up_high_mel_bands():
    log_mel = analyse(tone(6000.0), SAMPLE_RATE, FeaturesParams(spectrogram={"normalize": "none"})).log_mel
    band_energy = log_mel.astype(float).mean(axis=1)
    assert np.argmax(band_energy) > PARAMS.n_mels * 3 // 4


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


def test_utterance_normalisation_removes_gain_only():
    spec = np.array([[1.0, 2.0], [5.0, 8.0]])
    fixed = fix_frames(spec, SpectrogramParams(n_frames=8, normalize="utterance"))
    assert fixed.mean() == pytest.approx(0.0) and fixed.std() == pytest.approx(1.0)
    louder = fix_frames(spec + 20.0, SpectrogramParams(n_frames=8, normalize="utterance"))
    assert np.allclose(fixed, louder)


def test_extract_features_writes_aligned_table_and_spectrograms(small_corpus, tmp_path):
    manifest = manifest_from_asvspoof2017(small_corpus)
    out = tmp_path / "features"
    extract_features(manifest, out, PARAMS, sample_rate=SAMPLE_RATE, n_jobs=2)
    table, log_mel = read_features(out)
    assert table["utt_id"].tolist() == manifest["utt_id"].tolist()
    assert list(table.columns[:3]) == ["utt_id", "split", "label"]
    assert feature_columns(table) == feature_names(PARAMS)
    assert log_mel.shape == (len(manifest), PARAMS.n_mels, PARAMS.spectrogram.n_frames)
    assert isinstance(log_mel, np.memmap)
    for row in (0, 5, 11):  # each row holds its own utterance (the files are distinct tones)
        expected = analyse(load_audio(manifest["path"][row], SAMPLE_RATE), SAMPLE_RATE, PARAMS)
        assert np.array_equal(log_mel[row], expected.log_mel)
        assert np.allclose(table.iloc[row][feature_names(PARAMS)].to_numpy(float), expected.features)
    assert split_rows(table, "dev").tolist() == [4, 5, 6, 7]

    serial = tmp_path / "serial"
    extract_features(manifest, serial, PARAMS, sample_rate=SAMPLE_RATE, n_jobs=1)
    serial_table, serial_log_mel = read_features(serial)
    pd.testing.assert_frame_equal(serial_table, table)
    assert np.array_equal(serial_log_mel, log_mel)


def test_misaligned_feature_files_are_refused(small_corpus, tmp_path):
    manifest = manifest_from_asvspoof2017(small_corpus)
    extract_features(manifest.iloc[:4], tmp_path / "short", PARAMS, sample_rate=SAMPLE_RATE, n_jobs=1)
    extract_features(manifest, tmp_path / "full", PARAMS, sample_rate=SAMPLE_RATE, n_jobs=1)
    (tmp_path / "short" / "log_mel.npy").replace(tmp_path / "full" / "log_mel.npy")
    with pytest.raises(InputError, match=r"full: log_mel.npy has 4 rows but utterances.csv has 12; rerun"):
        read_features(tmp_path / "full")


def test_a_bad_file_leaves_no_feature_folder(small_corpus, tmp_path):
    manifest = manifest_from_asvspoof2017(small_corpus)
    bad = manifest["path"].iloc[3]
    open(bad, "wb").write(b"RIFF broken")
    out = tmp_path / "features"
    with pytest.raises(AudioError, match=rf"{bad}: cannot read audio"):
        extract_features(manifest, out, PARAMS, sample_rate=SAMPLE_RATE, n_jobs=1)
    assert [path.name for path in tmp_path.iterdir()] == ["corpus"]  # no output, no temporary
