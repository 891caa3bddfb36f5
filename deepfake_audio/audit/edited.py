"""The audit's edited audio (stage ``audit_audio``): where each file's speech lies, and the features
of the files cut to it, of the files with a transplanted head, and of both edits.

Every edited file goes through the pipeline's own feature extraction (``extract_in_memory``),
so the models see trimmed or transplanted audio exactly as they would see such a recording
from the corpus. Nothing here depends on a model: ``paths.AUDIT_EDITED`` is written once and
scored by each model's stage (``audit@<model>``).

The folder holds ``speech.csv`` (``SPEECH_COLUMNS``, one row per file of ``edited_splits``) and a
feature folder per variant, laid out as featurize's (``features/store.py``): ``trimmed`` (those
files cut to their speech), ``transplanted`` (the audited split with a head of the other class in
front) and, when ``audit.retrain`` names a model, ``transplanted_trimmed`` (the transplanted files
cut to their speech again). The spectrograms are stored as extracted: global statistics are the
model's to apply.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.audit.annotations import read_annotations
from deepfake_audio.audit.edits import EditedFile, speech_spans
from deepfake_audio.audit.transplant import pick_donors
from deepfake_audio.compute import map_ordered
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import InputError
from deepfake_audio.features.analysis import feature_names
from deepfake_audio.features.extract import extract_in_memory
from deepfake_audio.features.spectrogram import SpectrogramStats
from deepfake_audio.features.store import ID_COLUMNS, SPECTROGRAM_FILE, TABLE_FILE, read_features
from deepfake_audio.io import atomic_path, write_csv
from deepfake_audio.params import AuditParams, Params
from deepfake_audio.progress import Progress
from deepfake_audio.speech import Vad
from deepfake_audio.tables import read_table

SPEECH_COLUMNS = ["utt_id", "split", "label", "duration_s", "start_s", "end_s", "found_by"]
SPEECH_FILE = "speech.csv"
TRIMMED, TRANSPLANTED, TRANSPLANTED_TRIMMED = "trimmed", "transplanted", "transplanted_trimmed"
_RERUN = "rerun the audit_audio stage (dvc repro audit_audio)"
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
        keep = np.flatnonzero(self.table["split"].isin(splits).to_numpy())
        # The splits lie in blocks, so a memory map stays one (a view); scattered rows are copied.
        contiguous = len(keep) > 0 and keep[-1] - keep[0] + 1 == len(keep)
        spectrograms = self.spectrograms[keep[0] : keep[-1] + 1] if contiguous else self.spectrograms[keep]
        return Extracted(self.table.iloc[keep].reset_index(drop=True), spectrograms)


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
            found = self._vad_spans(manifest["path"].to_numpy()[~annotated])
            spans[~annotated] = [(np.nan, np.nan) if span is None else span for span in found]
        whole = np.isnan(spans[:, 0])
        spans[whole] = np.column_stack([np.zeros(whole.sum()), speech["duration_s"].to_numpy()[whole]])
        speech["start_s"], speech["end_s"] = spans[:, 0], spans[:, 1]
        speech["found_by"] = np.select([annotated, whole], ["annotation", "none"], "vad")
        return speech[SPEECH_COLUMNS]

    def _vad_spans(self, audio_files: np.ndarray) -> list[tuple[float, float] | None]:
        """Where the VAD finds the speech of each file, None where it finds none."""
        chunks = [
            audio_files[start : start + _CHUNK].tolist() for start in range(0, len(audio_files), _CHUNK)
        ]
        search = partial(speech_spans, vad=self.vad)
        found: list[tuple[float, float] | None] = []
        with Progress(len(audio_files), "audit: finding speech") as shown:
            for spans_of_chunk in map_ordered(search, chunks, self.params.compute, name="vad"):
                found += spans_of_chunk
                shown.update(len(spans_of_chunk))
        return found

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
        edits, durations = self.trimmed_edits(manifest, speech)
        return self._extract(manifest, edits, durations, desc="audit: trimmed")

    def trimmed_edits(
        self, manifest: pd.DataFrame, speech: pd.DataFrame
    ) -> tuple[list[EditedFile], pd.Series]:
        """The edits of ``trimmed`` and the edited files' durations."""
        edits = [
            EditedFile(path, speech=(start, end))
            for path, start, end in zip(manifest["path"], speech["start_s"], speech["end_s"], strict=True)
        ]
        return edits, speech["end_s"] - speech["start_s"]

    def transplanted(self, manifest: pd.DataFrame, speech: pd.DataFrame | None = None) -> Extracted:
        """Each file with the first ``head_ms`` of a file of the other class in front.

        With ``speech`` (rows aligned with ``manifest``), each file is then cut to its speech
        as it was before the transplant: annotated spans move by the head, the others are
        found again by the VAD.
        """
        edits, durations = self.transplanted_edits(manifest, speech)
        return self._extract(
            manifest,
            edits,
            durations,
            desc="audit: transplanted" if speech is None else "audit: transplanted and trimmed",
        )

    def transplanted_edits(
        self, manifest: pd.DataFrame, speech: pd.DataFrame | None = None
    ) -> tuple[list[EditedFile], pd.Series]:
        """The edits of ``transplanted`` and the edited files' durations (before any trim)."""
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
        return edits, manifest["duration_s"] + head_s

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


def edited_splits(settings: AuditParams) -> list[str]:
    """The splits whose files are trimmed: the audited one, and train and dev to retrain on."""
    retrain_on = ("train", "dev") if settings.retrain else ()
    return [settings.split, *(split for split in retrain_on if split != settings.split)]


def audited_rows(manifest: pd.DataFrame, split: str) -> pd.DataFrame:
    """The manifest's rows of the audited ``split`` (``audit.split``), refused when there are none."""
    audited = manifest[manifest["split"] == split].reset_index(drop=True)
    if audited.empty:
        raise InputError(
            f"audit.split is {split} but {paths.MANIFEST} holds no {split} "
            "utterances; set audit.split to a split the corpus has"
        )
    return audited


def edit_audio(params: Params) -> None:
    """Stage ``audit_audio``: find the speech of the files of ``edited_splits`` and write the features
    of every edited variant to ``paths.AUDIT_EDITED`` (the folder appears only when complete)."""
    settings = params.audit
    manifest = read_manifest(paths.MANIFEST)
    audited = audited_rows(manifest, settings.split)
    corpus = manifest[manifest["split"].isin(edited_splits(settings))].reset_index(drop=True)
    auditor = Auditor(params)
    annotations = read_annotations(settings.annotations) if settings.annotations else None
    speech = auditor.find_speech(corpus, annotations)
    with atomic_path(paths.AUDIT_EDITED) as out:
        out.mkdir()
        write_csv(out / SPEECH_FILE, speech)
        write_extracted(out / TRIMMED, auditor.trimmed(corpus, speech))
        write_extracted(out / TRANSPLANTED, auditor.transplanted(audited))
        if settings.retrain:
            split_speech = speech[speech["split"] == settings.split].reset_index(drop=True)
            write_extracted(out / TRANSPLANTED_TRIMMED, auditor.transplanted(audited, split_speech))


def write_extracted(folder: Path, extracted: Extracted) -> None:
    """``extracted`` as a feature folder (``features/store.py``); floats written to round-trip exactly."""
    folder.mkdir()
    write_csv(folder / TABLE_FILE, extracted.table)
    np.save(folder / SPECTROGRAM_FILE, extracted.spectrograms)


def read_speech(folder: Path = paths.AUDIT_EDITED) -> pd.DataFrame:
    """The speech table the audit_audio stage wrote (``SPEECH_COLUMNS``), checked."""
    path = Path(folder) / SPEECH_FILE
    _require(path)
    speech = read_table(path)
    missing = [column for column in SPEECH_COLUMNS if column not in speech.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; {_RERUN}")
    return speech[SPEECH_COLUMNS]


def read_extracted(variant: str, folder: Path = paths.AUDIT_EDITED) -> Extracted:
    """The features of one edited ``variant`` (``TRIMMED``, ``TRANSPLANTED``, ``TRANSPLANTED_TRIMMED``)."""
    variant_dir = Path(folder) / variant
    for name in (TABLE_FILE, SPECTROGRAM_FILE):
        _require(variant_dir / name)
    try:
        table, spectrograms = read_features(variant_dir)
    except InputError as err:
        raise InputError(f"{str(err).split('; rerun')[0]}; {_RERUN}") from None
    return Extracted(table, spectrograms)  # memory-mapped: a model reads the rows it scores, batch by batch


def _require(path: Path) -> None:
    if not path.is_file():
        raise InputError(f"{path}: not found; {_RERUN}")
