"""The manifest: one row per utterance, the single table every later stage reads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from joblib import Parallel, delayed

from deepfake_audio.audio import AudioError, inspect_audio
from deepfake_audio.corpus import asvspoof2017
from deepfake_audio.errors import InputError
from deepfake_audio.tables import read_table, refuse_if_any
from deepfake_audio.vocabulary import BONAFIDE, GENUINE, LABELS, SPLITS, SPOOF

COLUMNS = [
    "utt_id",
    "path",
    "split",
    "label",
    "speaker",
    "condition",
    "attack",
    "duration_s",
    "sample_rate",
    "phrase",
    "environment",
    "playback",
    "recorder",
]
_LABEL_FROM_PROTOCOL = {GENUINE: BONAFIDE, SPOOF: SPOOF}
REJECTED_COLUMNS = ["utt_id", "path", "reason"]  # data/prepared/rejected.csv: the files left out, and why
_SCREEN_CHUNK = 256  # files per parallel task


class CorpusError(InputError):
    """The corpus on disk does not match its protocol."""


def manifest_from_asvspoof2017(root: Path, splits: tuple[str, ...] = SPLITS) -> pd.DataFrame:
    """The manifest of a corpus in ASVspoof 2017 V2 layout, checked against its protocols.

    Every protocol row must have a WAV and every WAV a protocol row; a mismatch stops
    with the list of offending files. Durations are filled in by ``screen_audio``.
    """
    root = Path(root)
    rows = []
    for split in splits:
        entries = asvspoof2017.parse_protocol(asvspoof2017.protocol_path(root, split))
        folder = asvspoof2017.audio_dir(root, split)
        listed = {entry.file for entry in entries}
        on_disk = {path.name for path in folder.glob("*.wav")} if folder.is_dir() else set()
        refuse_if_any(
            f"{folder}: protocol rows without a WAV file", sorted(listed - on_disk), error=CorpusError
        )
        refuse_if_any(f"{folder}: WAV files not in the protocol", sorted(on_disk - listed), error=CorpusError)
        rows += [
            {
                "utt_id": entry.utt_id,
                "path": str(folder / entry.file),
                "split": split,
                "label": _LABEL_FROM_PROTOCOL[entry.label],
                "speaker": entry.speaker,
                "condition": entry.replay_config,
                "attack": entry.attack,
                "phrase": entry.phrase,
                "environment": entry.environment,
                "playback": entry.playback,
                "recorder": entry.recorder,
            }
            for entry in entries
        ]
    return pd.DataFrame(rows, columns=COLUMNS)


def screen_audio(
    manifest: pd.DataFrame,
    min_duration_s: float,
    on_bad_audio: str,
    *,
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, list[dict]]:
    """Read every file once: fill in duration and sample rate, and find the unusable ones.

    Unreadable, empty, too short, non-finite or silent files either stop the pipeline
    with the list (``on_bad_audio: fail``) or are left out and reported (``skip``).
    Returns the usable rows and one ``{utt_id, path, reason}`` per file left out.
    """
    paths = manifest["path"].tolist()
    chunks = [paths[start : start + _SCREEN_CHUNK] for start in range(0, len(paths), _SCREEN_CHUNK)]
    results = [
        result
        for chunk in Parallel(n_jobs=n_jobs)(
            delayed(_inspect_files)(chunk, min_duration_s) for chunk in chunks
        )
        for result in chunk
    ]
    rejected = [
        {"utt_id": utt_id, "path": path, "reason": reason}
        for utt_id, path, (_, _, reason) in zip(manifest["utt_id"], paths, results, strict=True)
        if reason
    ]
    if rejected and on_bad_audio == "fail":
        refuse_if_any(
            "unusable audio (set prepare.on_bad_audio: skip to leave such files out)",
            [f"{row['path']} ({row['reason']})" for row in rejected],
            error=CorpusError,
        )
    screened = manifest.assign(
        duration_s=[round(duration, 4) for duration, _, _ in results],
        sample_rate=[rate for _, rate, _ in results],
    )[COLUMNS]
    usable = [reason is None for _, _, reason in results]
    return screened[usable].reset_index(drop=True), rejected


def _inspect_files(paths: list[str], min_duration_s: float) -> list[tuple[float, int, str | None]]:
    """(duration, sample rate, None) for each usable file, (nan, 0, reason) for the others."""
    results: list[tuple[float, int, str | None]] = []
    for path in paths:
        try:
            results.append((*inspect_audio(path, min_duration_s), None))
        except AudioError as err:
            results.append((float("nan"), 0, err.reason))
    return results


def check_splits(manifest: pd.DataFrame, source: Path | str, splits: tuple[str, ...] = SPLITS) -> None:
    """Every split must hold both classes: training and the EER need bona fide and spoof."""
    for split in splits:
        present = set(manifest.loc[manifest["split"] == split, "label"])
        missing = [label for label in LABELS if label not in present]
        if len(missing) == len(LABELS):
            raise CorpusError(f"{source}: the {split} split is empty")
        if missing:
            raise CorpusError(f"{source}: the {split} split has no {missing[0]} utterances")


def read_manifest(path: Path) -> pd.DataFrame:
    return read_table(path)


def summarize(manifest: pd.DataFrame, rejected: list[dict]) -> dict:
    """Counts per split and label, durations and the number of files left out: metrics/data.json
    (numbers only; the files and reasons are in ``rejected_table``)."""
    summary: dict[str, dict[str, float] | int] = {}
    for split in (name for name in SPLITS if (manifest["split"] == name).any()):
        part = manifest[manifest["split"] == split]
        durations = part["duration_s"]
        summary[split] = {
            "n_utterances": int(len(part)),
            **{f"n_{label}": int((part["label"] == label).sum()) for label in LABELS},
            "n_speakers": int(part["speaker"].nunique()),
            "n_conditions": int(part.loc[part["label"] == SPOOF, "condition"].nunique()),
            "hours": round(float(durations.sum()) / 3600, 4),
            "duration_s_mean": round(float(durations.mean()), 3),
            "duration_s_min": round(float(durations.min()), 3),
            "duration_s_max": round(float(durations.max()), 3),
        }
    summary["n_rejected"] = len(rejected)
    return summary


def rejected_table(rejected: list[dict]) -> pd.DataFrame:
    """The files ``screen_audio`` left out, one row each: utt_id, path, reason."""
    return pd.DataFrame(rejected, columns=REJECTED_COLUMNS)
