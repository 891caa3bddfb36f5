"""Reading model files: the one way predict, evaluate, explain and audit open them.

A model file may come from anywhere, so nothing in it is trusted until checked. Before the
file is opened it must be a regular file (a directory, a FIFO, a device or a link to one is
refused without opening it) of bounded size; the zip directory, the unpacked sizes its members
declare and the card are bounded too, and the card is read with a bounded read. The card is
validated against a strict schema (types, ranges, finite numbers, sizes that fit the features).
The model itself is loaded by the library loaders, which refuse types that could run code
(``svc.load_svc``, ``cnn.load_cnn``, ``fusion.load_fusion``); whatever they raise becomes an
``InputError`` naming the file, and the loaded object must then be the model the card describes.
Every problem is one line naming the file.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from deepfake_audio.errors import InputError
from deepfake_audio.features.spectrogram import spectrogram_bins
from deepfake_audio.io import file_type
from deepfake_audio.models import fusion, gmm, svc
from deepfake_audio.models.card import CARD_MEMBER, CARD_VERSION, ModelCard
from deepfake_audio.params import FeaturesParams, FramesParams, PrepareParams, VadParams
from deepfake_audio.vocabulary import FUSION, LABELS, MODEL_NAMES, SINGLE_MODELS

# Our model files are about 1 MB; the bounds leave room for far larger networks.
MAX_MODEL_BYTES = 512 * 2**20  # the file itself
MAX_DIRECTORY_BYTES = 2**20  # the zip's central directory (ours: a few kB)
MAX_UNPACKED_BYTES = 2**30  # all members together, as their headers declare
MAX_CARD_BYTES = 4 * 2**20  # the card member (ours: tens of kB)
# FeaturesParams and VadParams bound each setting; what depends on the card's sample rate
# (checked for params.yaml in Params) is checked here, with a bound on the constant-Q range.
MAX_CQT_OCTAVES = 16

_DISPLAY_NAMES = {"svc": "SVC", "cnn": "CNN", "gmm": "GMM", "fusion": "fusion"}


def _load_cnn(path: Path):
    from deepfake_audio.models.cnn import load_cnn  # TensorFlow, imported only when a CNN is read

    return load_cnn(path)


_LOADERS = {"svc": svc.load_svc, "cnn": _load_cnn, "gmm": gmm.load_gmm, "fusion": fusion.load_fusion}
_FUSION_INPUTS = list(SINGLE_MODELS)
_MAX_MESSAGE = 400  # characters kept of a loader's error
_NOT_OURS = "not a model file of this project (no readable model card); retrain it with `dvc repro`"
# What a card of an older version lacks, said when one is refused.
_OLDER_CARDS = {1: " (it has no calibration of the score into a log-likelihood ratio)"}

_Finite = Annotated[float, Field(allow_inf_nan=False)]
# The bounds params.yaml has for the setting, so that every model trained from valid params reads.
_MinDuration = Annotated[
    (float, *PrepareParams.model_fields["min_duration_s"].metadata, Field(allow_inf_nan=False))
]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Stats(_Schema):
    mean: list[_Finite]
    std: list[Annotated[float, Field(gt=0.0, allow_inf_nan=False)]]


class _Calibration(_Schema):
    slope: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]  # never reverses the scores' ranking
    offset: _Finite


class _Card(_Schema):
    """What a card must hold; ``ModelCard`` is the card as the code uses it."""

    model: Literal["svc", "cnn", "gmm", "fusion"]
    sample_rate: int = Field(ge=8000, le=192000)
    features: FeaturesParams
    min_duration_s: _MinDuration
    threshold: _Finite
    calibration: _Calibration
    trained_with: dict[str, Any]
    versions: dict[str, str | None]
    spectrogram_stats: _Stats | None = None
    trim: VadParams | None = None
    frames: FramesParams | None = None
    card_version: int


def read_card(path: str | Path, model: str | None = None) -> ModelCard:
    """The checked card of the model file at ``path``; ``model`` (svc, cnn, fusion): the card must be its."""
    path = Path(path)
    data = _card_bytes(path)
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as err:  # not UTF-8, not JSON, nested beyond Python's stack
        raise _malformed(path, None, f"not JSON: {_describe(err)}") from None
    if not isinstance(raw, dict):
        raise _malformed(path, None, f"not a JSON object but {_a(raw)}")
    if "card_version" not in raw:
        raise InputError(
            f"{path}: model card without card_version (version {CARD_VERSION} expected); "
            "retrain the model with `dvc repro`"
        )
    version = raw["card_version"]
    if type(version) is not int or version != CARD_VERSION:
        kind = "" if type(version) is int else f" ({_a(version)})"
        why = _OLDER_CARDS.get(version, "") if type(version) is int else ""
        raise InputError(
            f"{path}: model card version {version!r}{kind} is not {CARD_VERSION}{why}; "
            "retrain the model with `dvc repro`"
        )
    try:
        problem = _non_finite(raw)
    except RecursionError:
        problem = None, "nested too deeply"
    if problem:
        raise _malformed(path, *problem)
    try:
        checked = _Card.model_validate_json(data)
    except ValidationError as err:
        raise _malformed(path, *_first_problem(err)) from None
    problem = _card_problem(checked)
    if problem:
        raise _malformed(path, *problem)
    if model is not None and checked.model != model:
        raise _malformed(path, "model", f"{checked.model!r}, expected {model!r}")
    return ModelCard(
        model=checked.model,
        sample_rate=checked.sample_rate,
        features=raw["features"],
        min_duration_s=float(checked.min_duration_s),
        threshold=float(checked.threshold),
        calibration=checked.calibration.model_dump(),
        trained_with=raw["trained_with"],
        versions=raw["versions"],
        spectrogram_stats=raw.get("spectrogram_stats"),
        trim=raw.get("trim"),
        frames=raw.get("frames"),
        card_version=version,
    )


def load_model(path: str | Path, model: str):
    """The ``model`` (svc, cnn, fusion) stored at ``path``, checked to be what its card describes.

    The file and its card are checked first (``read_card``); the library loader then refuses
    types that could run code, and the object it returns must be the kind of model the card
    names, take the input the card's features give and score a test input.
    """
    if model not in MODEL_NAMES:
        raise InputError(f"unknown model {model!r}: choose one of {', '.join(MODEL_NAMES)}")
    path = Path(path)
    card = read_card(path, model)
    try:
        loaded = _LOADERS[model](path)
    except InputError as err:  # the loaders name the file already
        raise InputError(_one_line(err)) from None
    except Exception as err:  # noqa: BLE001  (a hostile file can make a loader raise anything)
        raise InputError(
            f"{path}: refused to load the {_DISPLAY_NAMES[model]} model: {_describe(err)}"
        ) from None
    try:
        if model == "cnn":
            _check_cnn(path, loaded, card)
        elif model == "gmm":
            _check_gmm(path, loaded, card)
        else:
            _check_pipeline(path, loaded, model)
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001  (trusted types restored with inconsistent state)
        raise InputError(f"{path}: holds a broken {_DISPLAY_NAMES[model]} model: {_describe(err)}") from None
    return loaded


# --------------------------------------------------------------------------- the file and its zip


def _card_bytes(path: Path) -> bytes:
    """The card member of the model file at ``path``, after the file and zip checks."""
    _check_regular(path, os.stat)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise InputError(f"{path}: cannot read the model file: {err.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        size = _check_regular(path, lambda _: os.fstat(fd))  # the file opened is the one checked
        _check_directory(path, file, size)
        try:
            archive = zipfile.ZipFile(file)
        except Exception:  # noqa: BLE001  (BadZipFile, and struct, value or OS errors of a damaged one)
            raise InputError(f"{path}: {_NOT_OURS}") from None
        with archive:
            members = archive.infolist()
            unpacked = sum(info.file_size for info in members)
            if unpacked > MAX_UNPACKED_BYTES:
                raise InputError(
                    f"{path}: its members unpack to {unpacked:,} bytes, more than the "
                    f"{MAX_UNPACKED_BYTES:,} a model file may hold"
                )
            try:
                info = archive.getinfo(CARD_MEMBER)
            except KeyError:
                raise InputError(f"{path}: {_NOT_OURS}") from None
            if info.file_size > MAX_CARD_BYTES:
                raise InputError(
                    f"{path}: its model card unpacks to {info.file_size:,} bytes, more than "
                    f"the {MAX_CARD_BYTES:,} a card may have"
                )
            try:
                with archive.open(info) as member:  # inflates no more than the size declared, checked above
                    return member.read(info.file_size)
            except Exception as err:  # noqa: BLE001  (CRC, zlib, encryption, unknown compression...)
                raise InputError(f"{path}: damaged model file: {_describe(err)}") from None


def _check_regular(path: Path, stat_of) -> int:
    """The size of the regular file at ``path`` (links followed); anything else is refused unopened."""
    try:
        info = stat_of(path)
    except FileNotFoundError:
        raise InputError(f"{path}: model file not found") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read the model file: {err.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        where = f"links to {os.path.realpath(path)}, " if os.path.islink(path) else "is "
        raise InputError(f"{path}: {where}{file_type(info.st_mode)}, not a model file")
    if info.st_size > MAX_MODEL_BYTES:
        raise InputError(
            f"{path}: {info.st_size:,} bytes, more than the {MAX_MODEL_BYTES:,} a model file may have"
        )
    return info.st_size


_END_OF_DIRECTORY = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = b"PK\x06\x07"


def _check_directory(path: Path, file, size: int) -> None:
    """Bound the central directory before ``zipfile`` reads all of it into memory.

    The end record zipfile uses is the last one in the file's final 64 kB; a file without one
    is left to zipfile to refuse. ZIP64 records (sizes beyond 4 GiB) are refused: no model
    file of ours needs them.
    """
    tail_size = min(size, _END_OF_DIRECTORY.size + 2**16)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    file.seek(0)
    start = tail.rfind(b"PK\x05\x06")
    if start < 0 or len(tail) - start < _END_OF_DIRECTORY.size:
        return
    directory_size = _END_OF_DIRECTORY.unpack_from(tail, start)[5]
    if start >= 20 and tail[start - 20 : start - 16] == _ZIP64_LOCATOR:
        raise InputError(f"{path}: a ZIP64 archive; model files of this project are plain zip files")
    if directory_size > MAX_DIRECTORY_BYTES:
        raise InputError(
            f"{path}: its zip directory takes {directory_size:,} bytes, more than the "
            f"{MAX_DIRECTORY_BYTES:,} a model file may need"
        )


# --------------------------------------------------------------------------- the card


def _malformed(path: Path, key: str | None, reason: str) -> InputError:
    return InputError(
        f"{path}: malformed model card: {key}: {reason}" if key else f"{path}: malformed model card: {reason}"
    )


def _first_problem(err: ValidationError) -> tuple[str | None, str]:
    problem = err.errors()[0]
    key = ".".join(str(part) for part in problem["loc"]) or None
    if problem["type"] == "extra_forbidden":
        return key, "unknown key"
    if problem["type"] == "missing":
        return key, "required key is missing"
    return key, problem["msg"].removeprefix("Value error, ")


def _non_finite(value, key: str = "") -> tuple[str | None, str] | None:
    """The first NaN or infinity anywhere in the card (JSON allows neither, Python writes both)."""
    if isinstance(value, float) and not math.isfinite(value):
        return key or None, f"not a finite number: {value}"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for name, item in items:
        problem = _non_finite(item, f"{key}.{name}" if key else str(name))
        if problem:
            return problem
    return None


def _card_problem(card: _Card) -> tuple[str, str] | None:
    """What the schema cannot see: settings that fit the sample rate, statistics that fit the spectrogram."""
    features, nyquist = card.features, card.sample_rate / 2
    handcrafted, settings = features.handcrafted, features.spectrogram
    bins = spectrogram_bins(features)
    checks = [
        (
            "features.handcrafted.cqt_fmin",
            not handcrafted.cqcc or 2 * handcrafted.cqt_fmin <= nyquist,
            f"{handcrafted.cqt_fmin:g} Hz leaves no whole octave below half the sample rate ({nyquist:g} Hz)",
        ),
        (
            "features.handcrafted.cqt_fmin",
            not handcrafted.cqcc or handcrafted.cqt_fmin * 2**MAX_CQT_OCTAVES >= nyquist,
            f"{handcrafted.cqt_fmin:g} Hz lies more than {MAX_CQT_OCTAVES} octaves below half the sample rate "
            f"({nyquist:g} Hz)",
        ),
        (
            "features.handcrafted.band_edges_hz",
            not handcrafted.band_energy or handcrafted.band_edges_hz[-1] <= nyquist,
            f"the top edge ({handcrafted.band_edges_hz[-1]:g}) exceeds half the sample rate ({nyquist:g} Hz)",
        ),
    ]
    stats = card.spectrogram_stats
    if stats is not None:
        checks += [
            (
                f"spectrogram_stats.{name}",
                len(values) == bins,
                f"{len(values)} values, but the card's features give spectrograms of {bins} bins",
            )
            for name, values in (("mean", stats.mean), ("std", stats.std))
        ]
        checks.append(
            (
                "spectrogram_stats",
                settings.normalize == "global",
                f"given, but features.spectrogram.normalize is {settings.normalize!r}",
            )
        )
    elif card.model in ("cnn", FUSION):
        checks.append(
            (
                "spectrogram_stats",
                settings.normalize != "global",
                "required key is missing (features.spectrogram.normalize is 'global')",
            )
        )
    if card.model in ("gmm", FUSION):
        checks.append(("frames", card.frames is not None, "required key is missing (the GMM's input)"))
    return next(((key, reason) for key, fine, reason in checks if not fine), None)


# --------------------------------------------------------------------------- the model


def _check_pipeline(path: Path, model, name: str) -> None:
    """An SVC or fusion pipeline: fitted, with a decision function on named input columns."""
    wanted = "an SVC pipeline" if name == "svc" else "a fusion pipeline"
    if not hasattr(type(model), "fit"):
        raise InputError(f"{path}: holds {_a(model)}, not {wanted}")
    if not hasattr(model, "decision_function"):
        raise InputError(f"{path}: holds {_a(model)} without a decision function, not {wanted}")
    try:
        check_is_fitted(model)
    except (NotFittedError, TypeError):
        raise InputError(f"{path}: holds an unfitted {type(model).__name__}, not {wanted}") from None
    columns = getattr(model, "feature_names_in_", None)
    if columns is None or not all(isinstance(column, str) for column in columns):
        raise InputError(f"{path}: holds a {type(model).__name__} fitted without column names, not {wanted}")
    columns = list(columns)
    if name == FUSION and columns != _FUSION_INPUTS:
        raise InputError(
            f"{path}: holds a {type(model).__name__} of the columns {_listed(columns)}, not the "
            f"fusion of {_FUSION_INPUTS}"
        )
    _check_scores(
        path,
        name,
        lambda: model.decision_function(pd.DataFrame(np.zeros((1, len(columns))), columns=columns)),
    )


def _check_cnn(path: Path, model, card: ModelCard) -> None:
    """A Keras model from one (bins, any frames) spectrogram, as the card's features give it, to one logit."""
    import keras  # loaded by the CNN's loader already

    if not isinstance(model, keras.Model):
        raise InputError(f"{path}: holds {_a(model)}, not a Keras model")
    features = card.features_params
    expected = (spectrogram_bins(features), None)
    try:
        inputs, outputs = [tuple(x.shape) for x in model.inputs], [tuple(x.shape) for x in model.outputs]
    except Exception as err:  # noqa: BLE001  (a model that was never built has no inputs)
        raise InputError(f"{path}: the CNN has no defined input and output: {_describe(err)}") from None
    if len(inputs) != 1 or inputs[0][1:] != expected:
        raise InputError(
            f"{path}: the CNN takes inputs of shape {_shapes(inputs)}, not {expected}: the card's "
            f"features give spectrograms of {expected[0]} frequency rows and any number of frames"
        )
    if len(outputs) != 1 or outputs[0][1:] != (1,):
        raise InputError(
            f"{path}: the CNN gives outputs of shape {_shapes(outputs)}, not one logit per spectrogram"
        )
    _check_scores(
        path,
        "cnn",
        lambda: np.asarray(
            model(np.zeros((1, expected[0], features.spectrogram.n_frames), np.float32), training=False)
        ),
    )


def _check_gmm(path: Path, model, card: ModelCard) -> None:
    """Two fitted Gaussian mixtures, bona fide and spoof, of the frames the card's settings give."""
    from sklearn.mixture import GaussianMixture

    from deepfake_audio.features.frames import frame_names
    from deepfake_audio.params import AnalysisSettings

    if not isinstance(model, dict) or sorted(model) != sorted(LABELS):
        raise InputError(f"{path}: holds {_a(model)}, not a GMM (a dict of {' and '.join(LABELS)} mixtures)")
    assert card.frames_params is not None  # the card check requires frames for a GMM
    dims = len(frame_names(AnalysisSettings(card.sample_rate, card.features_params), card.frames_params))
    for label, mixture in model.items():
        if not isinstance(mixture, GaussianMixture):
            raise InputError(f"{path}: its {label} model is {_a(mixture)}, not a GaussianMixture")
        try:
            check_is_fitted(mixture)
        except (NotFittedError, TypeError):
            raise InputError(f"{path}: its {label} mixture is not fitted") from None
        if mixture.n_features_in_ != dims:
            raise InputError(
                f"{path}: its {label} mixture takes frames of {mixture.n_features_in_} values; the card's "
                f"features give {dims}"
            )
    _check_scores(path, "gmm", lambda: gmm.gmm_scores(model, [np.zeros((1, dims), np.float32)]))


def _check_scores(path: Path, name: str, score) -> None:
    """The model must give one finite score for a test input (all zeros)."""
    try:
        scores = np.asarray(score(), dtype=float).ravel()
    except Exception as err:  # noqa: BLE001  (trusted types can still hold inconsistent state)
        raise InputError(
            f"{path}: the {_DISPLAY_NAMES[name]} model fails on a test input: {_describe(err)}"
        ) from None
    if scores.size != 1 or not np.isfinite(scores).all():
        raise InputError(
            f"{path}: the {_DISPLAY_NAMES[name]} model scores a test input as {scores.tolist()}, "
            "not one finite number"
        )


def _listed(names: list[str], shown: int = 4) -> str:
    return str(names) if len(names) <= shown else f"{str(names[:shown])[:-1]}, ...] ({len(names)} in all)"


def _shapes(shapes: list[tuple]) -> str:
    return ", ".join(str(shape[1:]) for shape in shapes) or "none"


# --------------------------------------------------------------------------- messages


def _a(value) -> str:
    """``value``'s type with its article: "a dict", "an int", "a numpy.ndarray"."""
    kind = type(value)
    name = f"numpy.{kind.__name__}" if kind.__module__ == "numpy" else kind.__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= _MAX_MESSAGE else f"{text[: _MAX_MESSAGE - 3]}..."


def _describe(err: BaseException) -> str:
    return _one_line(err) or type(err).__name__
