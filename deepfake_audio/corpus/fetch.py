"""ASVspoof 2017 V2: download, verify and extract the archives, or check a local copy.

No checksums are published for these archives, so verification rests on what can be
checked: a full CRC test of every member, the published file counts per split, protocol
and WAV files matching one to one, 16 kHz mono headers. The SHA-256 and size of each
archive are recorded at its first successful verification (a file meant to be
committed) and later downloads must match them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import soundfile as sf

from deepfake_audio.corpus.archive import (
    ArchiveError,
    quarantine,
    read_checksums,
    safe_extract,
    sha256_of,
    verify_zip,
    write_checksums,
)
from deepfake_audio.corpus.download import download_file
from deepfake_audio.corpus.manifest import CorpusError, manifest_from_asvspoof2017
from deepfake_audio.io import atomic_path
from deepfake_audio.params import DownloadParams
from deepfake_audio.tables import refuse_if_any
from deepfake_audio.vocabulary import BONAFIDE, SPOOF

ARCHIVES = {
    "protocol": "protocol_V2.zip",
    "train": "ASVspoof2017_V2_train.zip",
    "dev": "ASVspoof2017_V2_dev.zip",
    "eval": "ASVspoof2017_V2_eval.zip",
}
FOLDERS = {
    "protocol": "protocol_V2",
    "train": "ASVspoof2017_V2_train",
    "dev": "ASVspoof2017_V2_dev",
    "eval": "ASVspoof2017_V2_eval",
}
# (genuine, spoof) per split, as published with the corpus.
PUBLISHED_COUNTS = {"train": (1507, 1507), "dev": (760, 950), "eval": (1298, 12008)}
SAMPLE_RATE = 16000


def corpus_splits(skip_eval: bool) -> tuple[str, ...]:
    return ("train", "dev") if skip_eval else ("train", "dev", "eval")


def fetch_asvspoof2017(
    corpus_dir: Path, params: DownloadParams, expected_counts: dict[str, tuple[int, int]] = PUBLISHED_COUNTS
) -> None:
    """Download (or reuse) the archives, verify them, and extract the corpus to ``corpus_dir``."""
    splits = corpus_splits(params.skip_eval)
    checksums_file = Path(params.checksums)
    known = read_checksums(checksums_file) if checksums_file.is_file() else {}
    verified = {}
    with atomic_path(corpus_dir) as staging:
        staging.mkdir()
        for part in ("protocol", *splits):
            archive, digest = _verified_archive(part, params, known, checksums_file=checksums_file)
            verified[archive.name] = (digest, archive.stat().st_size)
            _extract_folder(archive, FOLDERS[part], staging)
        verify_local_copy(staging, splits, expected_counts)
    if any(name not in known for name in verified):
        write_checksums(checksums_file, {**known, **verified})


def verify_local_copy(
    root: Path, splits: tuple[str, ...], expected_counts: dict[str, tuple[int, int]] = PUBLISHED_COUNTS
) -> None:
    """Check an extracted corpus in place: protocols and files, counts, 16 kHz mono headers."""
    manifest = manifest_from_asvspoof2017(root, splits)
    for split in splits:
        part = manifest[manifest["split"] == split]
        counts = (int((part["label"] == BONAFIDE).sum()), int((part["label"] == SPOOF).sum()))
        if counts != expected_counts[split]:
            raise CorpusError(
                f"{root}: {split} has {counts[0]} genuine + {counts[1]} spoof files, the published "
                f"corpus {expected_counts[split][0]} + {expected_counts[split][1]}: incomplete or not V2"
            )
    problems = ((path, _header_problem(path)) for path in manifest["path"])
    refuse_if_any(
        f"{root}: not readable 16 kHz mono audio",
        [f"{Path(path).name} ({problem})" for path, problem in problems if problem],
        error=CorpusError,
    )


def _verified_archive(
    part: str, params: DownloadParams, known: dict, *, checksums_file: Path
) -> tuple[Path, str]:
    """The archive of ``part``, downloaded if needed and checked; with its SHA-256."""
    name = ARCHIVES[part]
    path = Path(params.archive_dir) / name
    expected = known.get(name)
    download_file(
        getattr(params.urls, part),
        path,
        expected_size=expected[1] if expected else None,
        retries=params.retries,
        timeout_s=params.timeout_s,
    )
    digest = sha256_of(path)
    if expected and digest != expected[0]:
        moved = quarantine(path)
        raise ArchiveError(
            f"{path}: SHA-256 differs from the one recorded in {checksums_file}; moved aside to {moved}"
        )
    try:
        verify_zip(path)
    except ArchiveError as err:
        moved = quarantine(path)
        raise ArchiveError(f"{err}; moved aside to {moved}") from None
    return path, digest


def _extract_folder(archive: Path, folder: str, staging: Path) -> None:
    """Extract ``archive`` and move its ``folder`` (found at any depth) into ``staging``."""
    unpacked = staging / f".unpack-{folder}"
    safe_extract(archive, unpacked)
    found = sorted(path for path in unpacked.rglob(folder) if path.is_dir())
    if not found:
        raise ArchiveError(f"{archive}: no folder {folder} inside")
    os.replace(found[0], staging / folder)
    shutil.rmtree(unpacked)


def _header_problem(path: str) -> str | None:
    try:
        info = sf.info(path)
    except (sf.LibsndfileError, RuntimeError) as err:
        return f"unreadable: {err}"
    if info.samplerate != SAMPLE_RATE or info.channels != 1:
        return f"{info.samplerate} Hz, {info.channels} channels"
    return None
