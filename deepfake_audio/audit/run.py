"""The audit's work: find the speech, extract the edited files' features, retrain on trimmed
audio, and the audit as the stage runs it (``audit_corpus``).

Every edited file goes through the pipeline's own feature extraction (``extract_into``),
so the models see trimmed or transplanted audio exactly as they would see such a
recording from the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.audit import figures
from deepfake_audio.audit.annotations import read_annotations
from deepfake_audio.audit.edits import EditedFile, speech_spans
from deepfake_audio.audit.transplant import pick_donors
from deepfake_audio.audit.verdicts import (
    RETRAINED_KEY,
    audit_models,
    audit_retrained,
    speech_summary,
    verdicts_markdown,
)
from deepfake_audio.compute import map_ordered
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import InputError
from deepfake_audio.features.analysis import feature_names
from deepfake_audio.features.extract import extract_in_memory
from deepfake_audio.features.spectrogram import SpectrogramStats, training_stats
from deepfake_audio.features.store import ID_COLUMNS
from deepfake_audio.io import atomic_path, write_csv, write_json
from deepfake_audio.metrics import dev_threshold
from deepfake_audio.models.card import ModelCard, make_card
from deepfake_audio.models.cnn import cnn_scores, fit_ensemble
from deepfake_audio.models.files import read_card
from deepfake_audio.models.svc import LabelledFeatures, fit_svc, svc_scores
from deepfake_audio.models.trained import (
    decision_threshold,
    load_models,
    model_path,
    model_scores,
    read_scores,
    save_model,
)
from deepfake_audio.params import Params
from deepfake_audio.speech import Vad
from deepfake_audio.vocabulary import BONAFIDE, FRACTION_DECIMALS, MODEL_NAMES, SPOOF

SPEECH_COLUMNS = ["utt_id", "split", "label", "duration_s", "start_s", "end_s", "found_by"]
_CHUNK = 32  # files per VAD task (workers import the edits module only: no TensorFlow)
_END_TOLERANCE_S = 0.05  # annotations ending this little after their file are cut to it


@dataclass(frozen=True)
class Extracted:
    """Features extracted from files: the feature table (ID columns and named features) and spectrograms."""

    table: pd.DataFrame
    spectrograms: np.ndarray  # float16 (rows, bins, frames); global statistics not yet applied

    def normalized_spectrograms(self, stats: SpectrogramStats | None) -> np.ndarray:
        # float16, as featurize stores them and the Detector feeds them
        return self.spectrograms if stats is None else stats.apply(self.spectrograms)

    def rows(self, *splits: str) -> Extracted:
        keep = self.table["split"].isin(splits).to_numpy()
        return Extracted(self.table[keep].reset_index(drop=True), self.spectrograms[keep])


class Auditor:
    """Edits corpus files and extracts their features as the pipeline does."""

    def __init__(self, params: Params):
        self.params = params
        self.settings = params.audit
        self.sample_rate = params.data.sample_rate
        self.vad = Vad(
            self.settings.vad, self.sample_rate, params.features.win_length, params.features.hop_length
        )

    def find_speech(self, manifest: pd.DataFrame, annotations: pd.DataFrame | None) -> pd.DataFrame:
        """Where each file's speech lies (``SPEECH_COLUMNS``); ``found_by`` is ``annotation``, ``vad``, or
        ``none`` where the VAD found no speech and the file is kept whole."""
        speech = manifest[["utt_id", "split", "label", "duration_s"]].reset_index(drop=True)
        spans = np.full((len(speech), 2), np.nan)
        annotated = np.zeros(len(speech), dtype=bool)
        if annotations is not None:
            annotated = speech["utt_id"].isin(annotations.index).to_numpy()
            spans[annotated] = self._annotated_spans(speech[annotated], annotations)
        if not annotated.all():
            audio_files = manifest["path"].to_numpy()[~annotated]
            chunks = [
                audio_files[start : start + _CHUNK].tolist() for start in range(0, len(audio_files), _CHUNK)
            ]
            search = partial(speech_spans, vad=self.vad)
            found = [
                span
                for spans_of_chunk in map_ordered(search, chunks, self.params.compute, name="vad")
                for span in spans_of_chunk
            ]
            spans[~annotated] = [(np.nan, np.nan) if span is None else span for span in found]
        whole = np.isnan(spans[:, 0])
        spans[whole] = np.column_stack([np.zeros(whole.sum()), speech["duration_s"].to_numpy()[whole]])
        speech["start_s"], speech["end_s"] = spans[:, 0], spans[:, 1]
        speech["found_by"] = np.select([annotated, whole], ["annotation", "none"], "vad")
        return speech[SPEECH_COLUMNS]

    def _annotated_spans(self, speech: pd.DataFrame, annotations: pd.DataFrame) -> np.ndarray:
        """The annotated spans of ``speech``'s files, checked against their durations."""
        source = self.settings.annotations
        if speech.empty:
            raise InputError(
                f"{source}: none of its {len(annotations)} utt_ids is a file the audit reads "
                f"(first {annotations.index[0]!r}); the ids must be the manifest's utt_id"
            )
        spans = annotations.loc[speech["utt_id"], ["start_s", "end_s"]].to_numpy(dtype=float, copy=True)
        durations, ids = speech["duration_s"].to_numpy(), speech["utt_id"].to_numpy()
        shortest = self.params.features.win_length / self.sample_rate
        problems = [
            (
                spans[:, 1] > durations + _END_TOLERANCE_S,
                f"end more than {_END_TOLERANCE_S:g} s after their file",
            ),
            (
                np.minimum(spans[:, 1], durations) - spans[:, 0] < shortest,
                f"span less than one analysis window ({shortest:g} s) of the file",
            ),
        ]
        for wrong, what in problems:
            if wrong.any():
                raise InputError(f"{source}: {wrong.sum()} annotation(s) {what}, first {ids[wrong][0]!r}")
        spans[:, 1] = np.minimum(spans[:, 1], durations)
        return spans

    def trimmed(self, manifest: pd.DataFrame, speech: pd.DataFrame) -> Extracted:
        """The files cut to ``speech`` (rows aligned with ``manifest``)."""
        edits = [
            EditedFile(path, speech=(start, end))
            for path, start, end in zip(manifest["path"], speech["start_s"], speech["end_s"], strict=True)
        ]
        return self._extract(manifest, edits, speech["end_s"] - speech["start_s"], desc="audit: trimmed")

    def transplanted(self, manifest: pd.DataFrame, speech: pd.DataFrame | None = None) -> Extracted:
        """Each file with the first ``head_ms`` of a file of the other class in front.

        With ``speech`` (rows aligned with ``manifest``), each file is then cut to its speech
        as it was before the transplant: annotated spans move by the head, the others are
        found again by the VAD.
        """
        head_s = self.settings.transplant.head_ms / 1000
        shortest = manifest.iloc[manifest["duration_s"].argmin()]
        if shortest["duration_s"] < head_s:
            raise InputError(
                f"audit.transplant.head_ms ({self.settings.transplant.head_ms:g}) is longer than "
                f"{shortest['path']} ({shortest['duration_s']:g} s); lower it"
            )
        audio_files = manifest["path"].to_numpy()
        try:
            donors = audio_files[pick_donors(manifest["label"], self.settings.transplant.seed)]
        except ValueError as err:
            raise InputError(f"audit.split ({self.settings.split}): {err}") from None
        edits = [
            EditedFile(path, donor=donor, head_s=head_s)
            for path, donor in zip(audio_files, donors, strict=True)
        ]
        if speech is not None:
            edits = [
                replace(edit, speech=(start + head_s, end + head_s))
                if found_by == "annotation"
                else replace(edit, vad=self.vad)
                for edit, start, end, found_by in zip(
                    edits, speech["start_s"], speech["end_s"], speech["found_by"], strict=True
                )
            ]
        return self._extract(
            manifest,
            edits,
            manifest["duration_s"] + head_s,
            desc="audit: transplanted" if speech is None else "audit: transplanted and trimmed",
        )

    def _extract(self, manifest: pd.DataFrame, edits: list[EditedFile], durations, *, desc: str) -> Extracted:
        features, spectrograms = extract_in_memory(
            edits,
            durations,
            self.params.analysis_settings,
            compute=self.params.compute,
            load=EditedFile.load,
            desc=desc,
        )
        table = pd.concat(
            [
                manifest[ID_COLUMNS].reset_index(drop=True),
                pd.DataFrame(features, columns=feature_names(self.params.features)),
            ],
            axis=1,
        )
        return Extracted(table, spectrograms)


@dataclass(frozen=True)
class Retrained:
    """A model trained on trimmed audio, with its card (which tells ``predict`` to trim too)."""

    model: object
    card: ModelCard


def retrain_on_trimmed(trimmed: Extracted, params: Params) -> dict[str, Retrained]:
    """The models of ``params.audit.retrain``, trained as their stages train them but on ``trimmed``."""
    train, dev = (trimmed.rows(split) for split in ("train", "dev"))
    for split, part in (("train", train), ("dev", dev)):
        if part.table.empty:
            raise InputError(
                f"audit.retrain needs the train and dev splits, and the corpus has no {split} split"
            )
    vad, retrained = params.audit.vad, {}
    if "svc" in params.audit.retrain:
        dev_features = LabelledFeatures.from_table(dev.table)
        model, _, _ = fit_svc(
            LabelledFeatures.from_table(train.table),
            dev_features,
            params.train_svc,
            seed=params.seed,
            n_jobs=params.compute.n_jobs,
        )
        threshold = dev_threshold(dev_features.labels, svc_scores(model, dev_features.features))
        retrained["svc"] = Retrained(
            model, make_card("svc", params, threshold, sections=("train_svc", "audit"), trim=vad)
        )
    if "cnn" in params.audit.retrain:
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
        threshold = dev_threshold(labels.iloc[dev_rows], cnn_scores(model, spectrograms, dev_rows))
        retrained["cnn"] = Retrained(
            model, make_card("cnn", params, threshold, sections=("train_cnn", "audit"), stats=stats, trim=vad)
        )
    return retrained


def audit_corpus(params: Params) -> None:
    """Audit the models of ``paths.MODELS`` on ``audit.split``: metrics/audit.json (the numbers and each
    model's shortcut risk), plots/audit/ (plot data, verdicts.md, figures in images/) and
    models/trimmed/ (the models of ``audit.retrain``, trained on trimmed audio)."""
    settings = params.audit
    manifest = read_manifest(paths.MANIFEST)
    audited = manifest[manifest["split"] == settings.split].reset_index(drop=True)
    if audited.empty:
        raise InputError(
            f"audit.split is {settings.split} but {paths.MANIFEST} holds no {settings.split} "
            "utterances; set audit.split to a split the corpus has"
        )
    models = load_models(paths.MODELS, MODEL_NAMES)
    thresholds = {name: decision_threshold(paths.MODELS, name) for name in models}
    labels = audited["label"]

    auditor = Auditor(params)
    splits = [
        settings.split,
        *(split for split in ("train", "dev") if settings.retrain and split != settings.split),
    ]
    corpus = manifest[manifest["split"].isin(splits)].reset_index(drop=True)
    annotations = read_annotations(settings.annotations) if settings.annotations else None
    speech = auditor.find_speech(corpus, annotations)
    trimmed = auditor.trimmed(corpus, speech)
    trimmed_split = trimmed.rows(settings.split)
    split_speech = speech[speech["split"] == settings.split].reset_index(drop=True)

    cnn_stats = read_card(model_path(paths.MODELS, "cnn"), "cnn").stats
    report = audit_models(
        labels,
        _score_files(audited["utt_id"], settings.split),
        _scores(models, trimmed_split, cnn_stats),
        transplanted=_scores(models, auditor.transplanted(audited), cnn_stats),
        thresholds=thresholds,
        settings=settings,
    )

    retrained = retrain_on_trimmed(trimmed, params) if settings.retrain else {}
    with atomic_path(paths.TRIMMED_MODELS) as out:
        out.mkdir()
        for name, model in retrained.items():
            save_model(name, model.model, out, card=model.card)
    retrained_report = {}
    if retrained:
        chosen = {name: model.model for name, model in retrained.items()}
        stats = retrained["cnn"].card.stats if "cnn" in retrained else None
        retrained_report = audit_retrained(
            labels,
            _scores(chosen, trimmed_split, stats),
            transplanted=_scores(chosen, auditor.transplanted(audited, split_speech), stats),
            thresholds={name: model.card.threshold for name, model in retrained.items()},
            settings=settings,
        )

    with atomic_path(paths.AUDIT_PLOTS) as out:
        (out / "images").mkdir(parents=True)
        write_csv(out / "eer.csv", figures.eer_frame(report, retrained_report).round(FRACTION_DECIMALS))
        write_csv(
            out / "transplant.csv",
            figures.transplant_frame(report, retrained_report).round(FRACTION_DECIMALS),
        )
        write_csv(out / "speech.csv", speech.round(3))
        figures.summary_png(
            report,
            retrained_report,
            settings.split,
            head_ms=settings.transplant.head_ms,
            path=out / "images" / "audit.png",
        )
        figures.speech_png(split_speech, out / "images" / "speech.png")
        (out / paths.AUDIT_VERDICTS.name).write_text(verdicts_markdown(report, retrained_report, settings))
    write_json(
        paths.metrics_file("audit"),
        {
            "split": settings.split,
            "trim": speech_summary(split_speech),
            "transplant": {
                "head_ms": settings.transplant.head_ms,
                "n_bonafide": int((labels == BONAFIDE).sum()),
                "n_spoof": int((labels == SPOOF).sum()),
            },
            **report,
            **({RETRAINED_KEY: retrained_report} if retrained_report else {}),
        },
    )


def _scores(models: dict, extracted: Extracted, stats: SpectrogramStats | None) -> pd.DataFrame:
    return model_scores(models, extracted.table, extracted.normalized_spectrograms(stats))


def _score_files(utt_ids: pd.Series, split: str) -> pd.DataFrame:
    """The untrimmed scores evaluate wrote, one column per model, in the order of ``utt_ids``."""
    columns = {}
    for name in MODEL_NAMES:
        scores = read_scores(name, split).set_index("utt_id")["score"]
        missing = utt_ids[~utt_ids.isin(scores.index)]
        if len(missing):
            raise InputError(
                f"{paths.scores_file(name)}: no score for {len(missing)} {split} utterance(s) of "
                f"{paths.MANIFEST}, first {missing.iloc[0]!r}; rerun the evaluate stage"
            )
        columns[name] = scores.reindex(utt_ids).to_numpy()
    return pd.DataFrame(columns)
