"""One model's audit (stage ``audit@<model>``): its scores on the edited audio, and the model
retrained on trimmed audio where ``audit.retrain`` names it.

The scores go to ``paths.audit_scores_file(model)``: ``utt_id, label`` and a column per scored
variant of the audited files (``SCORED``; ``RETRAINED_SCORED`` too for a retrained model), rounded
to ``SCORE_DECIMALS`` as ``model_scores`` gives them, so the fusion can be scored from them as
evaluate scores it. The retrained model goes to ``paths.trimmed_models_dir(model)`` with its card
(its threshold, and the VAD settings that tell ``predict`` to trim too); the folder is empty for a
model that is not retrained. Scoring an SVC never imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.audit.edited import (
    TRANSPLANTED,
    TRANSPLANTED_TRIMMED,
    TRIMMED,
    Auditor,
    Extracted,
    audited_rows,
    read_extracted,
    read_speech,
)
from deepfake_audio.audit.edits import EditedFile
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import InputError
from deepfake_audio.features.frames import card_frames_as_extracted
from deepfake_audio.features.spectrogram import SpectrogramStats, training_stats
from deepfake_audio.io import atomic_path, write_csv
from deepfake_audio.models.calibration import fit_on_dev
from deepfake_audio.models.card import ModelCard, make_card
from deepfake_audio.models.files import read_card
from deepfake_audio.models.gmm import streamed_gmm_scores
from deepfake_audio.models.svc import LabelledFeatures, fit_svc, svc_scores
from deepfake_audio.models.trained import load_models, model_path, model_scores, save_model
from deepfake_audio.params import Params
from deepfake_audio.progress import step
from deepfake_audio.tables import read_table
from deepfake_audio.vocabulary import SCORE_DECIMALS, SINGLE_MODELS

SCORED = ("trimmed", "transplanted")  # the model of paths.MODELS on the audited files, edited so
RETRAINED_SCORED = ("retrained_trimmed", "retrained_transplanted")  # the retrained model: trimmed, then both


@dataclass(frozen=True)
class Retrained:
    """A model trained on trimmed audio, with its card (which tells ``predict`` to trim too)."""

    model: object
    card: ModelCard


def check_model(name: str) -> None:
    """Refuse a ``name`` that is not a single model (the fusion's audit is computed from theirs)."""
    if name not in SINGLE_MODELS:
        raise InputError(
            f"audit: unknown model {name!r}; each single model is audited on its own: "
            f"{', '.join(SINGLE_MODELS)}"
        )


def audit_model(name: str, params: Params) -> None:
    """Stage ``audit@<name>``: score the edited audited files with model ``name`` of ``paths.MODELS``;
    where ``audit.retrain`` names it, retrain it on trimmed train and dev, save it and score it too."""
    check_model(name)
    split = params.audit.split
    trimmed = read_extracted(TRIMMED)
    audited = _audited(trimmed, split)
    models = load_models(paths.MODELS, (name,))
    if name == "gmm":
        scores = audited.table[["utt_id", "label"]].assign(**_gmm_scores(models, audited, params))
    else:
        stats = read_card(model_path(paths.MODELS, name), name).stats
        with step(f"audit@{name}: scoring the trimmed and transplanted {split} files"):
            scores = audited.table[["utt_id", "label"]].assign(
                **{
                    SCORED[0]: _scores(models, audited, stats),
                    SCORED[1]: _scores(
                        models, _aligned(read_extracted(TRANSPLANTED), audited, TRANSPLANTED), stats
                    ),
                }
            )
    retrained = retrain_on_trimmed(trimmed, params, name) if name in params.audit.retrain else None
    with atomic_path(paths.trimmed_models_dir(name)) as out:
        out.mkdir()
        if retrained is not None:
            save_model(name, retrained.model, out, card=retrained.card)
    if retrained is not None:
        scores = scores.assign(**_retrained_scores(name, retrained, audited))
    write_csv(paths.audit_scores_file(name), scores)


def _retrained_scores(name: str, retrained: Retrained, audited: Extracted) -> dict[str, np.ndarray]:
    """The retrained model's scores on the trimmed, and on the transplanted then trimmed, audited files."""
    chosen, stats = {name: retrained.model}, retrained.card.stats
    again = _aligned(read_extracted(TRANSPLANTED_TRIMMED), audited, TRANSPLANTED_TRIMMED)
    with step(f"audit@{name}: scoring the retrained model"):
        return {
            RETRAINED_SCORED[0]: _scores(chosen, audited, stats),
            RETRAINED_SCORED[1]: _scores(chosen, again, stats),
        }


def _gmm_scores(models: dict, audited: Extracted, params: Params) -> dict[str, np.ndarray]:
    """The GMM's ``SCORED`` columns: it scores frames, which the audit_audio stage does not keep, so
    the audited files are edited again (the same edits, from its speech.csv) and their frames taken
    as the GMM's card says."""
    card = read_card(model_path(paths.MODELS, "gmm"), "gmm")
    manifest = audited_rows(read_manifest(paths.MANIFEST), params.audit.split)
    speech = read_speech()
    speech = speech[speech["split"] == params.audit.split].reset_index(drop=True)
    if (
        manifest["utt_id"].tolist() != audited.table["utt_id"].tolist()
        or speech["utt_id"].tolist() != manifest["utt_id"].tolist()
    ):
        raise InputError(
            f"{paths.AUDIT_EDITED}: its utterances are not the manifest's {params.audit.split} files; "
            "rerun the audit_audio stage (dvc repro audit_audio)"
        )
    auditor = Auditor(params)
    scores = {}
    for column, (edits, durations) in zip(
        SCORED,
        (auditor.trimmed_edits(manifest, speech), auditor.transplanted_edits(manifest)),
        strict=True,
    ):
        frames = card_frames_as_extracted(
            edits, durations, card, compute=params.compute, load=EditedFile.load, desc=f"audit@gmm: {column}"
        )
        scores[column] = np.round(streamed_gmm_scores(models["gmm"], frames, len(edits)), SCORE_DECIMALS)
    return scores


def _scores(models: dict, extracted: Extracted, stats: SpectrogramStats | None) -> np.ndarray:
    """The one model of ``models`` scoring ``extracted`` (rounded to ``SCORE_DECIMALS``)."""
    (name,) = models
    return model_scores(models, extracted.table, extracted.normalized_spectrograms(stats))[name].to_numpy()


def _audited(trimmed: Extracted, split: str) -> Extracted:
    audited = trimmed.rows(split)
    if audited.table.empty:
        raise InputError(
            f"{paths.AUDIT_EDITED / TRIMMED}: no {split} utterances (audit.split); "
            "rerun the audit_audio stage (dvc repro audit_audio)"
        )
    return audited


def _aligned(extracted: Extracted, audited: Extracted, variant: str) -> Extracted:
    """``extracted``, checked to hold the audited files in their order."""
    if extracted.table["utt_id"].tolist() != audited.table["utt_id"].tolist():
        raise InputError(
            f"{paths.AUDIT_EDITED / variant}: its utterances are not the audited ones of "
            f"{paths.AUDIT_EDITED / TRIMMED}; rerun the audit_audio stage (dvc repro audit_audio)"
        )
    return extracted


def retrain_on_trimmed(trimmed: Extracted, params: Params, name: str) -> Retrained:
    """Model ``name`` (svc, cnn) trained as its stage trains it, but on the train and dev rows of ``trimmed``."""
    check_model(name)
    for split in ("train", "dev"):
        if not (trimmed.table["split"] == split).any():
            raise InputError(
                f"audit.retrain needs the train and dev splits, and the corpus has no {split} split"
            )
    return _retrain_svc(trimmed, params) if name == "svc" else _retrain_cnn(trimmed, params)


def _retrain_svc(trimmed: Extracted, params: Params) -> Retrained:
    train, dev = (LabelledFeatures.from_table(trimmed.rows(split).table) for split in ("train", "dev"))
    model, _, _ = fit_svc(train, dev, params.train_svc, seed=params.seed, n_jobs=params.compute.n_jobs)
    fitted = fit_on_dev(dev.labels, svc_scores(model, dev.features))
    card = make_card("svc", params, fitted, sections=("train_svc", "audit"), trim=params.audit.vad)
    return Retrained(model, card)


def _retrain_cnn(trimmed: Extracted, params: Params) -> Retrained:
    from deepfake_audio.models.cnn import cnn_scores, fit_ensemble  # TensorFlow, for the CNN only

    both = trimmed.rows("train", "dev")
    train_rows, dev_rows = (np.flatnonzero(both.table["split"] == split) for split in ("train", "dev"))
    global_stats = params.features.spectrogram.normalize == "global"
    stats = training_stats(both.spectrograms, train_rows) if global_stats else None
    spectrograms, labels = both.normalized_spectrograms(stats), both.table["label"]
    model, _ = fit_ensemble(
        spectrograms,
        train_rows,
        labels.iloc[train_rows],
        dev_rows=dev_rows,
        dev_labels=labels.iloc[dev_rows],
        params=params.train_cnn,
    )
    fitted = fit_on_dev(labels.iloc[dev_rows], cnn_scores(model, spectrograms, dev_rows))
    card = make_card(
        "cnn", params, fitted, sections=("train_cnn", "audit"), stats=stats, trim=params.audit.vad
    )
    return Retrained(model, card)


def read_audit_scores(name: str, audited: pd.DataFrame, *, retrained: bool) -> pd.DataFrame:
    """Model ``name``'s audit scores (``SCORED``, and ``RETRAINED_SCORED`` when ``retrained``), checked
    to score the ``audited`` files (``utt_id``, ``label``) in their order."""
    path = paths.audit_scores_file(name)
    rerun = f"rerun the audit@{name} stage (dvc repro audit@{name})"
    if not path.is_file():
        raise InputError(f"{path}: not found; {rerun}")
    scores = read_table(path)
    columns = [*SCORED, *(RETRAINED_SCORED if retrained else ())]
    missing = [column for column in ("utt_id", "label", *columns) if column not in scores.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; {rerun}")
    if scores[["utt_id", "label"]].values.tolist() != audited[["utt_id", "label"]].values.tolist():
        raise InputError(f"{path}: its utterances are not the audited ones of {paths.AUDIT_EDITED}; {rerun}")
    values = scores[columns].apply(pd.to_numeric, errors="coerce")
    if values.isna().any().any():
        raise InputError(f"{path}: scores must be numbers, and some are not; {rerun}")
    return values.astype(float)
