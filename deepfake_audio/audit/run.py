"""The audit's work: find the speech, analyse the edited files, retrain on trimmed audio.

Every edited file goes through the pipeline's own feature extraction (``analyse_into``),
so the models see trimmed or transplanted audio exactly as they would see such a
recording from the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd

from deepfake_audio.audit.edits import EditedFile, speech_spans
from deepfake_audio.audit.transplant import pick_donors
from deepfake_audio.audit.trim import Vad
from deepfake_audio.compute import map_ordered
from deepfake_audio.errors import InputError
from deepfake_audio.features.analysis import feature_names
from deepfake_audio.features.extract import analyse_in_memory
from deepfake_audio.features.spectrogram import SpectrogramStats, training_stats
from deepfake_audio.features.store import ID_COLUMNS
from deepfake_audio.metrics import dev_threshold
from deepfake_audio.models.card import ModelCard, make_card
from deepfake_audio.models.cnn import cnn_scores, train_ensemble
from deepfake_audio.models.svc import LabelledFeatures, fit_svc, svc_scores
from deepfake_audio.params import Params

SPEECH_COLUMNS = ["utt_id", "split", "label", "duration_s", "start_s", "end_s", "found_by"]
_CHUNK = 32  # files per VAD task (workers import the edits module only: no TensorFlow)
_END_TOLERANCE_S = 0.05  # annotations ending this little after their file are cut to it


@dataclass(frozen=True)
class Analysed:
    """Analysed utterances: the feature table (ID columns and named features) and CNN inputs."""

    table: pd.DataFrame
    spectrograms: np.ndarray  # float16 (rows, bins, frames); global statistics not yet applied

    def cnn_input(self, stats: SpectrogramStats | None) -> np.ndarray:
        # float16, as featurize stores them and the Detector feeds them
        return self.spectrograms if stats is None else stats.apply(self.spectrograms).astype(np.float16)

    def rows(self, *splits: str) -> Analysed:
        keep = self.table["split"].isin(splits).to_numpy()
        return Analysed(self.table[keep].reset_index(drop=True), self.spectrograms[keep])


class Auditor:
    """Edits corpus files and analyses them with the pipeline's features."""

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
            paths = manifest["path"].to_numpy()[~annotated]
            chunks = [paths[start : start + _CHUNK].tolist() for start in range(0, len(paths), _CHUNK)]
            search = partial(speech_spans, vad=self.vad)
            found = [
                span
                for spans_of_chunk in map_ordered(search, chunks, self.params.compute, "vad")
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

    def trimmed(self, manifest: pd.DataFrame, speech: pd.DataFrame) -> Analysed:
        """The files cut to ``speech`` (rows aligned with ``manifest``)."""
        edits = [
            EditedFile(path, speech=(start, end))
            for path, start, end in zip(manifest["path"], speech["start_s"], speech["end_s"])
        ]
        return self._analyse(manifest, edits, speech["end_s"] - speech["start_s"], "audit: trimmed")

    def transplanted(self, manifest: pd.DataFrame, speech: pd.DataFrame | None = None) -> Analysed:
        """Each file with the first ``head_ms`` of a file of the other class in front.

        With ``speech`` (rows aligned with ``manifest``), each file is then cut to its speech
        as it was before the transplant: annotated spans move by the head, the others are
        found again by the VAD.
        """
        head_s = self.settings.transplant.head_ms / 1000
        shortest = manifest.loc[manifest["duration_s"].idxmin()]
        if shortest["duration_s"] < head_s:
            raise InputError(
                f"audit.transplant.head_ms ({self.settings.transplant.head_ms:g}) is longer than "
                f"{shortest['path']} ({shortest['duration_s']:g} s); lower it"
            )
        paths = manifest["path"].to_numpy()
        try:
            donors = paths[pick_donors(manifest["label"], self.settings.transplant.seed)]
        except ValueError as err:
            raise InputError(f"audit.split ({self.settings.split}): {err}") from None
        edits = [EditedFile(path, donor=donor, head_s=head_s) for path, donor in zip(paths, donors)]
        if speech is not None:
            edits = [
                replace(edit, speech=(start + head_s, end + head_s))
                if found_by == "annotation"
                else replace(edit, vad=self.vad)
                for edit, start, end, found_by in zip(
                    edits, speech["start_s"], speech["end_s"], speech["found_by"]
                )
            ]
        return self._analyse(
            manifest,
            edits,
            manifest["duration_s"] + head_s,
            "audit: transplanted" if speech is None else "audit: transplanted and trimmed",
        )

    def _analyse(self, manifest: pd.DataFrame, edits: list[EditedFile], durations, desc: str) -> Analysed:
        features, spectrograms = analyse_in_memory(
            edits,
            durations,
            self.sample_rate,
            self.params.features,
            self.params.compute,
            EditedFile.load,
            desc,
        )
        table = pd.concat(
            [
                manifest[ID_COLUMNS].reset_index(drop=True),
                pd.DataFrame(features, columns=feature_names(self.params.features)),
            ],
            axis=1,
        )
        return Analysed(table, spectrograms)


@dataclass(frozen=True)
class Retrained:
    """A model trained on trimmed audio, with its card (which tells ``predict`` to trim too)."""

    model: object
    card: ModelCard


def retrain_on_trimmed(trimmed: Analysed, params: Params) -> dict[str, Retrained]:
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
            params.seed,
            n_jobs=params.compute.n_jobs,
        )
        threshold = dev_threshold(dev_features.labels, svc_scores(model, dev_features.features))
        retrained["svc"] = Retrained(
            model, make_card("svc", params, threshold, ("train_svc", "audit"), trim=vad)
        )
    if "cnn" in params.audit.retrain:
        both = trimmed.rows("train", "dev")
        train_rows, dev_rows = (np.flatnonzero(both.table["split"] == split) for split in ("train", "dev"))
        global_stats = params.features.spectrogram.normalize == "global"
        stats = training_stats(both.spectrograms, train_rows) if global_stats else None
        spectrograms, labels = both.cnn_input(stats), both.table["label"]
        model, _ = train_ensemble(
            spectrograms,
            train_rows,
            labels.iloc[train_rows],
            dev_rows,
            labels.iloc[dev_rows],
            params.train_cnn,
        )
        threshold = dev_threshold(labels.iloc[dev_rows], cnn_scores(model, spectrograms, dev_rows))
        retrained["cnn"] = Retrained(
            model, make_card("cnn", params, threshold, ("train_cnn", "audit"), stats, trim=vad)
        )
    return retrained
