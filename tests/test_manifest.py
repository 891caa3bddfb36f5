import pytest

from deepfake_audio.corpus import asvspoof2017
from deepfake_audio.corpus.manifest import (
    COLUMNS, CorpusError, manifest_from_asvspoof2017, read_manifest, summarize,
)
from deepfake_audio.io import write_csv


def test_manifest_rows_follow_the_protocol(small_corpus):
    manifest = manifest_from_asvspoof2017(small_corpus)
    assert list(manifest.columns) == COLUMNS
    assert len(manifest) == 12
    first, second = manifest.iloc[0], manifest.iloc[1]
    assert first["utt_id"] == "T_1000001" and first["label"] == "bonafide"
    assert first["condition"] == "-" and first["environment"] == "-"
    assert second["label"] == "spoof" and second["condition"] == "E01_P01_R01"
    assert first["duration_s"] == 0.5 and first["sample_rate"] == 16000
    assert manifest["path"].iloc[-1].endswith("ASVspoof2017_V2_eval/E_1000004.wav")


def test_manifest_round_trips_through_csv(small_corpus, tmp_path):
    manifest = manifest_from_asvspoof2017(small_corpus)
    write_csv(tmp_path / "manifest.csv", manifest)
    assert read_manifest(tmp_path / "manifest.csv").equals(manifest)


def test_summary_counts(small_corpus):
    summary = summarize(manifest_from_asvspoof2017(small_corpus))
    assert summary["dev"]["n_utterances"] == 4
    assert summary["dev"]["n_bonafide"] == 2 and summary["dev"]["n_spoof"] == 2
    assert summary["eval"]["n_speakers"] == 2
    assert summary["train"]["n_conditions"] == 1
    assert summary["train"]["duration_s_mean"] == 0.5


def test_missing_wav_is_named(small_corpus):
    (asvspoof2017.audio_dir(small_corpus, "dev") / "D_1000002.wav").unlink()
    with pytest.raises(CorpusError, match=r"ASVspoof2017_V2_dev: protocol rows without a WAV file \(1\): D_1000002.wav$"):
        manifest_from_asvspoof2017(small_corpus)


def test_unlisted_wav_is_named(small_corpus):
    (asvspoof2017.audio_dir(small_corpus, "eval") / "E_1000099.wav").write_bytes(b"")
    with pytest.raises(CorpusError, match=r"WAV files not in the protocol \(1\): E_1000099.wav$"):
        manifest_from_asvspoof2017(small_corpus)


def test_unreadable_wav_is_named(small_corpus):
    (asvspoof2017.audio_dir(small_corpus, "train") / "T_1000003.wav").write_bytes(b"not audio")
    with pytest.raises(CorpusError, match=r"unreadable audio \(1\): T_1000003.wav \("):
        manifest_from_asvspoof2017(small_corpus)


def test_missing_protocol_is_named(small_corpus):
    asvspoof2017.protocol_path(small_corpus, "eval").unlink()
    with pytest.raises(asvspoof2017.ProtocolError, match=r"ASVspoof2017_V2_eval.trl.txt: protocol file not found"):
        manifest_from_asvspoof2017(small_corpus)


def test_a_split_without_spoofs_is_refused(small_corpus):
    protocol = asvspoof2017.protocol_path(small_corpus, "dev")
    folder = asvspoof2017.audio_dir(small_corpus, "dev")
    kept = [line for line in protocol.read_text().splitlines() if " genuine " in line]
    for line in protocol.read_text().splitlines():
        if " spoof " in line:
            (folder / line.split()[0]).unlink()
    protocol.write_text("\n".join(kept) + "\n")
    with pytest.raises(CorpusError, match=r"corpus: the dev split has no spoof utterances$"):
        manifest_from_asvspoof2017(small_corpus)
