"""The manifest: one row per utterance, the single table every later stage reads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import soundfile as sf

from deepfake_audio.corpus import asvspoof2017
from deepfake_audio.errors import InputError
from deepfake_audio.params import SPLITS

COLUMNS = [
    "utt_id", "path", "split", "label", "speaker", "condition", "duration_s", "sample_rate",
    "phrase", "environment", "playback", "recorder",
]
LABELS = ("bonafide", "spoof")
_LABEL_FROM_PROTOCOL = {"genuine": "bonafide", "spoof": "spoof"}
_MAX_LISTED = 20


class CorpusError(InputError):
    """The corpus on disk does not match its protocol."""


def manifest_from_asvspoof2017(root: Path) -> pd.DataFrame:
    """Build the manifest of a corpus in ASVspoof 2017 V2 layout, checking it on the way.

    Every protocol row must have a readable WAV and every WAV a protocol row; a mismatch
    stops with the list of offending files.
    """
    root = Path(root)
    rows = []
    for split in SPLITS:
        entries = asvspoof2017.parse_protocol(asvspoof2017.protocol_path(root, split))
        folder = asvspoof2017.audio_dir(root, split)
        listed = {entry.file for entry in entries}
        on_disk = {path.name for path in folder.glob("*.wav")} if folder.is_dir() else set()
        _refuse_if_any(f"{folder}: protocol rows without a WAV file", sorted(listed - on_disk))
        _refuse_if_any(f"{folder}: WAV files not in the protocol", sorted(on_disk - listed))
        unreadable = []
        for entry in entries:
            path = folder / entry.file
            try:
                info = sf.info(path)
            except (sf.LibsndfileError, RuntimeError) as err:
                unreadable.append(f"{entry.file} ({err})")
                continue
            rows.append({
                "utt_id": entry.utt_id,
                "path": str(path),
                "split": split,
                "label": _LABEL_FROM_PROTOCOL[entry.label],
                "speaker": entry.speaker,
                "condition": entry.replay_config,
                "duration_s": round(info.frames / info.samplerate, 4),
                "sample_rate": info.samplerate,
                "phrase": entry.phrase,
                "environment": entry.environment,
                "playback": entry.playback,
                "recorder": entry.recorder,
            })
        _refuse_if_any(f"{folder}: unreadable audio", unreadable)
    manifest = pd.DataFrame(rows, columns=COLUMNS)
    check_splits(manifest, root)
    return manifest


def check_splits(manifest: pd.DataFrame, source: Path | str) -> None:
    """Every split must hold both classes: training and the EER need bona fide and spoof."""
    for split in SPLITS:
        present = set(manifest.loc[manifest["split"] == split, "label"])
        missing = [label for label in LABELS if label not in present]
        if missing:
            raise CorpusError(f"{source}: the {split} split has no {' and no '.join(missing)} utterances")


def read_manifest(path: Path) -> pd.DataFrame:
    # Ids such as "-" or "NA" are data, not missing values.
    return pd.read_csv(path, keep_default_na=False, dtype={"utt_id": str, "speaker": str})


def summarize(manifest: pd.DataFrame) -> dict:
    """Counts per split and label, and durations: the content of metrics/data.json."""
    summary = {}
    for split in SPLITS:
        part = manifest[manifest["split"] == split]
        durations = part["duration_s"]
        summary[split] = {
            "n_utterances": int(len(part)),
            **{f"n_{label}": int((part["label"] == label).sum()) for label in LABELS},
            "n_speakers": int(part["speaker"].nunique()),
            "n_conditions": int(part.loc[part["label"] == "spoof", "condition"].nunique()),
            "hours": round(float(durations.sum()) / 3600, 4),
            "duration_s_mean": round(float(durations.mean()), 3) if len(part) else 0.0,
            "duration_s_min": round(float(durations.min()), 3) if len(part) else 0.0,
            "duration_s_max": round(float(durations.max()), 3) if len(part) else 0.0,
        }
    return summary


def _refuse_if_any(what: str, items: list[str]) -> None:
    if not items:
        return
    shown = ", ".join(items[:_MAX_LISTED])
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    raise CorpusError(f"{what} ({len(items)}): {shown}{more}")
