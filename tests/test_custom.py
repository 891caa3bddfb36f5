import os
import shutil

import numpy as np
import pytest
import soundfile as sf
from helpers import tone

from deepfake_audio.corpus import custom
from deepfake_audio.corpus.custom import manifest_from_csv
from deepfake_audio.corpus.manifest import COLUMNS, CorpusError


def write_dataset(folder, rows, header="path,label,split,speaker"):
    """Audio in several formats, rates and channel counts, and the CSV listing them."""
    folder.mkdir(exist_ok=True)
    (folder / "audio").mkdir(exist_ok=True)
    formats = [
        ("a.wav", 16000, 1, "PCM_16"),
        ("b.flac", 22050, 2, "PCM_24"),
        ("c.ogg", 8000, 1, "VORBIS"),
        ("d.wav", 44100, 2, "FLOAT"),
        ("e.wav", 16000, 1, "PCM_U8"),
        ("f.flac", 48000, 1, "PCM_16"),
    ]
    for name, rate, channels, subtype in formats + [("a.flac", 16000, 1, "PCM_16")]:
        signal = np.repeat(tone(300, seconds=1.0, sample_rate=rate)[:, None], channels, axis=1)
        sf.write(folder / "audio" / name, signal, rate, subtype=subtype)
    (folder / "data.csv").write_text(header + "\n" + "".join(row + "\n" for row in rows))
    return folder / "data.csv"


GOOD_ROWS = [
    "audio/a.wav,bonafide,train,s1",
    "audio/b.flac,spoof,train,s1",
    "audio/c.ogg,genuine,dev,s2",
    "audio/d.wav,spoof,dev,s2",
    "audio/e.wav,Bonafide,eval,s3",
    "audio/f.flac,spoof,eval,s3",
]


def test_a_good_csv_becomes_a_manifest(tmp_path):
    csv = write_dataset(tmp_path / "mine", GOOD_ROWS)
    manifest = manifest_from_csv(csv)
    assert list(manifest.columns) == COLUMNS
    assert manifest["utt_id"].tolist() == ["audio/a", "audio/b", "audio/c", "audio/d", "audio/e", "audio/f"]
    assert manifest["label"].tolist() == ["bonafide", "spoof", "bonafide", "spoof", "bonafide", "spoof"]
    assert manifest["path"][1] == str(tmp_path / "mine" / "audio" / "b.flac")
    assert manifest["speaker"].tolist() == ["s1", "s1", "s2", "s2", "s3", "s3"]
    assert set(manifest["condition"]) == {"-"}


def test_absolute_paths_are_kept(tmp_path):
    rows = [row.replace("audio/", f"{tmp_path / 'mine' / 'audio'}/") for row in GOOD_ROWS]
    manifest = manifest_from_csv(write_dataset(tmp_path / "mine", rows))
    assert manifest["path"][0] == str(tmp_path / "mine" / "audio" / "a.wav")


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda rows: rows + ["audio/a.wav,spoof,train,s1"],
            r"duplicate path \(2\): line 2: 'audio/a.wav', line 8: 'audio/a.wav'$",
        ),
        (
            lambda rows: rows[:2] + ["audio/c.ogg,fake,dev,s2"] + rows[3:],
            r"unknown label \(use bonafide, genuine or spoof\) \(1\): line 4: 'fake'$",
        ),
        (
            lambda rows: rows[:1] + ["audio/b.flac,spoof,test,s1"] + rows[2:],
            r"unknown split \(use train, dev or eval\) \(1\): line 3: 'test'$",
        ),
        (
            lambda rows: rows + ["audio/missing.wav,spoof,eval,s3", "audio/gone.wav,spoof,eval,s3"],
            r"file not found \(2\): line 8: 'audio/missing.wav', line 9: 'audio/gone.wav'$",
        ),
        (
            lambda rows: rows + ["audio/../audio/a.wav,spoof,train,s1"],
            r"duplicate path \(2\): line 2: 'audio/a.wav', line 8: 'audio/../audio/a.wav'$",
        ),
        (
            lambda rows: rows + ["audio/a.flac,spoof,train,s1"],
            r"paths that differ only in their extension \(2\): line 2: 'audio/a.wav', line 8: 'audio/a.flac'$",
        ),
    ],
)
def test_bad_rows_are_listed_with_line_numbers(tmp_path, change, message):
    csv = write_dataset(tmp_path / "mine", change(list(GOOD_ROWS)))
    with pytest.raises(CorpusError, match=rf"^{csv}: {message}"):
        manifest_from_csv(csv)


def test_blank_optional_fields_read_as_not_applicable(tmp_path):
    rows = [row.rsplit(",", 1)[0] + "," for row in GOOD_ROWS]
    assert set(manifest_from_csv(write_dataset(tmp_path / "mine", rows))["speaker"]) == {"-"}


def test_a_row_with_extra_fields_is_refused(tmp_path):
    csv = write_dataset(tmp_path / "mine", GOOD_ROWS + ["audio/a.wav,spoof,train,s1,extra"])
    with pytest.raises(CorpusError, match=rf"^{csv}: not a readable CSV: "):
        manifest_from_csv(csv)


def test_missing_columns_and_files(tmp_path):
    csv = write_dataset(tmp_path / "mine", ["audio/a.wav,train"], header="path,split")
    with pytest.raises(CorpusError, match=rf"^{csv}: missing required columns: label$"):
        manifest_from_csv(csv)
    with pytest.raises(CorpusError, match=r"nope.csv: protocol CSV not found$"):
        manifest_from_csv(tmp_path / "nope.csv")
    empty = write_dataset(tmp_path / "empty", [])
    with pytest.raises(CorpusError, match=rf"^{empty}: lists no files$"):
        manifest_from_csv(empty)


def _symlink(audio, name):
    os.symlink(audio / "a.wav", audio / name)


def _hard_link(audio, name):
    os.link(audio / "a.wav", audio / name)


def _copy(audio, name):
    shutil.copyfile(audio / "a.wav", audio / name)


@pytest.mark.parametrize("make", [_symlink, _hard_link, _copy], ids=["symlink", "hard link", "copy"])
def test_the_same_audio_in_two_splits_is_refused(tmp_path, make):
    csv = write_dataset(tmp_path / "mine", GOOD_ROWS + ["audio/alias.wav,spoof,eval,s3"])
    make(tmp_path / "mine" / "audio", "alias.wav")
    with pytest.raises(
        CorpusError,
        match=rf"^{csv}: the same audio in two splits \(train and eval\) \(2\): "
        r"line 2: 'audio/a.wav', line 8: 'audio/alias.wav'$",
    ):
        manifest_from_csv(csv)


def test_a_linked_folder_is_seen_through(tmp_path):
    csv = write_dataset(tmp_path / "mine", GOOD_ROWS + ["held_out/a.wav,bonafide,dev,s2"])
    os.symlink(tmp_path / "mine" / "audio", tmp_path / "mine" / "held_out", target_is_directory=True)
    with pytest.raises(
        CorpusError,
        match=rf"^{csv}: the same audio in two splits \(train and dev\) \(2\): "
        r"line 2: 'audio/a.wav', line 8: 'held_out/a.wav'$",
    ):
        manifest_from_csv(csv)


def test_the_same_audio_in_three_splits_and_in_one_split(tmp_path):
    audio = tmp_path / "mine" / "audio"
    csv = write_dataset(
        tmp_path / "mine", GOOD_ROWS + ["audio/x.wav,spoof,dev,s2", "audio/y.wav,spoof,eval,s3"]
    )
    _symlink(audio, "x.wav")
    _copy(audio, "y.wav")
    with pytest.raises(
        CorpusError,
        match=r": the same audio in three splits \(train, dev and eval\) \(3\): "
        r"line 2: 'audio/a.wav', line 8: 'audio/x.wav', line 9: 'audio/y.wav'$",
    ):
        manifest_from_csv(csv)
    csv = write_dataset(tmp_path / "mine", GOOD_ROWS + ["audio/x.wav,spoof,train,s1"])
    with pytest.raises(
        CorpusError,
        match=rf"^{csv}: the same audio more than once in one split \(train\) \(2\): "
        r"line 2: 'audio/a.wav', line 8: 'audio/x.wav'$",
    ):
        manifest_from_csv(csv)


def test_leakage_across_splits_is_reported_first_and_group_by_group(tmp_path):
    audio = tmp_path / "mine" / "audio"
    csv = write_dataset(
        tmp_path / "mine",
        GOOD_ROWS + ["audio/x.wav,spoof,train,s1", "audio/y.wav,spoof,eval,s3", "audio/z.wav,spoof,eval,s3"],
    )
    _copy(audio, "x.wav")  # same split as a.wav: reported after the leaks
    shutil.copyfile(audio / "b.flac", audio / "y.wav")  # b.flac's bytes under another name: train and eval
    _hard_link(audio, "z.wav")  # a.wav (and x.wav) in train, z.wav in eval
    with pytest.raises(
        CorpusError,
        match=r": the same audio in two splits \(train and eval\) \(5\): "
        r"line 2: 'audio/a.wav', line 8: 'audio/x.wav', line 10: 'audio/z.wav', "
        r"line 3: 'audio/b.flac', line 9: 'audio/y.wav'$",
    ):
        manifest_from_csv(csv)


def test_different_files_of_the_same_size_are_accepted_and_only_they_are_read(tmp_path, monkeypatch):
    csv = write_dataset(tmp_path / "mine", GOOD_ROWS + ["audio/g.wav,spoof,eval,s3"])
    audio = tmp_path / "mine" / "audio"
    sf.write(audio / "g.wav", tone(440, seconds=1.0, sample_rate=16000), 16000, subtype="PCM_16")
    assert (audio / "g.wav").stat().st_size == (audio / "a.wav").stat().st_size
    assert (audio / "g.wav").read_bytes() != (audio / "a.wav").read_bytes()
    hashed = []
    monkeypatch.setattr(
        custom, "_sha256", lambda path, real=custom._sha256: hashed.append(path) or real(path)
    )
    assert len(manifest_from_csv(csv)) == 7
    assert sorted(hashed) == [os.path.realpath(audio / "a.wav"), os.path.realpath(audio / "g.wav")]
