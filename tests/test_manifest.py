import re

import numpy as np
import pytest
import soundfile as sf
from helpers import SAMPLE_RATE, tone

from deepfake_audio.corpus import asvspoof2017
from deepfake_audio.corpus.manifest import (
    COLUMNS,
    CorpusError,
    check_splits,
    manifest_from_asvspoof2017,
    read_manifest,
    rejected_table,
    screen_audio,
    summarize,
)
from deepfake_audio.io import write_csv


def screened(corpus, on_bad_audio="fail", min_duration_s=0.1, n_jobs=1):
    return screen_audio(manifest_from_asvspoof2017(corpus), min_duration_s, on_bad_audio, n_jobs=n_jobs)


def test_manifest_rows_follow_the_protocol(small_corpus):
    manifest, rejected = screened(small_corpus)
    assert rejected == []
    assert list(manifest.columns) == COLUMNS
    assert len(manifest) == 12
    first, second = manifest.iloc[0], manifest.iloc[1]
    assert first["utt_id"] == "T_1000001" and first["label"] == "bonafide"
    assert first["condition"] == "-" and first["environment"] == "-"
    assert second["label"] == "spoof" and second["condition"] == "E01_P01_R01"
    assert first["duration_s"] == 0.5 and first["sample_rate"] == 16000
    assert manifest["path"].iloc[-1].endswith("ASVspoof2017_V2_eval/E_1000004.wav")


def test_manifest_of_some_splits_only(small_corpus):
    manifest = manifest_from_asvspoof2017(small_corpus, ("train", "dev"))
    assert sorted(manifest["split"].unique()) == ["dev", "train"]


def test_manifest_round_trips_through_csv(small_corpus, tmp_path):
    manifest, _ = screened(small_corpus)
    write_csv(tmp_path / "manifest.csv", manifest)
    assert read_manifest(tmp_path / "manifest.csv").equals(manifest)


def test_summary_counts(small_corpus):
    summary = summarize(*screened(small_corpus))
    assert summary["dev"]["n_utterances"] == 4
    assert summary["dev"]["n_bonafide"] == 2 and summary["dev"]["n_spoof"] == 2
    assert summary["eval"]["n_speakers"] == 2
    assert summary["train"]["n_conditions"] == 1
    assert summary["train"]["duration_s_mean"] == 0.5
    assert summary["n_rejected"] == 0 and "rejected" not in summary


def test_missing_wav_is_named(small_corpus):
    (asvspoof2017.audio_dir(small_corpus, "dev") / "D_1000002.wav").unlink()
    with pytest.raises(
        CorpusError, match=r"ASVspoof2017_V2_dev: protocol rows without a WAV file \(1\): D_1000002.wav$"
    ):
        manifest_from_asvspoof2017(small_corpus)


def test_unlisted_wav_is_named(small_corpus):
    (asvspoof2017.audio_dir(small_corpus, "eval") / "E_1000099.wav").write_bytes(b"")
    with pytest.raises(CorpusError, match=r"WAV files not in the protocol \(1\): E_1000099.wav$"):
        manifest_from_asvspoof2017(small_corpus)


def test_missing_protocol_is_named(small_corpus):
    asvspoof2017.protocol_path(small_corpus, "eval").unlink()
    with pytest.raises(
        asvspoof2017.ProtocolError, match=r"ASVspoof2017_V2_eval.trl.txt: protocol file not found"
    ):
        manifest_from_asvspoof2017(small_corpus)


@pytest.fixture
def bad_files(small_corpus):
    """Train and dev files spoilt in the ways prepare screens for (the checks predict makes)."""
    folder = asvspoof2017.audio_dir(small_corpus, "train")
    (folder / "T_1000001.wav").write_bytes(b"not audio")
    sf.write(folder / "T_1000002.wav", np.zeros(0, dtype=np.float32), SAMPLE_RATE, subtype="PCM_16")
    sf.write(folder / "T_1000003.wav", tone(440, seconds=0.05), SAMPLE_RATE, subtype="PCM_16")
    sf.write(folder / "T_1000004.wav", np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE, subtype="PCM_16")
    nan = tone(440)
    nan[100] = np.nan
    sf.write(asvspoof2017.audio_dir(small_corpus, "dev") / "D_1000001.wav", nan, SAMPLE_RATE, subtype="FLOAT")
    huge = np.random.default_rng(0).standard_normal(SAMPLE_RATE).astype(np.float32) * 1e20  # finite
    sf.write(
        asvspoof2017.audio_dir(small_corpus, "dev") / "D_1000002.wav", huge, SAMPLE_RATE, subtype="FLOAT"
    )
    (asvspoof2017.audio_dir(small_corpus, "dev") / "D_1000003.wav").write_bytes(b"")
    cut = asvspoof2017.audio_dir(small_corpus, "eval") / "E_1000001.wav"  # predict refuses it too
    cut.write_bytes(cut.read_bytes()[:-4000])
    return small_corpus


def test_bad_audio_stops_prepare_with_every_file_and_reason(bad_files):
    with pytest.raises(CorpusError) as err:
        screened(bad_files)
    message = str(err.value)
    assert message.startswith("unusable audio (set prepare.on_bad_audio: skip to leave such files out) (8): ")
    assert "T_1000001.wav (cannot read audio: " in message
    assert "T_1000002.wav (audio is empty)" in message
    assert (
        "T_1000003.wav (too short: 800 samples at 16000 Hz (0.05 s), under the minimum of 0.1 s)" in message
    )
    assert "T_1000004.wav (silent: every sample is zero)" in message
    assert "D_1000001.wav (audio contains NaN or Inf samples)" in message
    assert re.search(
        r"D_1000002\.wav \(absurd amplitude: a sample of magnitude \d\.\d+e\+20 \(audio is "
        r"expected within ±1, at most ±1000\)\)",
        message,
    )
    assert "D_1000003.wav (file is empty (0 bytes))" in message
    assert (
        "E_1000001.wav (truncated: the header announces 16000 bytes of audio, the file holds 12000)"
        in message
    )


def test_bad_audio_can_be_skipped_and_is_reported(bad_files):
    manifest, rejected = screened(bad_files, on_bad_audio="skip", n_jobs=2)
    assert len(manifest) == 12 - 8
    assert manifest["duration_s"].notna().all()
    assert [row["utt_id"] for row in rejected] == [
        "T_1000001",
        "T_1000002",
        "T_1000003",
        "T_1000004",
        "D_1000001",
        "D_1000002",
        "D_1000003",
        "E_1000001",
    ]
    assert rejected[3]["reason"] == "silent: every sample is zero"
    assert (
        summarize(manifest, rejected)["n_rejected"] == 8
    )  # the count in metrics; files and reasons in a CSV
    table = rejected_table(rejected)
    assert list(table.columns) == ["utt_id", "path", "reason"] and len(table) == 8
    assert table.loc[1, "reason"] == "audio is empty"
    assert rejected_table([]).columns.tolist() == ["utt_id", "path", "reason"]
    with pytest.raises(CorpusError, match=r"^corpus: the train split is empty$"):  # all four were spoilt
        check_splits(manifest, "corpus")


def test_a_split_without_one_class_or_empty_is_refused(small_corpus):
    manifest, _ = screened(small_corpus)
    no_spoof = manifest[~((manifest["split"] == "dev") & (manifest["label"] == "spoof"))]
    with pytest.raises(CorpusError, match=r"^corpus: the dev split has no spoof utterances$"):
        check_splits(no_spoof, "corpus")
    with pytest.raises(CorpusError, match=r"^corpus: the eval split is empty$"):
        check_splits(manifest[manifest["split"] != "eval"], "corpus")
    check_splits(manifest[manifest["split"] != "eval"], "corpus", ("train", "dev"))
