"""ASVspoof 2019 LA (synthetic and converted speech) and PA (simulated replay), used where they lie.

``data.root`` is the track's folder as Edinburgh DataShare 10283/3336 unpacks it (``LA/`` or
``PA/``)::

    <root>/ASVspoof2019_LA_{train,dev,eval}/flac/LA_T_1138215.flac ...
    <root>/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.{train.trn,dev.trl,eval.trl}.txt
    <root>/ASVspoof2019_LA_asv_protocols/ASVspoof2019.LA.asv.{dev,eval}.{female,male}.trn.txt

(``PA`` alike). A CM protocol line has five space-separated fields, as the organisers' README
(README.LA.txt / README.PA.txt, section 3) gives them:

- LA: ``SPEAKER_ID AUDIO_FILE_NAME - SYSTEM_ID KEY``, e.g. ``LA_0079 LA_T_1271820 - A01 spoof``;
  SYSTEM_ID is A01-A19, ``-`` for bona fide (the third field is kept ``-`` to match PA);
- PA: ``SPEAKER_ID AUDIO_FILE_NAME ENVIRONMENT_ID ATTACK_ID KEY``, e.g.
  ``PA_0079 PA_T_0000001 aaa - bonafide``; ENVIRONMENT_ID a triplet (room size, T60,
  talker-to-ASV distance) of letters a-c, ATTACK_ID a pair (attacker-to-talker distance,
  replay device quality) of letters A-C, ``-`` for bona fide;
- KEY is ``bonafide`` or ``spoof``.

The dev and eval folders also hold the ASV enrolment recordings, listed only in the
enrolment lists (``*.trn.txt``) of ``ASVspoof2019_<track>_asv_protocols`` (LA: 142 in dev,
696 in eval, per the organisers in asvspoof-challenge/2021 issue #18): they are accepted
there and left out of the manifest.

In the manifest, the system or attack id goes into ``condition`` and ``attack``; PA's
environment triplet into ``environment``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from deepfake_audio.corpus import local_copy
from deepfake_audio.corpus.asvspoof2017 import ProtocolError
from deepfake_audio.corpus.local_copy import KEYS, NOT_APPLICABLE, Listing, Published
from deepfake_audio.vocabulary import BONAFIDE

TRACKS = ("LA", "PA")
FIELDS = {
    "LA": ("SPEAKER_ID", "AUDIO_FILE_NAME", "-", "SYSTEM_ID", "KEY"),
    "PA": ("SPEAKER_ID", "AUDIO_FILE_NAME", "ENVIRONMENT_ID", "ATTACK_ID", "KEY"),
}
ATTACK_ID = {"LA": re.compile(r"A(0[1-9]|1[0-9])"), "PA": re.compile(r"[ABC]{2}")}
ATTACK_IDS = {"LA": "A01-A19", "PA": "AA-CC"}
ENVIRONMENT_ID = re.compile(r"[abc]{3}")
PROTOCOL_SUFFIX = {"train": "trn", "dev": "trl", "eval": "trl"}
SUFFIX = ".flac"

# (bona fide, spoof) CM trials per split. Published in the ASVspoof 2019 database paper (Wang
# et al., "ASVspoof 2019: a large-scale public database of synthesized, converted and replayed
# speech", Computer Speech & Language 64, 2020, arXiv:1911.01601; train and dev also in the
# ASVspoof 2019 evaluation plan v0.4) -- the tables themselves could not be read from here;
# the numbers agree with direct counts of the CM protocols reported by users (LA 25,380 / 24,844
# / 71,237 lines; PA 54,000 / 29,700 / 134,730 lines with these class splits) and with the
# organisers' own line counts in asvspoof-challenge/2021 issue #18 (LA dev 24,844, eval 71,237).
PUBLISHED_COUNTS = {
    "LA": {
        "train": (2_580, 22_800),
        "dev": (2_548, 22_296),
        "eval": (7_355, 63_882),
    },
    "PA": {
        "train": (5_400, 48_600),
        "dev": (5_400, 24_300),
        "eval": (18_090, 116_640),
    },
}
COUNTS_SOURCE = "Wang et al., ASVspoof 2019 database, Computer Speech & Language 64, 2020"


def audio_dir(root: Path, track: str, split: str) -> Path:
    return Path(root) / f"ASVspoof2019_{track}_{split}" / "flac"


def protocol_path(root: Path, track: str, split: str) -> Path:
    name = f"ASVspoof2019.{track}.cm.{split}.{PROTOCOL_SUFFIX[split]}.txt"
    return Path(root) / f"ASVspoof2019_{track}_cm_protocols" / name


def enrolment_lists(root: Path, track: str, split: str) -> list[Path]:
    folder = Path(root) / f"ASVspoof2019_{track}_asv_protocols"
    return sorted(folder.glob(f"ASVspoof2019.{track}.asv.{split}.*.trn.txt")) if folder.is_dir() else []


def parse_protocol(path: Path, track: str) -> list[dict[str, str]]:
    """The rows of a CM protocol of ``track`` (LA or PA), each field checked."""
    fields = FIELDS[track]
    rows, names = [], []
    for where, (speaker, name, environment, attack, key) in local_copy.protocol_lines(path, fields):
        local_copy.choice(key, KEYS, where=where, name="KEY")
        if track == "LA" and environment != NOT_APPLICABLE:
            raise ProtocolError(f"{where}: the third field is '-' in LA protocols, got {environment!r}")
        if track == "PA" and not ENVIRONMENT_ID.fullmatch(environment):
            raise ProtocolError(f"{where}: ENVIRONMENT_ID must be three letters a-c, got {environment!r}")
        _check_attack(attack, key, where=where, track=track)
        names.append((where, name))
        rows.append(
            {
                "file": f"{name}{SUFFIX}",
                "utt_id": name,
                "label": key,
                "speaker": speaker,
                "condition": attack,
                "attack": attack,
                "environment": environment,
            }
        )
    local_copy.refuse_repeats(names)
    return rows


def _check_attack(attack: str, key: str, *, where: str, track: str) -> None:
    name = FIELDS[track][3]
    if key == BONAFIDE and attack != NOT_APPLICABLE:
        raise ProtocolError(f"{where}: {name} must be '-' for a bonafide row, got {attack!r}")
    if key != BONAFIDE and not ATTACK_ID[track].fullmatch(attack):
        raise ProtocolError(f"{where}: {name} must be {ATTACK_IDS[track]} for a spoof row, got {attack!r}")


def listings(root: Path, splits: tuple[str, ...], *, track: str) -> list[Listing]:
    return [
        Listing(
            split=split,
            folder=audio_dir(root, track, split),
            suffix=SUFFIX,
            rows=parse_protocol(protocol_path(root, track, split), track),
            extra_files=local_copy.enrolment_files(enrolment_lists(root, track, split), SUFFIX),
        )
        for split in splits
    ]


def published(track: str) -> Published:
    return Published(f"ASVspoof 2019 {track}", PUBLISHED_COUNTS[track], COUNTS_SOURCE)


def verify(root: Path, splits: tuple[str, ...], *, track: str, n_jobs: int = 1) -> None:
    """Check a local copy of ``track`` in place (protocols and files, published counts, headers)."""
    local_copy.verify_copy(
        listings(root, splits, track=track), published(track), root=Path(root), n_jobs=n_jobs
    )


def manifest(root: Path, splits: tuple[str, ...], *, track: str) -> pd.DataFrame:
    return local_copy.manifest_of(listings(root, splits, track=track))
