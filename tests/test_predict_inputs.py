"""`deepfake-audio predict` on hostile input: every input one row or one `error:` line, never a
traceback; exit statuses that tell "refused" from "could not run" from "a bug"."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from helpers import SAMPLE_RATE, run_predict, speech_like

from deepfake_audio import Detector
from deepfake_audio.predict import printable

NO_SOUND = (
    "no sound to score: nothing of 60 ms or longer above -70 dBFS (silence, clicks, a DC offset or a "
    "near-zero signal)"
)


def write(path, signal=None, rate=SAMPLE_RATE, **kwargs):
    sf.write(path, speech_like() if signal is None else signal, rate, **kwargs)
    return path


def vorbis_with_a_corrupt_page(folder):
    """An OGG Vorbis file with one byte of its body zeroed: libsndfile skips thousands of frames
    there and, read in large blocks, reports the full announced length (the fuzzed failure)."""
    rng = np.random.default_rng(1)
    signal = (
        0.3 * np.sin(np.arange(48000) / SAMPLE_RATE * 2 * np.pi * 220) + 0.05 * rng.standard_normal(48000)
    ).astype(np.float32)
    path = write(folder / "corrupt.ogg", signal, format="OGG", subtype="VORBIS")
    data = bytearray(path.read_bytes())
    data[7686] = 0
    path.write_bytes(bytes(data))
    return path


# --------------------------------------------------------------------------- exit statuses


def test_all_scored_is_0_some_refused_is_1(tmp_path, capsys, models_dir):
    good = write(tmp_path / "good.wav")
    assert run_predict(capsys, good, "--model", "svc", "--models-dir", models_dir)[0] == 0
    status, out, errors = run_predict(
        capsys, good, tmp_path / "absent.wav", "--model", "svc", "--models-dir", models_dir
    )
    assert status == 1 and errors == [f"error: {tmp_path / 'absent.wav'}: no such file or folder"]
    assert len(out.splitlines()) == 2  # header and the good file


def test_bad_models_or_options_are_2_and_score_nothing(tmp_path, capsys, models_dir):
    good = write(tmp_path / "good.wav")
    status, out, errors = run_predict(capsys, good, "--models-dir", tmp_path / "nowhere")
    assert status == 2 and out == "" and len(errors) == 1
    status, out, errors = run_predict(capsys, good, "--models-dir", good)
    assert (status, out, errors) == (2, "", [f"error: --models-dir {good}: not a folder"])
    status, out, errors = run_predict(capsys, good, "--window", "0.1", "--models-dir", models_dir)
    assert (status, errors) == (
        2,
        ["error: the window (0.1 s) must be at least the model's minimum duration (0.5 s) and at most 600 s"],
    )
    status, _, errors = run_predict(capsys, good, "--explain", good, "--models-dir", models_dir)
    assert (status, errors) == (2, [f"error: --explain {good}: not a folder"])


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--window", "inf", "argument --window: expected a positive number of seconds, got 'inf'"),
        ("--window", "nan", "argument --window: expected a positive number of seconds, got 'nan'"),
        ("--threshold", "nan", "argument --threshold: expected dev-eer or a finite number, got 'nan'"),
        ("--threshold", "-inf", "argument --threshold: expected dev-eer or a finite number, got '-inf'"),
    ],
)
def test_non_finite_options_are_usage_errors(capsys, option, value, message):
    from deepfake_audio.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["predict", "x.wav", f"{option}={value}"])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_an_unexpected_failure_names_the_file_scores_the_rest_and_is_3(
    tmp_path, capsys, models_dir, monkeypatch
):
    first, second = write(tmp_path / "a.wav"), write(tmp_path / "b.wav", speech_like(seed=1))
    score = Detector.score

    def fails_on_a(self, path, threshold=None, **options):
        if path.name == "a.wav":
            raise ValueError("Input must be finite")
        return score(self, path, threshold, **options)

    monkeypatch.setattr(Detector, "score", fails_on_a)
    status, out, errors = run_predict(
        capsys, first, second, "--format", "csv", "--model", "svc", "--models-dir", models_dir
    )
    assert status == 3
    assert errors == [
        f"error: {first}: internal error while scoring (ValueError: Input must be finite); please report it"
    ]
    assert pd.read_csv(pd.io.common.StringIO(out))["path"].tolist() == [str(second)]


# --------------------------------------------------------------------------- audio the decoder reads


@pytest.mark.parametrize("subtype", ["GSM610", "IMA_ADPCM", "MS_ADPCM", "G721_32", "ULAW", "ALAW"])
def test_telephone_codec_wavs_are_scored(tmp_path, models_dir, subtype):
    path = write(tmp_path / "call.wav", speech_like(2.0), subtype=subtype)
    prediction = Detector.load(models_dir, "svc").score(path)
    assert np.isfinite(prediction.score) and prediction.duration_s == pytest.approx(2.0, abs=0.05)


def test_a_codec_wav_among_good_ones_leaves_every_row(tmp_path, capsys, models_dir):
    for index in range(3):
        write(tmp_path / f"good{index}.wav", speech_like(seed=index))
    write(tmp_path / "gsm.wav", speech_like(2.0), subtype="GSM610")
    status, out, errors = run_predict(
        capsys, tmp_path, "--format", "csv", "--model", "svc", "--models-dir", models_dir
    )
    assert status == 0 and errors == [] and len(pd.read_csv(pd.io.common.StringIO(out))) == 4


def test_huge_finite_samples_are_refused_by_name(tmp_path, capsys, models_dir):
    rng = np.random.default_rng(0)
    huge = write(tmp_path / "x.wav", (rng.standard_normal(32000) * 1e20).astype(np.float32), subtype="FLOAT")
    good = write(tmp_path / "y.wav")
    status, out, errors = run_predict(
        capsys, tmp_path, "--format", "csv", "--model", "svc", "--models-dir", models_dir
    )
    assert status == 1
    assert len(errors) == 1 and errors[0].startswith(
        f"error: {huge}: absurd amplitude: a sample of magnitude "
    )
    assert errors[0].endswith("e+20 (audio is expected within ±1, at most ±1000)")
    assert pd.read_csv(pd.io.common.StringIO(out))["path"].tolist() == [str(good)]


def test_a_corrupt_vorbis_file_is_refused_the_same_way_every_time(tmp_path, capsys, models_dir):
    path = vorbis_with_a_corrupt_page(tmp_path)
    results = [run_predict(capsys, path, "--model", "svc", "--models-dir", models_dir) for _ in range(3)]
    assert results[0] == results[1] == results[2]
    status, out, errors = results[0]
    assert status == 1 and out == ""
    assert errors == [f"error: {path}: corrupt: 13952 frames near 0.00 s could not be decoded"]


def test_a_header_claiming_1_hz_is_refused(tmp_path, capsys, models_dir):
    path = write(tmp_path / "slow.wav", np.full(6000, 0.1, dtype=np.float32), rate=1, subtype="PCM_16")
    status, _, errors = run_predict(capsys, path, "--model", "svc", "--models-dir", models_dir)
    assert (status, errors) == (
        1,
        [f"error: {path}: implausible sample rate 1 Hz (expected 4000-384000 Hz): corrupt header?"],
    )


def test_too_short_says_how_short_in_samples(tmp_path, capsys, models_dir):
    path = write(tmp_path / "short.wav", speech_like(0.5)[:7999], subtype="PCM_16")
    _, _, errors = run_predict(capsys, path, "--model", "svc", "--models-dir", models_dir)
    assert errors == [
        f"error: {path}: too short: 7999 samples at 16000 Hz (0.4999 s), under the minimum of 0.5 s"
    ]


# --------------------------------------------------------------------------- no sound


def no_sound_files(folder):
    silence_with_click = np.zeros(10 * SAMPLE_RATE, dtype=np.float32)
    silence_with_click[5000:5010] = 0.8
    impulse = np.zeros(SAMPLE_RATE, dtype=np.float32)
    impulse[1000] = 0.9
    one_bit = np.random.default_rng(0).integers(0, 2, SAMPLE_RATE) / 32768
    return {
        "dc.wav": write(folder / "dc.wav", np.full(SAMPLE_RATE, 0.5, dtype=np.float32), subtype="FLOAT"),
        "impulse.wav": write(folder / "impulse.wav", impulse, subtype="FLOAT"),
        "one_bit.wav": write(folder / "one_bit.wav", one_bit.astype(np.float32), subtype="PCM_16"),
        "click.wav": write(folder / "click.wav", silence_with_click, subtype="PCM_16"),
    }


@pytest.mark.parametrize("model", ["svc", "cnn"])
def test_input_with_nothing_to_hear_is_refused_not_called_bona_fide(tmp_path, capsys, models_dir, model):
    files = no_sound_files(tmp_path)
    status, out, errors = run_predict(capsys, tmp_path, "--model", model, "--models-dir", models_dir)
    assert status == 1 and out == ""
    assert sorted(errors) == sorted(f"error: {path}: {NO_SOUND}" for path in files.values())


# --------------------------------------------------------------------------- names and the folder scan


def test_names_cannot_forge_lines_or_break_the_output(tmp_path, capsys, models_dir):
    folder = os.fsencode(tmp_path)
    undecodable = os.path.join(folder, b"bad\xff\xfe.wav")
    sf.write(undecodable, speech_like(), SAMPLE_RATE, subtype="PCM_16")
    forged = write(tmp_path / "a.wav\nerror: b.wav: forged.wav")
    status, out, errors = run_predict(capsys, tmp_path, "--model", "svc", "--models-dir", models_dir)
    assert status == 0 and errors == []
    rows = out.splitlines()
    assert len(rows) == 3
    assert rows[1].startswith(f"{tmp_path}/a.wav\\nerror: b.wav: forged.wav  ")
    assert rows[2].startswith(f"{tmp_path}/bad\\xff\\xfe.wav  ")
    status, out, _ = run_predict(
        capsys, tmp_path, "--format", "csv", "--model", "svc", "--models-dir", models_dir
    )
    assert pd.read_csv(pd.io.common.StringIO(out))["path"].tolist() == [
        f"{tmp_path}/a.wav\\nerror: b.wav: forged.wav",
        f"{tmp_path}/bad\\xff\\xfe.wav",
    ]
    status, out, _ = run_predict(
        capsys, tmp_path, "--format", "json", "--model", "svc", "--models-dir", models_dir
    )
    assert [row["path"] for row in json.loads(out)] == [str(forged), f"{tmp_path}/bad\\xff\\xfe.wav"]


def test_a_bad_file_with_a_newline_in_its_name_stays_one_error_line(tmp_path, capsys, models_dir):
    path = tmp_path / "x\n.wav"
    path.write_bytes(b"not audio at all, but long enough to be read as something" * 4)
    status, _, errors = run_predict(capsys, path, "--model", "svc", "--models-dir", models_dir)
    err = errors[0]
    assert (
        status == 1
        and len(errors) == 1
        and err.startswith(f"error: {tmp_path}/x\\n.wav: cannot read audio: ")
    )


def test_a_carriage_return_in_a_name_cannot_split_a_csv_row(tmp_path, capsys, models_dir):
    write(tmp_path / "cr\rname.wav")
    status, out, _ = run_predict(
        capsys, tmp_path, "--format", "csv", "--model", "svc", "--models-dir", models_dir
    )
    assert status == 0 and out.splitlines()[1].startswith(f"{tmp_path}/cr\\rname.wav,svc,")


def test_printable_escapes_controls_and_undecodable_bytes():
    assert printable("a\tb\x1b[2J\u2028c") == "a\\tb\\x1b[2J\\u2028c"
    assert printable("evil\u202egnp.wav") == "evil\\u202egnp.wav"  # a right-to-left override
    assert printable("a\\nb.wav") == "a\\\\nb.wav"  # a literal backslash-n is not a newline
    assert printable(os.fsdecode(b"caf\xe9.wav")) == "caf\\xe9.wav"
    assert printable("naïve\n.wav", controls=False) == "naïve\n.wav"
    assert printable(os.fsdecode(b"caf\xe9\\.wav"), controls=False) == "caf\\xe9\\.wav"


def test_the_scan_names_what_it_cannot_read_and_notes_what_it_skips(tmp_path, capsys, models_dir):
    folder = tmp_path / "in"
    (folder / "sub.wav").mkdir(parents=True)  # a folder with an audio-like name is searched, not scored
    write(folder / "sub.wav" / "good.wav")
    write(folder / "matlab.mat", format="MAT5", subtype="DOUBLE")
    os.mkfifo(folder / "pipe.wav")
    os.symlink("/dev/zero", folder / "zero.wav")
    os.symlink(folder / "gone.wav", folder / "dangling.wav")
    status, out, errors = run_predict(
        capsys, folder, "--format", "csv", "--model", "svc", "--models-dir", models_dir
    )
    assert status == 1
    assert pd.read_csv(pd.io.common.StringIO(out))["path"].tolist() == [
        str(folder / "matlab.mat"),
        str(folder / "sub.wav" / "good.wav"),
    ]
    assert sorted(errors) == [
        f"error: {folder}/dangling.wav: broken symbolic link",
        f"error: {folder}/pipe.wav: not a regular file (a FIFO)",
        f"error: {folder}/zero.wav: not a regular file (a character device)",
    ]


def test_the_scan_note_on_skipped_files(tmp_path, capsys, models_dir):
    from deepfake_audio.cli import main

    write(tmp_path / "good.wav")
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / "README").write_text("not audio")
    assert main(["predict", str(tmp_path), "--model", "svc", "--models-dir", str(models_dir)]) == 0
    assert (
        f"note: {tmp_path}: skipped 2 files without an audio extension ((none), .txt)"
        in capsys.readouterr().err
    )


def test_a_fifo_named_directly_is_not_opened(tmp_path, capsys, models_dir):
    os.mkfifo(tmp_path / "pipe.wav")
    status, _, errors = run_predict(
        capsys, tmp_path / "pipe.wav", "--model", "svc", "--models-dir", models_dir
    )
    assert (status, errors) == (1, [f"error: {tmp_path}/pipe.wav: not a regular file (a FIFO)"])


def test_an_empty_folder_is_an_error_not_an_empty_result(tmp_path, capsys, models_dir):
    (tmp_path / "empty").mkdir()
    status, out, errors = run_predict(
        capsys, tmp_path / "empty", "--format", "json", "--model", "svc", "--models-dir", models_dir
    )
    assert (status, errors) == (1, [f"error: {tmp_path}/empty: no audio files in this folder"])
    assert json.loads(out) == []


def test_explain_images_of_files_with_the_same_name_do_not_overwrite(tmp_path, capsys, models_dir):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        write(tmp_path / folder / "call.wav", speech_like(seed=len(folder)))
    status, _, _ = run_predict(
        capsys, tmp_path / "a", tmp_path / "b", "--explain", tmp_path / "maps", "--models-dir", models_dir
    )
    assert status == 0
    assert sorted(path.name for path in (tmp_path / "maps").iterdir()) == ["call.wav-2.png", "call.wav.png"]


def test_the_same_file_twice_with_explain_gets_two_images(tmp_path, capsys, models_dir):
    path = write(tmp_path / "call.wav")
    status, _, _ = run_predict(capsys, path, path, "--explain", tmp_path / "maps", "--models-dir", models_dir)
    assert status == 0
    assert sorted(image.name for image in (tmp_path / "maps").iterdir()) == ["call.wav-2.png", "call.wav.png"]


def test_a_run_that_stops_names_every_file_left_and_keeps_the_scores(
    tmp_path, capsys, models_dir, monkeypatch
):
    from deepfake_audio import predict as command
    from deepfake_audio.errors import InputError

    files = [write(tmp_path / f"{name}.wav", speech_like(seed=seed)) for seed, name in enumerate("abc")]
    score_all = command._score_all

    def stops_after_one(found, detector, args):
        yield next(score_all(found, detector, args))
        raise InputError("tcp://scheduler:8786: the cluster went away")

    monkeypatch.setattr(command, "_score_all", stops_after_one)
    status, out, errors = run_predict(
        capsys, tmp_path, "--format", "csv", "--model", "svc", "--models-dir", models_dir
    )
    assert status == 2
    assert pd.read_csv(pd.io.common.StringIO(out))["path"].tolist() == [str(files[0])]
    assert errors == [
        f"error: {path}: not scored: the run stopped: InputError: tcp://scheduler:8786: the cluster went away"
        for path in files[1:]
    ]


def test_silent_windows_of_a_long_file_are_left_out_of_its_score(tmp_path, models_dir):
    gap = np.zeros(SAMPLE_RATE, dtype=np.float32)
    path = write(tmp_path / "gaps.wav", np.concatenate([speech_like(), gap, speech_like(seed=1), gap]))
    prediction = Detector.load(models_dir, "svc", window_s=1.0).score(path)
    assert (prediction.windows, prediction.duration_s) == (2, 4.0)


def test_names_too_long_for_the_system_or_for_libsndfile(tmp_path, capsys, models_dir):
    too_long = tmp_path / ("x" * 300 + ".wav")
    status, _, errors = run_predict(capsys, too_long, "--model", "svc", "--models-dir", models_dir)
    assert (status, errors) == (1, [f"error: {too_long}: cannot open: File name too long"])
    deep = tmp_path.joinpath(*["d" * 200] * 6)  # a path over libsndfile's 1,024 bytes
    deep.mkdir(parents=True)
    os.rename(write(tmp_path / "ok.wav"), deep / "ok.wav")  # libsndfile could not write it there either
    status, out, _ = run_predict(capsys, deep / "ok.wav", "--model", "svc", "--models-dir", models_dir)
    assert status == 0 and len(out.splitlines()) == 2


def test_linked_folders_are_noted_not_followed(tmp_path, capsys, models_dir):
    from deepfake_audio.cli import main

    (tmp_path / "real").mkdir()
    write(tmp_path / "real" / "a.wav")
    (tmp_path / "scan").mkdir()
    write(tmp_path / "scan" / "b.wav")
    os.symlink(tmp_path / "real", tmp_path / "scan" / "elsewhere")
    assert main(["predict", str(tmp_path / "scan"), "--model", "svc", "--models-dir", str(models_dir)]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2
    assert (
        f"note: {tmp_path}/scan: did not follow 1 linked folder (elsewhere); name them to score them" in err
    )
