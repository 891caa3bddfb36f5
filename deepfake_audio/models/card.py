"""The model card: what a model file carries so that it can score new audio on its own.

Both formats are zip archives (skops and ``.keras``), and both loaders ignore members
they do not know, so the card travels inside the model file as one JSON member: the
preprocessing the model was trained on (sample rate, feature params, the global
spectrogram statistics), the dev EER threshold, the calibration of its score into a
log-likelihood ratio (both fitted on dev, ``calibration.fit_on_dev``), the params it was
trained with and the library versions. It is data only: a tampered card can change a
number, never run code.
"""

from __future__ import annotations

import json
import platform
import re
import zipfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from deepfake_audio.features.spectrogram import SpectrogramStats
from deepfake_audio.models.calibration import Calibration, DevFit
from deepfake_audio.params import FeaturesParams, FramesParams, Params, VadParams

CARD_MEMBER = "deepfake_audio_card.json"
# 2: the card carries the score's calibration (version 1 cards have none: retrain those models).
CARD_VERSION = 2
_LIBRARIES = (
    "deepfake-audio",
    "numpy",
    "scipy",
    "scikit-learn",
    "skops",
    "librosa",
    "soundfile",
    "keras",
    "tensorflow-cpu",
)


@dataclass(frozen=True)
class ModelCard:
    model: str  # svc | cnn | gmm | fusion
    sample_rate: int
    features: dict  # FeaturesParams, as JSON
    min_duration_s: float  # shorter files were left out of training (prepare.min_duration_s)
    threshold: float  # the dev EER threshold: spoof at or below it
    calibration: dict  # {"slope": .., "offset": ..}: the score's LLR is slope * score + offset
    trained_with: dict  # the params sections that made the model
    versions: dict
    spectrogram_stats: dict | None = None  # {"mean": [...], "std": [...]} with normalize: global
    trim: dict | None = None  # audit.vad, for models trained on audio cut to its speech
    frames: dict | None = None  # the GMM's input (train_gmm.frames)
    card_version: int = CARD_VERSION

    @property
    def features_params(self) -> FeaturesParams:
        return FeaturesParams.model_validate_json(json.dumps(self.features))

    @property
    def score_calibration(self) -> Calibration:
        """The map from the model's score to a log-likelihood ratio, fitted on dev."""
        return Calibration.from_dict(self.calibration)

    @property
    def stats(self) -> SpectrogramStats | None:
        if self.spectrogram_stats is None:
            return None
        return SpectrogramStats(
            np.asarray(self.spectrogram_stats["mean"], dtype=np.float32),
            np.asarray(self.spectrogram_stats["std"], dtype=np.float32),
        )

    @property
    def trim_params(self) -> VadParams | None:
        """The speech detector's settings, for a model trained on audio cut to its speech."""
        return None if self.trim is None else VadParams.model_validate(self.trim)

    @property
    def frames_params(self) -> FramesParams | None:
        """The frame-level cepstra a GMM scores (``features/frames.py``)."""
        return None if self.frames is None else FramesParams.model_validate(self.frames)


def make_card(
    model: str,
    params: Params,
    dev: DevFit,
    *,
    sections: tuple[str, ...],
    stats: SpectrogramStats | None = None,
    trim: VadParams | None = None,
    frames: FramesParams | None = None,
) -> ModelCard:
    """The card of a model trained with ``params``; ``sections`` names the params that made it.

    ``dev``: the decision threshold and the calibration fitted on the model's dev scores
    (``calibration.fit_on_dev``). ``trim``: the speech detector that cut the training audio beyond ``features.trim``
    (the audit's models retrained on trimmed audio).
    """
    return ModelCard(
        model=model,
        sample_rate=params.data.sample_rate,
        features=params.features.model_dump(mode="json"),
        min_duration_s=params.prepare.min_duration_s,
        threshold=float(dev.threshold),
        calibration=dev.calibration.as_dict(),
        trained_with={
            "seed": params.seed,
            **{name: getattr(params, name).model_dump(mode="json") for name in sections},
        },
        versions={"python": platform.python_version(), **{name: _version(name) for name in _LIBRARIES}},
        spectrogram_stats=None if stats is None else {"mean": stats.mean.tolist(), "std": stats.std.tolist()},
        trim=None if trim is None else trim.model_dump(mode="json"),
        frames=None if frames is None else frames.model_dump(mode="json"),
    )


def attach_card(path: Path, card: ModelCard) -> None:
    """Add ``card`` to the model archive at ``path`` (written but not yet in place).

    The archive is written anew so that the same model gives the same bytes on every run:
    member times fixed, Keras' save date blanked, and the Python object ids that skops
    (member names, ``__id__``) and Keras (``shared_object_id``) record renumbered in
    order of appearance.
    """
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    ids = _object_ids(members)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in [*members, (CARD_MEMBER, json.dumps(asdict(card), indent=1).encode())]:
            if name.endswith(".json"):
                data = _OBJECT_ID.sub(lambda match: ids[match.group(0)], data.decode()).encode()
                data = _DATE_SAVED.sub(b'"date_saved": ""', data)
            name = _OBJECT_ID.sub(lambda match: ids[match.group(0)], name)
            archive.writestr(zipfile.ZipInfo(name, date_time=_FIXED_TIME), data, zipfile.ZIP_DEFLATED)


# Python object ids: skops' array members ("139819655345872.npy") and "__id__" fields, Keras'
# "shared_object_id". Ids of live objects are large, so 12+ digits never match a model's numbers
# in these contexts.
_OBJECT_ID = re.compile(r'(?<="__id__": )\d+|(?<="shared_object_id": )\d+|\d{12,}(?=\.npy)')
_DATE_SAVED = re.compile(rb'"date_saved": "[^"]*"')
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _object_ids(members: list[tuple[str, bytes]]) -> dict[str, str]:
    """Each object id found in the archive's names and JSON members -> its rank of first appearance."""
    found = [
        *[name for name, _ in members],
        *[data.decode() for name, data in members if name.endswith(".json")],
    ]
    ids: dict[str, str] = {}
    for text in found:
        for match in _OBJECT_ID.finditer(text):
            ids.setdefault(match.group(0), str(len(ids)))
    return ids


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
