"""In-the-Wild (Müller et al., "Does audio deepfake detection generalize?", Interspeech 2022,
arXiv:2203.16263): bona fide and deepfake clips of 58 celebrities and politicians, used where
they lie.

The release (``release_in_the_wild.zip``, from the authors' Hugging Face dataset
``mueller91/In-The-Wild``) unpacks to one folder of WAV files and ``meta.csv``::

    <root>/meta.csv          file,speaker,label   e.g.  0.wav,Alec Guinness,spoof
    <root>/0.wav ... 31778.wav

``data.root`` is that ``release_in_the_wild`` folder, or the folder holding it. ``label`` is
``bona-fide`` or ``spoof``.

No split is published. With ``data.speaker_split: null`` every file is eval (a cross corpus);
with ``{dev: D, eval: E}`` the speakers are split, never a speaker in two splits: speakers are
taken in the order of the SHA-256 of their names, and each goes to eval while eval holds fewer
than E of the files, then to dev while dev holds fewer than D, the rest to train. The order
depends on the names only, so the split is the same on every machine and for every seed.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd

from deepfake_audio.corpus import local_copy
from deepfake_audio.corpus.asvspoof2017 import ProtocolError
from deepfake_audio.corpus.local_copy import Listing, Published
from deepfake_audio.params import SpeakerSplit
from deepfake_audio.vocabulary import BONAFIDE, SPOOF

FOLDER = "release_in_the_wild"
META = "meta.csv"
COLUMNS = ("file", "speaker", "label")
META_LABELS = {"bona-fide": BONAFIDE, "spoof": SPOOF}  # meta.csv's words
SUFFIX = ".wav"
WHOLE = "release"  # the part the published counts describe

# (bona fide, spoof) clips of the whole release: 31,779 clips of 58 speakers. Not confirmed
# against the authors' text from here: their dataset card (huggingface.co/datasets/
# mueller91/In-The-Wild) gives 58 speakers and 37.9 h (20.7 h bona fide, 17.2 h spoof), not
# the clip counts; 19,963 and 11,816 are the counts the paper's project page
# (deepfake-total.com/in_the_wild) and later papers quote, and match a count of meta.csv.
PUBLISHED_COUNTS = {WHOLE: (19_963, 11_816)}
COUNTS_SOURCE = "Müller et al., Interspeech 2022, In-the-Wild release"


def folder_of(root: Path) -> Path:
    """The folder of ``meta.csv``: ``root`` itself, or the ``release_in_the_wild`` inside it."""
    root = Path(root)
    return root if (root / META).is_file() or not (root / FOLDER).is_dir() else root / FOLDER


def parse_meta(path: Path) -> list[dict[str, str]]:
    """The rows of ``meta.csv``, each checked: ``file``, ``utt_id``, ``label``, ``speaker``."""
    path = Path(path)
    if not path.is_file():
        raise ProtocolError(f"{path}: protocol file not found")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = next(csv.reader(lines[:1]), [])
    if [name.strip() for name in header] != list(COLUMNS):
        raise ProtocolError(f"{path}:1: expected the header {','.join(COLUMNS)}, got {','.join(header)!r}")
    rows, names = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        fields = next(csv.reader([line]))
        if len(fields) != len(COLUMNS):
            raise ProtocolError(
                f"{where}: expected {len(COLUMNS)} comma-separated fields ({' '.join(COLUMNS)}), "
                f"got {len(fields)}: {line!r}"
            )
        file, speaker, label = (value.strip() for value in fields)
        local_copy.choice(label, tuple(META_LABELS), where=where, name="label")
        if not file.endswith(SUFFIX) or "/" in file:
            raise ProtocolError(f"{where}: file must name a {SUFFIX} file in {path.parent}, got {file!r}")
        if not speaker:
            raise ProtocolError(f"{where}: speaker is empty")
        names.append((where, file))
        rows.append(
            {"file": file, "utt_id": Path(file).stem, "label": META_LABELS[label], "speaker": speaker}
        )
    if not rows:
        raise ProtocolError(f"{path}: protocol file lists no utterances")
    local_copy.refuse_repeats(names)
    return rows


def split_speakers(rows: list[dict[str, str]], speaker_split: SpeakerSplit) -> dict[str, str]:
    """Each speaker's split: speaker-disjoint, the same for the same names (see the module doc)."""
    files: dict[str, int] = {}
    for row in rows:
        files[row["speaker"]] = files.get(row["speaker"], 0) + 1
    targets = {"eval": speaker_split.eval * len(rows), "dev": speaker_split.dev * len(rows)}
    filled = dict.fromkeys(targets, 0)
    assigned = {}
    for speaker in sorted(files, key=lambda name: hashlib.sha256(name.encode()).hexdigest()):
        split = next((name for name in targets if filled[name] < targets[name]), "train")
        assigned[speaker] = split
        if split in filled:
            filled[split] += files[speaker]
    return assigned


def splits(speaker_split: SpeakerSplit | None) -> tuple[str, ...]:
    return ("eval",) if speaker_split is None else ("train", "dev", "eval")


def listings(root: Path, speaker_split: SpeakerSplit | None) -> list[Listing]:
    folder = folder_of(root)
    rows = parse_meta(folder / META)
    if speaker_split is None:
        return [Listing(split="eval", folder=folder, suffix=SUFFIX, rows=rows)]
    assigned = split_speakers(rows, speaker_split)
    return [
        Listing(
            split=split,
            folder=folder,
            suffix=SUFFIX,
            rows=[row for row in rows if assigned[row["speaker"]] == split],
            # the other splits' files lie in the same folder
            extra_files=frozenset(row["file"] for row in rows if assigned[row["speaker"]] != split),
        )
        for split in splits(speaker_split)
    ]


def published() -> Published:
    return Published("In-the-Wild", PUBLISHED_COUNTS, COUNTS_SOURCE)


def verify(root: Path, *, n_jobs: int = 1) -> None:
    """Check the release in place: meta.csv against the WAV files, the published counts, headers."""
    local_copy.verify_copy(listings(root, None), published(), root=Path(root), part=WHOLE, n_jobs=n_jobs)


def manifest(root: Path, speaker_split: SpeakerSplit | None) -> pd.DataFrame:
    return local_copy.manifest_of(listings(root, speaker_split))
