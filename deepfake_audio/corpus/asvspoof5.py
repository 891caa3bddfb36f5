"""ASVspoof 5 (crowdsourced Multilingual LibriSpeech speech, TTS/VC and adversarial attacks,
codec conditions), used where it lies.

``data.root`` holds the Zenodo release (record 14498691) unpacked, as its README.txt
(section 1) describes::

    <root>/flac_T/T_0000000000.flac ...        (from flac_T_a{a..e}.tar)
    <root>/flac_D/D_0000000000.flac ...        (from flac_D_a{a..c}.tar)
    <root>/flac_E_eval/E_0000000000.flac ...   (from flac_E_a{a..j}.tar)
    <root>/ASVspoof5_protocols/ASVspoof5.train.tsv, ASVspoof5.dev.track_1.tsv,
                               ASVspoof5.eval.track_1.tsv, ... enrolment lists
                               (from ASVspoof5_protocols.tar.gz; the files may also lie
                               directly in <root>)

A track-1 protocol line has ten space-separated fields (README.txt, section 3; the README
says "FIVE columns" and lists ten, which is what the files hold)::

    SPEAKER_ID FLAC_FILE_NAME SPEAKER_GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP

CODEC is ``C**`` or ``-``, ATTACK_LABEL ``A**`` or ``bonafide``, KEY ``spoof`` or
``bonafide``. The dev and eval folders also hold the track-2 enrolment recordings (1,184 and
1,098), listed only in the enrolment lists (``ASVspoof5.{dev,eval}.*enroll*``): they are
accepted there and left out of the manifest.

In the manifest the attack goes into ``condition`` and ``attack``, the codec condition into
``environment``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from deepfake_audio.corpus import local_copy
from deepfake_audio.corpus.asvspoof2017 import ProtocolError
from deepfake_audio.corpus.local_copy import KEYS, NOT_APPLICABLE, Listing, Published
from deepfake_audio.vocabulary import BONAFIDE

PROTOCOL_DIR = "ASVspoof5_protocols"
PROTOCOL_FILES = {
    "train": "ASVspoof5.train.tsv",
    "dev": "ASVspoof5.dev.track_1.tsv",
    "eval": "ASVspoof5.eval.track_1.tsv",
}
AUDIO_DIRS = {"train": "flac_T", "dev": "flac_D", "eval": "flac_E_eval"}
FIELDS = (
    "SPEAKER_ID",
    "FLAC_FILE_NAME",
    "SPEAKER_GENDER",
    "CODEC",
    "CODEC_Q",
    "CODEC_SEED",
    "ATTACK_TAG",
    "ATTACK_LABEL",
    "KEY",
    "TMP",
)
GENDERS = ("F", "M")
SUFFIX = ".flac"

# (bona fide, spoof) utterances per split. The totals are the organisers' (README.txt of the
# Zenodo release, section 2: ASVspoof5.train.tsv 182,357 lines, ASVspoof5.dev.track_1.tsv
# 140,950, ASVspoof5.eval.track_1.tsv 680,774). The split by class is the ASVspoof 5 database
# paper's (Wang et al., "ASVspoof 5: design, collection and validation of resources for
# spoofing, deepfake, and adversarial attack detection using crowdsourced speech",
# arXiv:2502.08857, statistics of the partitions), which could not be read from here: these
# numbers are not confirmed against its text, but each pair sums to the README's total.
PUBLISHED_COUNTS = {
    "train": (18_797, 163_560),
    "dev": (31_334, 109_616),
    "eval": (138_688, 542_086),
}
COUNTS_SOURCE = "ASVspoof 5 README.txt (totals) and Wang et al., arXiv:2502.08857"


def protocol_dir(root: Path) -> Path:
    folder = Path(root) / PROTOCOL_DIR
    return folder if folder.is_dir() else Path(root)


def audio_dir(root: Path, split: str) -> Path:
    return Path(root) / AUDIO_DIRS[split]


def protocol_path(root: Path, split: str) -> Path:
    return protocol_dir(root) / PROTOCOL_FILES[split]


def enrolment_lists(root: Path, split: str) -> list[Path]:
    return sorted(protocol_dir(root).glob(f"ASVspoof5.{split}.*enroll*")) if split != "train" else []


def parse_protocol(path: Path) -> list[dict[str, str]]:
    """The rows of a track-1 protocol, each field checked."""
    rows, names = [], []
    for where, parts in local_copy.protocol_lines(path, FIELDS):
        speaker, name, gender, codec, _, _, _, attack, key, _ = parts
        local_copy.choice(gender, GENDERS, where=where, name="SPEAKER_GENDER")
        local_copy.choice(key, KEYS, where=where, name="KEY")
        if (attack == BONAFIDE) != (key == BONAFIDE) or attack == NOT_APPLICABLE:
            raise ProtocolError(
                f"{where}: ATTACK_LABEL must be bonafide for a bonafide row and an attack (A**) "
                f"for a spoof row, got {attack!r} with KEY {key}"
            )
        attack = attack if key != BONAFIDE else NOT_APPLICABLE
        names.append((where, name))
        rows.append(
            {
                "file": f"{name}{SUFFIX}",
                "utt_id": name,
                "label": key,
                "speaker": speaker,
                "condition": attack,
                "attack": attack,
                "environment": codec,
            }
        )
    local_copy.refuse_repeats(names)
    return rows


def listings(root: Path, splits: tuple[str, ...]) -> list[Listing]:
    return [
        Listing(
            split=split,
            folder=audio_dir(root, split),
            suffix=SUFFIX,
            rows=parse_protocol(protocol_path(root, split)),
            extra_files=local_copy.enrolment_files(enrolment_lists(root, split), SUFFIX),
        )
        for split in splits
    ]


def published() -> Published:
    return Published("ASVspoof 5", PUBLISHED_COUNTS, COUNTS_SOURCE)


def verify(root: Path, splits: tuple[str, ...], *, n_jobs: int = 1) -> None:
    """Check a local copy in place (protocols and files, published counts, headers)."""
    local_copy.verify_copy(listings(root, splits), published(), root=Path(root), n_jobs=n_jobs)


def manifest(root: Path, splits: tuple[str, ...]) -> pd.DataFrame:
    return local_copy.manifest_of(listings(root, splits))
