"""What every corpus used where it lies (``data.root``) is checked for, and how it becomes the manifest.

A layout module (``asvspoof2019``, ``asvspoof2021``, ``in_the_wild``, ``asvspoof5``) parses its
protocol files into one ``Listing`` per split; this module holds what they share:

- reading a whitespace-separated protocol line by line, with exact messages
  (``PATH:LINE: expected 5 space-separated fields (SPEAKER_ID AUDIO_FILE_NAME ...), got 4: '...'``),
  a field outside its choices named with its line, a file listed twice named with both lines;
- protocol rows and audio files one to one, both ways, naming the offending files (files the
  corpus ships for another task, such as ASV enrolment, are neither listed nor refused);
- the counts per split and class against the organisers' published ones;
- a readable header (``soundfile.info``) for every file;
- the manifest rows (``-`` where a column does not apply).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import soundfile as sf
from joblib import Parallel, delayed

from deepfake_audio.corpus.asvspoof2017 import ProtocolError
from deepfake_audio.corpus.manifest import COLUMNS, CorpusError
from deepfake_audio.tables import refuse_if_any
from deepfake_audio.vocabulary import BONAFIDE, SPOOF

NOT_APPLICABLE = "-"
KEYS = (BONAFIDE, SPOOF)  # the ASVspoof protocols' KEY field: the manifest's labels, spelt alike
TEXT_COLUMNS = ("speaker", "condition", "attack", "phrase", "environment", "playback", "recorder")
_HEADER_CHUNK = 512  # files per parallel task


@dataclass(frozen=True)
class Listing:
    """One split of a local copy: its audio folder and what its protocol lists.

    Each row holds ``file`` (the name in ``folder``), ``utt_id``, ``label`` and whichever
    manifest columns the corpus fills; ``extra_files`` are files the corpus ships in ``folder``
    for another task (ASV enrolment), accepted there without a protocol row.
    """

    split: str
    folder: Path
    suffix: str
    rows: list[dict[str, str]]
    extra_files: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Published:
    """The organisers' counts of a corpus: ``(bona fide, spoof)`` per part, and where they are published."""

    corpus: str  # as the message names it: "ASVspoof 2019 LA"
    counts: dict[str, tuple[int, int]]
    source: str


def protocol_lines(path: Path, fields: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """``(PATH:LINE, fields)`` of each non-blank line of a whitespace-separated protocol that
    must have exactly ``fields``; a missing or empty file, or a line of another width, stops."""
    path = Path(path)
    if not path.is_file():
        raise ProtocolError(f"{path}: protocol file not found")
    lines = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        where = f"{path}:{number}"
        if len(parts) != len(fields):
            raise ProtocolError(
                f"{where}: expected {len(fields)} space-separated fields ({' '.join(fields)}), "
                f"got {len(parts)}: {line!r}"
            )
        lines.append((where, parts))
    if not lines:
        raise ProtocolError(f"{path}: protocol file lists no utterances")
    return lines


def choice(value: str, choices: tuple[str, ...], *, where: str, name: str) -> str:
    """``value`` if it is one of ``choices``; otherwise stop, naming the field and its line."""
    if value not in choices:
        raise ProtocolError(f"{where}: {name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def refuse_repeats(rows: list[tuple[str, str]]) -> None:
    """Stop at the first name listed twice: ``(PATH:LINE, name)`` pairs of one protocol."""
    seen: dict[str, str] = {}
    for where, name in rows:
        if name in seen:
            raise ProtocolError(f"{where}: {name} already listed on line {seen[name].rsplit(':', 1)[1]}")
        seen[name] = where


def enrolment_files(paths: list[Path], suffix: str) -> frozenset[str]:
    """The audio files named by ASV enrolment lists (``SPEAKER FILE,FILE,...`` per line)."""
    names: set[str] = set()
    for path in paths:
        for _, (_, files) in protocol_lines(path, ("SPEAKER_ID", "FILE_NAMES")):
            names.update(f"{name}{suffix}" for name in files.split(",") if name)
    return frozenset(names)


def check_files(listing: Listing) -> None:
    """Every protocol row has its audio file and every audio file (but the extra ones) its row."""
    folder = listing.folder
    if not folder.is_dir():
        raise CorpusError(f"{folder}: audio folder not found")
    with os.scandir(folder) as entries:
        on_disk = {entry.name for entry in entries if entry.name.endswith(listing.suffix)}
    listed = {row["file"] for row in listing.rows}
    refuse_if_any(
        f"{folder}: protocol rows without an audio file", sorted(listed - on_disk), error=CorpusError
    )
    refuse_if_any(
        f"{folder}: audio files not in the protocol",
        sorted(on_disk - listed - listing.extra_files),
        error=CorpusError,
    )


def class_counts(rows: list[dict[str, str]]) -> tuple[int, int]:
    labels = [row["label"] for row in rows]
    return labels.count(BONAFIDE), labels.count(SPOOF)


def check_counts(found: dict[str, tuple[int, int]], published: Published, *, root: Path) -> None:
    """Each part's ``(bona fide, spoof)`` must be the published one: a partial or other copy stops."""
    for part, (bonafide, spoof) in found.items():
        expected = published.counts[part]
        if (bonafide, spoof) != expected:
            raise CorpusError(
                f"{root}: {part} has {bonafide:,} bona fide and {spoof:,} spoof files; the published "
                f"{published.corpus} {part} has {expected[0]:,} and {expected[1]:,} ({published.source})"
            )


def check_headers(paths: list[str], *, root: Path, n_jobs: int = 1) -> None:
    """Every file's header must be readable (``soundfile.info``); the unreadable ones are named."""
    chunks = [paths[start : start + _HEADER_CHUNK] for start in range(0, len(paths), _HEADER_CHUNK)]
    problems = [
        problem
        for chunk in Parallel(n_jobs=n_jobs)(delayed(_header_problems)(chunk) for chunk in chunks)
        for problem in chunk
    ]
    refuse_if_any(f"{root}: unreadable audio", problems, error=CorpusError)


def _header_problems(paths: list[str]) -> list[str]:
    problems = []
    for path in paths:
        try:
            sf.info(path)
        except (sf.LibsndfileError, RuntimeError) as err:
            problems.append(f"{Path(path).name} ({err})")
    return problems


def verify_copy(
    listings: list[Listing], published: Published, *, root: Path, part: str | None = None, n_jobs: int = 1
) -> None:
    """Check a local copy in place: files against protocols, published counts, readable headers.

    Counts are compared split by split, or pooled under ``part`` where the corpus publishes
    them for the whole release only.
    """
    for listing in listings:
        check_files(listing)
    found = (
        {part: class_counts([row for listing in listings for row in listing.rows])}
        if part
        else {listing.split: class_counts(listing.rows) for listing in listings}
    )
    check_counts(found, published, root=root)
    check_headers(
        [str(listing.folder / row["file"]) for listing in listings for row in listing.rows],
        root=root,
        n_jobs=n_jobs,
    )


def manifest_of(listings: list[Listing]) -> pd.DataFrame:
    """The manifest rows of the listings (checked against the disk; durations not yet screened)."""
    rows = []
    for listing in listings:
        check_files(listing)
        rows += [
            {
                **dict.fromkeys(TEXT_COLUMNS, NOT_APPLICABLE),
                **row,
                "path": str(listing.folder / row["file"]),
                "split": listing.split,
            }
            for row in listing.rows
        ]
    return pd.DataFrame(rows, columns=COLUMNS)
