"""`deepfake-audio predict` and the Detector: robust input, safe model files, output formats."""

import json
import shutil

import keras
import numpy as np
import pandas as pd
import pytest
import skops.io
import soundfile as sf
from helpers import PROJECT, SAMPLE_RATE, dev_fit, run_predict, speech_like

from deepfake_audio import Detector
from deepfake_audio.cli import main
from deepfake_audio.errors import InputError
from deepfake_audio.models import cnn, svc
from deepfake_audio.models.card import CARD_MEMBER, attach_card, make_card
from deepfake_audio.models.files import read_card
from deepfake_audio.params import load_params
from deepfake_audio.predict import CALIBRATED_FIELDS, DEFAULT_PRIOR, FIELDS

PARAMS = load_params(PROJECT / "params.yaml")


predict = run_predict


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_every_pcm_width_and_float_is_scored(tmp_path, models_dir, subtype):
    sf.write(tmp_path / "a.wav", speech_like(), SAMPLE_RATE, subtype=subtype)
    prediction = Detector.load(models_dir, "svc").score(tmp_path / "a.wav")
    assert np.isfinite(prediction.score) and prediction.windows == 1 and prediction.duration_s == 1.0


def test_lossless_formats_and_identical_channels_score_the_same(tmp_path, models_dir):
    signal = speech_like()
    sf.write(tmp_path / "mono.wav", signal, SAMPLE_RATE, subtype="FLOAT")
    sf.write(tmp_path / "mono.flac", signal, SAMPLE_RATE, subtype="PCM_24")
    sf.write(tmp_path / "mono24.wav", signal, SAMPLE_RATE, subtype="PCM_24")
    sf.write(tmp_path / "stereo.wav", np.stack([signal, signal], axis=1), SAMPLE_RATE, subtype="FLOAT")
    detector = Detector.load(models_dir, "fusion")
    assert detector.score(tmp_path / "mono.wav").score == detector.score(tmp_path / "stereo.wav").score
    assert detector.score(tmp_path / "mono.flac").score == detector.score(tmp_path / "mono24.wav").score


def test_other_sample_rates_are_resampled(tmp_path, models_dir):
    import librosa

    signal = speech_like(2.0)
    sf.write(tmp_path / "16k.wav", signal, SAMPLE_RATE, subtype="FLOAT")
    sf.write(
        tmp_path / "44k.wav",
        librosa.resample(signal, orig_sr=SAMPLE_RATE, target_sr=44100),
        44100,
        subtype="FLOAT",
    )
    detector = Detector.load(models_dir, "svc")
    at_16k, at_44k = detector.score(tmp_path / "16k.wav"), detector.score(tmp_path / "44k.wav")
    assert at_44k.duration_s == pytest.approx(2.0, abs=1e-3)
    assert at_44k.score == pytest.approx(at_16k.score, abs=0.05)


def test_long_files_are_scored_in_windows(tmp_path, models_dir):
    sf.write(tmp_path / "long.wav", speech_like(7.3), SAMPLE_RATE, subtype="PCM_16")
    # 3 s windows: 3 + 3, and the 1.3 s left is long enough to count.
    prediction = Detector.load(models_dir, "cnn", window_s=3.0).score(tmp_path / "long.wav")
    assert prediction.windows == 3 and prediction.duration_s == 7.3
    assert Detector.load(models_dir, "cnn", window_s=30.0).score(tmp_path / "long.wav").windows == 1


# --------------------------------------------------------------------------- bad input

BAD_FILES = {
    "empty.wav": ("bytes", b"", "file is empty (0 bytes)"),
    "notes.wav": (
        "bytes",
        b"these are not audio samples\n" * 10,
        "cannot read audio: Format not recognised.",
    ),
    "short.wav": (
        "audio",
        np.full(800, 0.1, dtype=np.float32),
        "too short: 800 samples at 16000 Hz (0.05 s), under the minimum of 0.5 s",
    ),
    "silent.wav": ("audio", np.zeros(SAMPLE_RATE, dtype=np.float32), "silent: every sample is zero"),
    "nan.wav": ("audio", np.full(SAMPLE_RATE, np.nan, dtype=np.float32), "audio contains NaN or Inf samples"),
    "inf.wav": (
        "audio",
        np.r_[np.zeros(8000), np.inf, np.zeros(8000)].astype(np.float32),
        "audio contains NaN or Inf samples",
    ),
    "cut.wav": (
        "truncated",
        None,
        "truncated: the header announces 32000 bytes of audio, the file holds 15978",
    ),
}


def write_bad(folder, name):
    kind, content, _ = BAD_FILES[name]
    path = folder / name
    if kind == "bytes":
        path.write_bytes(content)
    elif kind == "audio":
        sf.write(path, content, SAMPLE_RATE, subtype="FLOAT")
    else:
        sf.write(path, speech_like(), SAMPLE_RATE, subtype="PCM_16")
        path.write_bytes(path.read_bytes()[:16022])
    return path


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_each_bad_file_gets_one_line_naming_it_and_the_reason(tmp_path, capsys, models_dir, name):
    path = write_bad(tmp_path, name)
    status, out, errors = predict(capsys, path, "--models-dir", models_dir)
    assert status == 1
    assert errors == [f"error: {path}: {BAD_FILES[name][2].format(path=path)}"]
    assert out == ""


def test_a_folder_of_good_and_bad_files_scores_the_good_ones(tmp_path, capsys, models_dir):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    for name in BAD_FILES:
        write_bad(folder, name)
    sf.write(folder / "good.wav", speech_like(), SAMPLE_RATE, subtype="PCM_16")
    sf.write(folder / "sub" / "good.flac", speech_like(1.5, seed=1), SAMPLE_RATE, subtype="PCM_16")
    (folder / "readme.txt").write_text("not audio, and not picked up: not an audio extension")
    status, out, errors = predict(
        capsys, folder, tmp_path / "absent.wav", "--format", "csv", "--models-dir", models_dir
    )
    assert status == 1
    scored = pd.read_csv(pd.io.common.StringIO(out))
    assert scored["path"].tolist() == [str(folder / "good.wav"), str(folder / "sub" / "good.flac")]
    assert len(errors) == len(BAD_FILES) + 1
    assert f"error: {tmp_path / 'absent.wav'}: no such file or folder" in errors


# --------------------------------------------------------------------------- output


def test_json_output_has_the_documented_fields(tmp_path, capsys, models_dir):
    for index in range(2):
        sf.write(tmp_path / f"f{index}.wav", speech_like(seed=index), SAMPLE_RATE, subtype="PCM_16")
    status, out, errors = predict(
        capsys, tmp_path, "--format", "json", "--model", "fusion", "--models-dir", models_dir
    )
    assert status == 0 and errors == []
    rows = json.loads(out)
    assert [list(row) for row in rows] == [list(FIELDS)] * 2
    for row in rows:
        assert row["model"] == "fusion" and row["threshold"] == 0.0 and row["windows"] == 1
        assert row["decision"] == ("spoof" if row["score"] <= row["threshold"] else "bonafide")


def test_table_output_and_a_numeric_threshold(tmp_path, capsys, models_dir):
    sf.write(tmp_path / "a.wav", speech_like(), SAMPLE_RATE, subtype="PCM_16")
    score = Detector.load(models_dir, "svc").score(tmp_path / "a.wav").score
    for threshold, decision in ((score - 1, "bonafide"), (score, "spoof")):
        status, out, _ = predict(
            capsys, tmp_path / "a.wav", "--model", "svc", "--threshold", threshold, "--models-dir", models_dir
        )
        header, row = out.splitlines()
        assert status == 0 and header.split() == list(FIELDS)
        assert row.split()[:5] == [
            str(tmp_path / "a.wav"),
            "svc",
            str(score),
            str(float(threshold)),
            decision,
        ]


@pytest.mark.parametrize("model", ["svc", "cnn", "gmm", "fusion"])
def test_calibrated_json_adds_the_llr_the_prior_and_the_probability(tmp_path, capsys, models_dir, model):
    from scipy.special import expit

    sf.write(tmp_path / "a.wav", speech_like(), SAMPLE_RATE, subtype="PCM_16")
    status, out, errors = predict(
        capsys,
        tmp_path / "a.wav",
        "--calibrated",
        "--format",
        "json",
        "--model",
        model,
        "--models-dir",
        models_dir,
    )
    assert status == 0 and errors == []
    (row,) = json.loads(out)
    assert list(row) == [*FIELDS, *CALIBRATED_FIELDS]
    # The fixture's cards take the score as the LLR (slope 1, offset 0); the prior is 0.5 by default.
    assert row["llr"] == row["score"] and row["prior_bonafide"] == DEFAULT_PRIOR == 0.5
    assert row["p_bonafide"] == round(float(expit(row["llr"])), 6)


def test_calibrated_csv_and_table_apply_the_cards_calibration_under_the_prior_given(
    tmp_path, capsys, models_dir
):
    from dataclasses import replace

    folder = tmp_path / "calibrated"
    shutil.copytree(models_dir, folder)
    card = replace(read_card(models_dir / svc.MODEL_FILE), calibration={"slope": 2.0, "offset": -1.0})
    svc.save_svc(svc.load_svc(models_dir / svc.MODEL_FILE), folder / svc.MODEL_FILE, card)
    sf.write(tmp_path / "a.wav", speech_like(), SAMPLE_RATE, subtype="PCM_16")
    detector = Detector.load(folder, "svc")
    plain = detector.score(tmp_path / "a.wav")
    assert plain.calibrated is None and list(plain.as_dict()) == list(FIELDS)
    prediction = detector.score(tmp_path / "a.wav", prior=0.9)
    llr = round(2.0 * prediction.score - 1.0, 6)
    odds = np.exp(llr) * 9  # likelihood ratio times the prior odds 0.9 / 0.1
    assert prediction.calibrated.llr == pytest.approx(llr, abs=1e-12)
    assert prediction.calibrated.prior_bonafide == 0.9
    assert prediction.calibrated.p_bonafide == pytest.approx(odds / (1 + odds), abs=1e-6)
    assert prediction.decision == plain.decision  # the threshold decides, not the prior
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        detector.score(tmp_path / "a.wav", prior=1.0)

    common = (tmp_path / "a.wav", "--model", "svc", "--models-dir", folder, "--calibrated", "--prior", "0.9")
    status, out, _ = predict(capsys, *common, "--format", "csv")
    (row,) = pd.read_csv(pd.io.common.StringIO(out)).to_dict("records")
    assert status == 0 and list(row) == [*FIELDS, *CALIBRATED_FIELDS]
    assert (row["llr"], row["prior_bonafide"], row["p_bonafide"]) == (
        prediction.calibrated.llr,
        0.9,
        prediction.calibrated.p_bonafide,
    )
    status, out, _ = predict(capsys, *common)
    header, line = out.splitlines()
    assert status == 0 and header.split() == [*FIELDS, *CALIBRATED_FIELDS]
    assert line.split()[-3:] == [str(prediction.calibrated.llr), "0.9", str(prediction.calibrated.p_bonafide)]


def test_calibrated_output_with_explain_and_on_a_cluster_worker(tmp_path, capsys, models_dir):
    from deepfake_audio.predict import score_files

    sf.write(tmp_path / "a.wav", speech_like(), SAMPLE_RATE, subtype="PCM_16")
    status, out, _ = predict(
        capsys, tmp_path / "a.wav", "--explain", tmp_path / "maps", "--calibrated", "--prior", "0.2",
        "--format", "json", "--models-dir", models_dir,
    )  # fmt: skip
    (row,) = json.loads(out)
    assert status == 0 and (tmp_path / "maps" / "a.wav.png").is_file()
    assert list(row) == [*FIELDS, *CALIBRATED_FIELDS] and row["prior_bonafide"] == 0.2
    # the task a Dask worker runs (predict --scheduler) carries the prior too
    (outcome,) = score_files(
        [str(tmp_path / "a.wav")],
        models_dir=str(models_dir),
        model="cnn",
        window_s=30.0,
        threshold=None,
        prior=0.2,
    )
    assert outcome.prediction.as_dict() == {**row, "path": str(tmp_path / "a.wav")}


@pytest.mark.parametrize("value", ["0", "1", "1.5", "-0.2", "nan", "half"])
def test_a_prior_outside_zero_to_one_is_refused_by_the_parser(capsys, value):
    with pytest.raises(SystemExit) as stop:
        main(["predict", "x.wav", "--calibrated", "--prior", value])
    assert stop.value.code == 2
    assert (
        "argument --prior: expected the prior probability of bona fide, a number strictly between 0 and 1, "
        f"got {value!r}"
    ) in capsys.readouterr().err


def test_a_prior_without_calibrated_output_is_refused(tmp_path, capsys, models_dir):
    sf.write(tmp_path / "a.wav", speech_like(), SAMPLE_RATE, subtype="PCM_16")
    status, out, errors = predict(capsys, tmp_path / "a.wav", "--prior", "0.3", "--models-dir", models_dir)
    assert status == 2 and out == ""
    assert errors == ["error: --prior is the prior of the --calibrated output; add --calibrated"]


def test_bad_options_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["predict", "x.wav", "--threshold", "high"])
    assert stop.value.code == 2
    assert "argument --threshold: expected dev-eer or a finite number, got 'high'" in capsys.readouterr().err


def test_help_describes_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = capsys.readouterr().out
    for option in (
        "--model",
        "--format",
        "--threshold",
        "--models-dir",
        "--window",
        "--explain",
        "--calibrated",
        "--prior",
        "FILE_OR_DIR",
    ):
        assert option in text
    # the prior --calibrated takes without --prior, however argparse wraps the lines
    assert f"(default: {DEFAULT_PRIOR})" in " ".join(text.split())


def test_explain_writes_a_gradcam_image_per_file(tmp_path, capsys, models_dir):
    for index in range(2):
        sf.write(tmp_path / f"f{index}.wav", speech_like(seed=index), SAMPLE_RATE, subtype="PCM_16")
    status, _, _ = predict(
        capsys,
        tmp_path / "f0.wav",
        tmp_path / "f1.wav",
        "--explain",
        tmp_path / "maps",
        "--models-dir",
        models_dir,
    )
    assert status == 0
    assert sorted(path.name for path in (tmp_path / "maps").iterdir()) == ["f0.wav.png", "f1.wav.png"]
    status, _, errors = predict(
        capsys,
        tmp_path / "f0.wav",
        "--model",
        "svc",
        "--explain",
        tmp_path / "maps",
        "--models-dir",
        models_dir,
    )
    assert status == 2
    assert errors == ["error: --explain draws Grad-CAM maps of the CNN; use --model cnn or fusion"]


# --------------------------------------------------------------------------- model files


def test_model_files_carry_their_card(models_dir):
    card = read_card(models_dir / svc.MODEL_FILE)
    assert card.model == "svc" and card.sample_rate == 16000 and card.min_duration_s == 0.5
    assert card.features_params == PARAMS.features
    assert card.trained_with["train_svc"]["C"] == PARAMS.train_svc.C
    assert {"python", "numpy", "scikit-learn", "skops", "librosa", "keras"} <= set(card.versions)
    assert card.versions["numpy"] == np.__version__


@pytest.mark.parametrize("where", ["card", "features"])  # audit.retrain's models; features.trim
def test_a_card_with_trim_settings_makes_the_detector_cut_files_to_their_speech(tmp_path, models_dir, where):
    from dataclasses import replace

    from deepfake_audio.params import VadParams
    from deepfake_audio.speech import Vad

    folder = tmp_path / "trimmed"
    shutil.copytree(models_dir, folder)
    model = svc.load_svc(models_dir / svc.MODEL_FILE)
    card = read_card(models_dir / svc.MODEL_FILE)
    vad = VadParams().model_dump(mode="json")
    card = (
        replace(card, trim=vad) if where == "card" else replace(card, features={**card.features, "trim": vad})
    )
    svc.save_svc(model, folder / svc.MODEL_FILE, card)
    speech = speech_like()
    padded = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(6000, np.float32)])
    trimming, plain = Detector.load(folder, "svc"), Detector.load(models_dir, "svc")
    features = PARAMS.features
    cut = Vad(VadParams(), SAMPLE_RATE, features.win_length, features.hop_length).trim(padded)
    assert abs(cut.size - speech.size) <= 2 * features.win_length  # the silences go, within a frame each
    np.testing.assert_array_equal(trimming.analyse(padded).features, plain.analyse(cut).features)
    assert not np.allclose(plain.analyse(padded).features, plain.analyse(cut).features)
    if where == "features":
        return

    svc.save_svc(model, folder / svc.MODEL_FILE, replace(card, trim={"top_db": -3.0}))
    with pytest.raises(
        InputError,
        match=r"/svc.skops: malformed model card: trim.top_db: Input should be greater "
        r"than 0$",
    ):
        Detector.load(folder, "svc")


def test_a_model_file_with_an_untrusted_type_is_refused_not_run(tmp_path, capsys, models_dir):
    import os

    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    folder = tmp_path / "tampered"
    shutil.copytree(models_dir, folder)
    evil = Pipeline([("run", FunctionTransformer(os.system))])
    skops.io.dump(evil, folder / svc.MODEL_FILE)
    attach_card(folder / svc.MODEL_FILE, read_card(models_dir / svc.MODEL_FILE))
    with pytest.raises(
        InputError,
        match=r"svc.skops: refused to load the SVC model: Untrusted types found in "
        r"the file: \['posix.system'\]\.$",
    ):
        Detector.load(folder, "svc")
    sf.write(tmp_path / "a.wav", speech_like(), SAMPLE_RATE, subtype="PCM_16")
    status, out, errors = predict(capsys, tmp_path / "a.wav", "--model", "svc", "--models-dir", folder)
    assert status == 2 and out == "" and len(errors) == 1 and "refused to load the SVC model" in errors[0]


def test_a_foreign_model_file_is_refused(tmp_path, models_dir):
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path / "foreign"
    shutil.copytree(models_dir, folder)
    skops.io.dump(LogisticRegression(), folder / svc.MODEL_FILE)  # a valid skops file, but no card
    with pytest.raises(
        InputError, match=r"svc.skops: not a model file of this project \(no readable model card\)"
    ):
        Detector.load(folder, "svc")
    (folder / cnn.MODEL_FILE).write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match=r"cnn.keras: not a model file of this project"):
        Detector.load(folder, "cnn")


def test_a_keras_model_with_code_in_it_is_refused(tmp_path, models_dir):
    folder = tmp_path / "lambda"
    shutil.copytree(models_dir, folder)
    inputs = keras.Input(shape=(64, 400), name="spectrogram")
    outputs = keras.layers.Dense(1)(keras.layers.Lambda(lambda x: x[:, :, :1])(inputs))
    path = folder / cnn.MODEL_FILE
    path.unlink()
    keras.Model(inputs, outputs).save(path)
    attach_card(path, read_card(models_dir / cnn.MODEL_FILE))
    with pytest.raises(InputError, match=r"cnn.keras: refused to load the CNN model: .*"):
        Detector.load(folder, "cnn")


def test_models_with_different_preprocessing_are_not_fused(tmp_path, models_dir):
    folder = tmp_path / "mixed"
    shutil.copytree(models_dir, folder)
    other = PARAMS.model_copy(update={"features": PARAMS.features.model_copy(update={"hop_length": 200})})
    model = svc.load_svc(models_dir / svc.MODEL_FILE)
    svc.save_svc(model, folder / svc.MODEL_FILE, make_card("svc", other, dev_fit(), sections=()))
    with pytest.raises(InputError, match="the models were trained on different features or sample rates"):
        Detector.load(folder, "fusion")
    assert CARD_MEMBER.endswith(".json")
