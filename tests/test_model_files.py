"""Model files from anywhere: every hostile file, card or object is one InputError line naming the file.

``models_dir`` (conftest) holds small good models, saved as the stages save them.
"""

import contextlib
import json
import os
import shutil
import signal
import struct
import tracemalloc
import zipfile
from dataclasses import replace

import keras
import numpy as np
import pandas as pd
import pytest
import skops.io
import soundfile as sf
from helpers import PROJECT, SAMPLE_RATE, model_card, tone
from sklearn.preprocessing import StandardScaler

from deepfake_audio.cli import main
from deepfake_audio.errors import InputError
from deepfake_audio.models import cnn, files, fusion, gmm, svc
from deepfake_audio.models.card import CARD_MEMBER, attach_card
from deepfake_audio.models.trained import MODEL_FILES, load_models
from deepfake_audio.params import TrainCnnParams, load_params
from deepfake_audio.predict import NOT_RUN

PARAMS = load_params(PROJECT / "params.yaml")
RETRAIN = "retrain the model with `dvc repro`"
DELETE = object()


@contextlib.contextmanager
def no_hang(seconds=10):
    """Fail instead of hanging (a blocking open or read is interrupted by the alarm)."""

    def stop(*_):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused(call, *args) -> str:
    with no_hang(), pytest.raises(InputError) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


def card_of(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(CARD_MEMBER))


def with_card(source, target, card) -> None:
    """``source``'s members with ``card`` (a dict, JSON text or bytes) as the card."""
    data = card if isinstance(card, bytes) else (card if isinstance(card, str) else json.dumps(card)).encode()
    with zipfile.ZipFile(source) as archive:
        members = [
            (info.filename, archive.read(info)) for info in archive.infolist() if info.filename != CARD_MEMBER
        ]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, member in [*members, (CARD_MEMBER, data)]:
            archive.writestr(name, member)


def changed(card: dict, key: str, value) -> dict:
    card = json.loads(json.dumps(card))
    *parents, last = key.split(".")
    node = card
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return card


# --------------------------------------------------------------------------- good files


def test_the_good_models_load_as_what_their_cards_say(models_dir, tmp_path):
    loaded = load_models(models_dir, ("svc", "cnn", "gmm", "fusion"))
    assert [type(loaded[name]).__name__ for name in ("svc", "cnn", "gmm", "fusion")] == [
        "Pipeline",
        "Functional",
        "dict",
        "Pipeline",
    ]
    for name in ("svc", "cnn", "gmm", "fusion"):
        card = files.read_card(models_dir / MODEL_FILES[name], name)
        assert card.model == name and card.sample_rate == SAMPLE_RATE and card.threshold == 0.0
        assert card.features_params == PARAMS.features and card == files.read_card(
            models_dir / MODEL_FILES[name]
        )
    os.symlink(models_dir / svc.MODEL_FILE, tmp_path / "linked.skops")  # a link to a model file is followed
    assert files.load_model(tmp_path / "linked.skops", "svc").feature_names_in_.size > 0
    assert "unknown model 'hmm'" in refused(files.load_model, models_dir / svc.MODEL_FILE, "hmm")


# --------------------------------------------------------------------------- the file


def test_what_is_not_a_regular_file_is_refused_unopened(tmp_path):
    os.mkfifo(tmp_path / "fifo.skops")  # opening it to read would wait for a writer for ever
    os.symlink("/dev/zero", tmp_path / "zero.keras")  # reading it would never end
    (tmp_path / "folder.skops").mkdir()
    os.symlink(tmp_path / "absent.skops", tmp_path / "dangling.skops")
    for read in (files.read_card, lambda path: files.load_model(path, "svc")):
        assert (
            refused(read, tmp_path / "fifo.skops")
            == f"{tmp_path / 'fifo.skops'}: is a FIFO, not a model file"
        )
        assert refused(read, tmp_path / "zero.keras") == (
            f"{tmp_path / 'zero.keras'}: links to /dev/zero, a character device, not a model file"
        )
        assert refused(read, tmp_path / "folder.skops") == (
            f"{tmp_path / 'folder.skops'}: is a folder, not a model file"
        )
        assert (
            refused(read, tmp_path / "absent.skops") == f"{tmp_path / 'absent.skops'}: model file not found"
        )
        assert (
            refused(read, tmp_path / "dangling.skops")
            == f"{tmp_path / 'dangling.skops'}: model file not found"
        )


def test_size_bounds(models_dir, monkeypatch):
    path = models_dir / svc.MODEL_FILE
    size = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    monkeypatch.setattr(files, "MAX_MODEL_BYTES", 1000)
    assert (
        refused(files.read_card, path) == f"{path}: {size:,} bytes, more than the 1,000 a model file may have"
    )
    monkeypatch.undo()
    monkeypatch.setattr(files, "MAX_DIRECTORY_BYTES", 100)
    assert refused(files.read_card, path).startswith(f"{path}: its zip directory takes ")
    assert refused(files.read_card, path).endswith(" bytes, more than the 100 a model file may need")
    monkeypatch.undo()
    monkeypatch.setattr(files, "MAX_UNPACKED_BYTES", 1000)
    assert refused(files.read_card, path) == (
        f"{path}: its members unpack to {unpacked:,} bytes, more than the 1,000 a model file may hold"
    )


def test_a_card_that_would_inflate_beyond_its_bound_is_not_inflated(models_dir, tmp_path):
    path = tmp_path / "svc.skops"
    big = 64 * 2**20
    with_card(models_dir / svc.MODEL_FILE, path, b"{" + b" " * (big - 2) + b"}")  # valid JSON, 64 kB packed
    assert path.stat().st_size < 2**20
    assert refused(files.read_card, path) == (
        f"{path}: its model card unpacks to {big:,} bytes, more than the "
        f"{files.MAX_CARD_BYTES:,} a card may have"
    )

    # Headers that declare 1000 bytes for the same 64 MiB: the read stops at 1000 bytes.
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(CARD_MEMBER).header_offset
    struct.pack_into("<L", data, local + 22, 1000)
    central = data.rfind(b"PK\x01\x02" + data[local + 4 : local + 6])
    while data[central + 46 : central + 46 + len(CARD_MEMBER)] != CARD_MEMBER.encode():
        central = data.rfind(b"PK\x01\x02", 0, central)
    struct.pack_into("<L", data, central + 24, 1000)
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        message = refused(files.read_card, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == f"{path}: damaged model file: Bad CRC-32 for file '{CARD_MEMBER}'"
    assert peak < 2**20


def test_files_that_are_not_zip_archives_or_hold_no_card(models_dir, tmp_path):
    for name, content in (
        ("empty.skops", b""),
        ("text.skops", b"not a model\n"),
        ("fake.keras", b"PK\x03\x04 not really a zip"),
    ):
        (tmp_path / name).write_bytes(content)
        assert refused(files.read_card, tmp_path / name) == (
            f"{tmp_path / name}: not a model file of this project "
            "(no readable model card); retrain it with `dvc repro`"
        )
    skops.io.dump(StandardScaler(), tmp_path / "cardless.skops")
    assert "not a model file of this project" in refused(files.read_card, tmp_path / "cardless.skops")


# --------------------------------------------------------------------------- the card

CARD_PROBLEMS = {
    "sample_rate 1e9": ("sample_rate", 1e9, "sample_rate: Input should be a valid integer"),
    "sample_rate as text": ("sample_rate", "16000", "sample_rate: Input should be a valid integer"),
    "sample_rate 10**9": ("sample_rate", 10**9, "sample_rate: Input should be less than or equal to 192000"),
    "sample_rate true": ("sample_rate", True, "sample_rate: Input should be a valid integer"),
    "NaN threshold": ("threshold", float("nan"), "threshold: not a finite number: nan"),
    "no calibration": ("calibration", DELETE, "calibration: required key is missing"),
    "negative slope": (
        "calibration.slope",
        -1.0,
        "calibration.slope: Input should be greater than or equal to 0",
    ),
    "infinite offset": ("calibration.offset", float("inf"), "calibration.offset: not a finite number: inf"),
    "calibration a number": ("calibration", 1.0, "calibration: Input should be an object"),
    "unknown calibration key": ("calibration.scale", 2.0, "calibration.scale: unknown key"),
    "infinite threshold": ("threshold", float("-inf"), "threshold: not a finite number: -inf"),
    "threshold as text": ("threshold", "0.5", "threshold: Input should be a valid number"),
    "no threshold": ("threshold", DELETE, "threshold: required key is missing"),
    "min_duration_s": ("min_duration_s", 1e6, "min_duration_s: Input should be less than or equal to 3600"),
    "negative min_duration_s": (
        "min_duration_s",
        -1.0,
        "min_duration_s: Input should be greater than or equal to 0",
    ),
    "model": ("model", "hmm", "model: Input should be 'svc', 'cnn', 'gmm' or 'fusion'"),
    "unknown key": ("evil", 1, "evil: unknown key"),
    "features a list": ("features", [], "features: Input should be an object"),
    "n_fft as text": ("features.n_fft", "512", "features.n_fft: Input should be a valid integer"),
    "hop_length 1.5": ("features.hop_length", 1.5, "features.hop_length: Input should be a valid integer"),
    "deltas 1": (
        "features.handcrafted.deltas",
        1,
        "features.handcrafted.deltas: Input should be a valid boolean",
    ),
    "unknown feature": ("features.nfft", 512, "features.nfft: unknown key"),
    "spectrogram kind": (
        "features.spectrogram.kind",
        "cqt",
        "features.spectrogram.kind: Input should be 'mel' or 'linear'",
    ),
    "win_length > n_fft": (
        "features.win_length",
        1024,
        "features: win_length (1024) must not exceed n_fft (512)",
    ),
    "huge n_fft": ("features.n_fft", 2**30, "features.n_fft: Input should be less than or equal to 65536"),
    "huge spectrogram": (
        "features.spectrogram.n_frames",
        10**8,
        "features.spectrogram.n_frames: Input should be less than or equal to 10000",
    ),
    "tiny cqt_fmin": (
        "features.handcrafted.cqt_fmin",
        1e-9,
        "features.handcrafted.cqt_fmin: 1e-09 Hz lies more "
        "than 16 octaves below half the sample rate (8000 Hz)",
    ),
    "high cqt_fmin": (
        "features.handcrafted.cqt_fmin",
        5000.0,
        "features.handcrafted.cqt_fmin: 5000 Hz leaves no whole octave below half the sample rate (8000 Hz)",
    ),
    "NaN cqt_fmin": (
        "features.handcrafted.cqt_fmin",
        float("nan"),
        "features.handcrafted.cqt_fmin: not a finite number: nan",
    ),
    "band above Nyquist": (
        "features.handcrafted.band_edges_hz",
        [0.0, 4000.0, 12000.0],
        "features.handcrafted.band_edges_hz: the top edge (12000) exceeds half the sample rate (8000 Hz)",
    ),
    "trim as text": ("trim", {"top_db": "15"}, "trim.top_db: Input should be a valid number"),
    "trim top_db": ("trim", {"top_db": -3.0}, "trim.top_db: Input should be greater than 0"),
    "trim min_speech_ms": (
        "trim",
        {"min_speech_ms": 1e300},
        "trim.min_speech_ms: Input should be less than or equal to 60000",
    ),
    "stats without global": (
        "spectrogram_stats",
        {"mean": [0.0] * 64, "std": [1.0] * 64},
        "spectrogram_stats: given, but features.spectrogram.normalize is 'utterance'",
    ),
    "stats of a list": ("spectrogram_stats", [0.0], "spectrogram_stats: Input should be an object"),
    "versions": ("versions.numpy", 2, "versions.numpy: Input should be a valid string"),
    "trained_with": ("trained_with", [], "trained_with: Input should be an object"),
}


@pytest.mark.parametrize("case", sorted(CARD_PROBLEMS))
def test_each_card_problem_is_one_line_naming_the_key(models_dir, tmp_path, case):
    key, value, reason = CARD_PROBLEMS[case]
    path = tmp_path / svc.MODEL_FILE
    with_card(models_dir / svc.MODEL_FILE, path, changed(card_of(models_dir / svc.MODEL_FILE), key, value))
    assert refused(files.read_card, path) == f"{path}: malformed model card: {reason}"
    assert refused(files.load_model, path, "svc") == f"{path}: malformed model card: {reason}"


GLOBAL = {"features.spectrogram.normalize": "global"}
STATS_PROBLEMS = {
    "stats missing": (
        {},
        "spectrogram_stats: required key is missing (features.spectrogram.normalize is 'global')",
    ),
    "short mean": (
        {"spectrogram_stats": {"mean": [0.0] * 3, "std": [1.0] * 64}},
        "spectrogram_stats.mean: 3 values, but the card's features give spectrograms of 64 bins",
    ),
    "zero std": (
        {"spectrogram_stats": {"mean": [0.0] * 64, "std": [0.0] * 64}},
        "spectrogram_stats.std.0: Input should be greater than 0",
    ),
    "NaN mean": (
        {"spectrogram_stats": {"mean": [float("nan")] * 64, "std": [1.0] * 64}},
        "spectrogram_stats.mean.0: not a finite number: nan",
    ),
    "linear bins": (
        {"features.spectrogram.kind": "linear", "spectrogram_stats": {"mean": [0.0] * 64, "std": [1.0] * 64}},
        "spectrogram_stats.mean: 64 values, but the card's features give spectrograms of 257 bins",
    ),
}


@pytest.mark.parametrize("case", sorted(STATS_PROBLEMS))
def test_spectrogram_statistics_must_fit_the_spectrogram(models_dir, tmp_path, case):
    changes, reason = STATS_PROBLEMS[case]
    card = card_of(models_dir / cnn.MODEL_FILE)
    for key, value in {**GLOBAL, **changes}.items():
        card = changed(card, key, value)
    path = tmp_path / cnn.MODEL_FILE
    with_card(models_dir / cnn.MODEL_FILE, path, card)
    assert refused(files.read_card, path, "cnn") == f"{path}: malformed model card: {reason}"


def test_a_card_with_fitting_statistics_is_read(models_dir, tmp_path):
    card = changed(
        changed(card_of(models_dir / cnn.MODEL_FILE), "features.spectrogram.normalize", "global"),
        "spectrogram_stats",
        {"mean": [0.5] * 64, "std": [2] * 64},
    )
    path = tmp_path / cnn.MODEL_FILE
    with_card(models_dir / cnn.MODEL_FILE, path, card)
    stats = files.read_card(path, "cnn").stats
    assert stats.mean.shape == stats.std.shape == (64,) and stats.std[0] == 2.0


@pytest.mark.parametrize(
    "version, reason",
    [
        ("2", "model card version '2' (a str) is not 2"),
        (2.0, "model card version 2.0 (a float) is not 2"),
        (True, "model card version True (a bool) is not 2"),
        (None, "model card version None (a NoneType) is not 2"),
        (3, "model card version 3 is not 2"),
        # A card from before the calibration: says what it lacks.
        (1, "model card version 1 is not 2 (it has no calibration of the score into a log-likelihood ratio)"),
        (DELETE, "model card without card_version (version 2 expected)"),
    ],
)
def test_the_card_version_is_named_with_its_type(models_dir, tmp_path, version, reason):
    path = tmp_path / svc.MODEL_FILE
    with_card(
        models_dir / svc.MODEL_FILE,
        path,
        changed(card_of(models_dir / svc.MODEL_FILE), "card_version", version),
    )
    assert refused(files.read_card, path) == f"{path}: {reason}; {RETRAIN}"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("[1, 2]", "not a JSON object but a list"),
        ("16000", "not a JSON object but an int"),
        ("{", "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b"\xff\xfe{}", "not JSON: "),
        ("[" * 100_000 + "]" * 100_000, "not JSON: maximum recursion depth exceeded"),
    ],
)
def test_a_card_that_is_not_a_json_object(models_dir, tmp_path, text, reason):
    path = tmp_path / svc.MODEL_FILE
    with_card(models_dir / svc.MODEL_FILE, path, text)
    assert refused(files.read_card, path).startswith(f"{path}: malformed model card: {reason}")


def test_a_card_for_another_model(models_dir, tmp_path):
    path = tmp_path / svc.MODEL_FILE
    with_card(models_dir / svc.MODEL_FILE, path, card_of(models_dir / cnn.MODEL_FILE))
    assert (
        refused(files.read_card, path, "svc") == f"{path}: malformed model card: model: 'cnn', expected 'svc'"
    )
    assert (
        refused(files.load_model, path, "svc")
        == f"{path}: malformed model card: model: 'cnn', expected 'svc'"
    )
    assert files.read_card(path).model == "cnn"  # the card alone is well formed
    # Named cnn.keras, the SVC file with its CNN card is refused by the Keras loader.
    shutil.copy(path, tmp_path / cnn.MODEL_FILE)
    assert refused(files.load_model, tmp_path / cnn.MODEL_FILE, "cnn").startswith(
        f"{tmp_path / cnn.MODEL_FILE}: refused to load the CNN model: "
    )


# --------------------------------------------------------------------------- the model


def skops_file(path, obj, card_source):
    skops.io.dump(obj, path)
    attach_card(path, files.read_card(card_source))
    return path


def _unfitted():
    return svc.build_svc(PARAMS.train_svc.setting(), seed=0)


def _fitted_on_arrays():
    return svc.build_svc(PARAMS.train_svc.setting(), seed=0).fit(np.eye(4), [0, 1, 0, 1])


def _features(n=4):
    return pd.DataFrame(np.eye(n), columns=[f"f{i}" for i in range(n)])


HOSTILE_OBJECTS = {
    "dict": (lambda: {"model": [1, 2, 3]}, "holds a dict, not an SVC pipeline"),
    "array": (lambda: np.zeros(3), "holds a numpy.ndarray, not an SVC pipeline"),
    "list": (lambda: [1, 2], "holds a list, not an SVC pipeline"),
    "scaler": (
        lambda: StandardScaler().fit(_features()),
        "holds a StandardScaler without a decision function, not an SVC pipeline",
    ),
    "unfitted": (_unfitted, "holds an unfitted Pipeline, not an SVC pipeline"),
    "no column names": (
        _fitted_on_arrays,
        "holds a Pipeline fitted without column names, not an SVC pipeline",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_OBJECTS))
def test_a_skops_file_of_trusted_types_that_is_not_a_pipeline(models_dir, tmp_path, case):
    make, reason = HOSTILE_OBJECTS[case]
    path = skops_file(tmp_path / svc.MODEL_FILE, make(), models_dir / svc.MODEL_FILE)
    assert refused(files.load_model, path, "svc") == f"{path}: {reason}"


def test_the_fusion_must_combine_the_single_models_scores(models_dir, tmp_path):
    path = tmp_path / fusion.MODEL_FILE
    skops_file(path, {"svc": 1.0}, models_dir / fusion.MODEL_FILE)
    assert refused(files.load_model, path, "fusion") == f"{path}: holds a dict, not a fusion pipeline"
    scores = pd.DataFrame({"cnn": [0.0, 1.0, 2.0, 3.0], "svc": [1.0, 0.0, 3.0, 2.0]})
    skops_file(path, fusion.fit_fusion(scores, ["spoof", "bonafide"] * 2), models_dir / fusion.MODEL_FILE)
    assert refused(files.load_model, path, "fusion") == (
        f"{path}: holds a Pipeline of the columns ['cnn', 'svc'], not the fusion of ['svc', 'cnn', 'gmm']"
    )


def test_a_gmm_must_be_two_fitted_mixtures_of_the_cards_frames(models_dir, tmp_path):
    from sklearn.mixture import GaussianMixture

    good = files.load_model(models_dir / gmm.MODEL_FILE, "gmm")
    path = tmp_path / gmm.MODEL_FILE
    skops_file(path, {"bonafide": good["bonafide"]}, models_dir / gmm.MODEL_FILE)
    assert refused(files.load_model, path, "gmm") == (
        f"{path}: holds a dict, not a GMM (a dict of bonafide and spoof mixtures)"
    )
    skops_file(path, {**good, "spoof": GaussianMixture(2)}, models_dir / gmm.MODEL_FILE)
    assert refused(files.load_model, path, "gmm") == f"{path}: its spoof mixture is not fitted"
    narrow = GaussianMixture(2, random_state=0).fit(np.random.default_rng(0).standard_normal((20, 3)))
    skops_file(path, {**good, "bonafide": narrow}, models_dir / gmm.MODEL_FILE)
    assert refused(files.load_model, path, "gmm") == (
        f"{path}: its bonafide mixture takes frames of 3 values; the card's features give 60"
    )


def test_a_gmm_card_must_say_which_frames_it_scores(models_dir, tmp_path):
    path = tmp_path / gmm.MODEL_FILE
    model = files.load_model(models_dir / gmm.MODEL_FILE, "gmm")
    gmm.save_gmm(model, path, replace(model_card("gmm"), frames=None))
    assert refused(files.read_card, path, "gmm") == (
        f"{path}: malformed model card: frames: required key is missing (the GMM's input)"
    )


def test_a_pipeline_that_fails_on_input_is_refused(models_dir, tmp_path):
    model = svc.build_svc(PARAMS.train_svc.setting(), seed=0).fit(_features(), [0, 1, 0, 1])
    model.named_steps["scale"].scale_ = np.ones(3)  # trusted types, inconsistent state
    path = skops_file(tmp_path / svc.MODEL_FILE, model, models_dir / svc.MODEL_FILE)
    message = refused(files.load_model, path, "svc")
    assert message.startswith(f"{path}: the SVC model fails on a test input: ")


def save_keras(model, path, card_source):
    model.save(path)
    attach_card(path, files.read_card(card_source))
    return path


def test_a_cnn_must_take_the_cards_spectrogram_and_give_one_logit(models_dir, tmp_path):
    path = tmp_path / cnn.MODEL_FILE
    save_keras(
        cnn.build_cnn(32, TrainCnnParams(arch="simple", filters=(4,))), path, models_dir / cnn.MODEL_FILE
    )
    assert refused(files.load_model, path, "cnn") == (
        f"{path}: the CNN takes inputs of shape (32, None), not (64, None): the card's features "
        "give spectrograms of 64 frequency rows and any number of frames"
    )
    fixed_length = keras.Input(shape=(64, 400), name="spectrogram")
    path.unlink()
    save_keras(
        keras.Model(fixed_length, keras.layers.Dense(1)(keras.layers.Flatten()(fixed_length))),
        path,
        models_dir / cnn.MODEL_FILE,
    )
    assert refused(files.load_model, path, "cnn") == (
        f"{path}: the CNN takes inputs of shape (64, 400), not (64, None): the card's features "
        "give spectrograms of 64 frequency rows and any number of frames"
    )
    inputs = keras.Input(shape=(64, None), name="spectrogram")
    two = keras.Model(
        inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D("channels_first")(inputs))
    )
    path.unlink()
    save_keras(two, path, models_dir / cnn.MODEL_FILE)
    assert refused(files.load_model, path, "cnn") == (
        f"{path}: the CNN gives outputs of shape (2,), not one logit per spectrogram"
    )


def test_loader_errors_are_one_line_naming_the_file(models_dir, tmp_path, monkeypatch):
    path = tmp_path / cnn.MODEL_FILE
    inputs = keras.Input(shape=(64, 400), name="spectrogram")
    lam = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Lambda(lambda x: x[:, 0, :])(inputs)))
    save_keras(lam, path, models_dir / cnn.MODEL_FILE)
    assert refused(files.load_model, path, "cnn").startswith(f"{path}: refused to load the CNN model: ")

    def broken(_):
        raise AttributeError("'dict' object has no attribute 'steps'")

    monkeypatch.setitem(files._LOADERS, "svc", broken)
    assert refused(files.load_model, models_dir / svc.MODEL_FILE, "svc") == (
        f"{models_dir / svc.MODEL_FILE}: refused to load the SVC model: 'dict' object has no attribute 'steps'"
    )


# --------------------------------------------------------------------------- through the command line


def hostile_folder(models_dir, folder, case):
    shutil.copytree(models_dir, folder)
    path = folder / svc.MODEL_FILE
    if case == "sample_rate 1e9":
        with_card(models_dir / svc.MODEL_FILE, path, changed(card_of(path), "sample_rate", 1e9))
        return f"{path}: malformed model card: sample_rate: Input should be a valid integer"
    if case == "NaN threshold":
        with_card(models_dir / svc.MODEL_FILE, path, changed(card_of(path), "threshold", float("nan")))
        return f"{path}: malformed model card: threshold: not a finite number: nan"
    if case == "dict":
        skops_file(path, {"model": 1}, models_dir / svc.MODEL_FILE)
        return f"{path}: holds a dict, not an SVC pipeline"
    path.unlink()
    if case == "directory":
        path.mkdir()
        return f"{path}: is a folder, not a model file"
    if case == "fifo":
        os.mkfifo(path)
        return f"{path}: is a FIFO, not a model file"
    os.symlink("/dev/zero", path)
    return f"{path}: links to /dev/zero, a character device, not a model file"


def test_the_detector_reads_cards_through_files():
    from deepfake_audio import detector

    assert detector.read_card is files.read_card


@pytest.mark.parametrize(
    "case", ["sample_rate 1e9", "NaN threshold", "dict", "directory", "fifo", "/dev/zero"]
)
def test_predict_reports_a_hostile_model_file_in_one_line(models_dir, tmp_path, capsys, case):
    message = hostile_folder(models_dir, tmp_path / "models", case)
    sf.write(tmp_path / "a.wav", tone(220, 1.0), SAMPLE_RATE, subtype="PCM_16")
    with no_hang():
        status = main(
            ["predict", str(tmp_path / "a.wav"), "--model", "svc", "--models-dir", str(tmp_path / "models")]
        )
    out, err = capsys.readouterr()
    assert status == NOT_RUN and out == ""
    assert err.splitlines() == [f"error: {message}"]
