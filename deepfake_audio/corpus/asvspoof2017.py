"""The ASVspoof 2017 V2 corpus layout and protocol files.

Every corpus source (the embedded synthetic one, a download, a local copy) ends up in
this layout, so this one parser serves them all::

    <root>/ASVspoof2017_V2_train/T_1000001.wav ...
    <root>/ASVspoof2017_V2_dev/D_1000001.wav ...
    <root>/ASVspoof2017_V2_eval/E_1000001.wav ...
    <root>/protocol_V2/ASVspoof2017_V2_train.trn.txt (and _dev.trl.txt, _eval.trl.txt)

A protocol line has seven space-separated fields,
``FILE LABEL SPEAKER PHRASE ENVIRONMENT PLAYBACK RECORDER``, with ``-`` where a field
does not apply (genuine rows have ``- - -`` in the last three).

The embedded corpus also holds synthetic-speech spoofs: their PLAYBACK field names the
vocoder (attack ids ``A01``, ``A02``, ...; the real corpus's loudspeakers are ``P01``-``P26``),
which then played no loudspeaker: the vocoded take was recorded directly.
"""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass
from pathlib import Path

from deepfake_audio.errors import InputError
from deepfake_audio.vocabulary import GENUINE, SPOOF

PROTOCOL_LABELS = (GENUINE, SPOOF)
PROTOCOL_DIR = "protocol_V2"
PROTOCOL_FILES = {
    "train": "ASVspoof2017_V2_train.trn.txt",
    "dev": "ASVspoof2017_V2_dev.trl.txt",
    "eval": "ASVspoof2017_V2_eval.trl.txt",
}
FILE_PREFIX = {"train": "T", "dev": "D", "eval": "E"}
NOT_APPLICABLE = "-"
REPLAY = "replay"  # the attack of every spoof whose PLAYBACK field names a loudspeaker
VOCODER_ID = re.compile(r"A\d\d")


class ProtocolError(InputError):
    """A protocol file is missing or has a malformed line."""


@dataclass(frozen=True)
class ProtocolEntry:
    file: str
    label: str
    speaker: str
    phrase: str
    environment: str = NOT_APPLICABLE
    playback: str = NOT_APPLICABLE
    recorder: str = NOT_APPLICABLE

    @property
    def utt_id(self) -> str:
        return Path(self.file).stem

    @property
    def replay_config(self) -> str:
        """The replay configuration (environment, playback, recorder), or ``-``."""
        parts = (self.environment, self.playback, self.recorder)
        if NOT_APPLICABLE in parts:
            return NOT_APPLICABLE
        return "_".join(parts)

    @property
    def attack(self) -> str:
        """The attack: a vocoder id (``A01``...) for synthetic speech, ``replay`` for a replay, or ``-``."""
        if self.label != SPOOF:
            return NOT_APPLICABLE
        return self.playback if VOCODER_ID.fullmatch(self.playback) else REPLAY

    def to_line(self) -> str:
        return " ".join(astuple(self))


def audio_dir(root: Path, split: str) -> Path:
    return Path(root) / f"ASVspoof2017_V2_{split}"


def protocol_path(root: Path, split: str) -> Path:
    return Path(root) / PROTOCOL_DIR / PROTOCOL_FILES[split]


def file_name(split: str, index: int) -> str:
    """The file name of the ``index``-th utterance of a split, as the corpus numbers them."""
    return f"{FILE_PREFIX[split]}_{1000001 + index}.wav"


def parse_protocol(path: Path) -> list[ProtocolEntry]:
    path = Path(path)
    if not path.is_file():
        raise ProtocolError(f"{path}: protocol file not found")
    entries = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{number}"
        if len(fields) != 7:
            raise ProtocolError(f"{where}: expected 7 space-separated fields, got {len(fields)}: {line!r}")
        entry = ProtocolEntry(*fields)
        if entry.label not in PROTOCOL_LABELS:
            raise ProtocolError(
                f"{where}: label must be one of {', '.join(PROTOCOL_LABELS)}, got {entry.label!r}"
            )
        if not entry.file.endswith(".wav"):
            raise ProtocolError(f"{where}: file name must end in .wav, got {entry.file!r}")
        if entry.file in seen:
            raise ProtocolError(f"{where}: {entry.file} already listed on line {seen[entry.file]}")
        seen[entry.file] = number
        entries.append(entry)
    if not entries:
        raise ProtocolError(f"{path}: protocol file lists no utterances")
    return entries


def write_protocol(path: Path, entries: list[ProtocolEntry]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("".join(entry.to_line() + "\n" for entry in entries))
