"""ASVspoof 2021 LA and DF: evaluation data only, used where it lies, for cross-corpus evaluation.

There is no train or dev data (ASVspoof 2021 trains on ASVspoof 2019 LA), so these cannot be
the main corpus (``sources.check_main_source`` refuses them); ``evaluate.cross`` lists them.

``data.root`` holds the audio as the Zenodo archives unpack (DF comes in four parts that fill
one ``flac/`` folder) and the keys released after the challenge (``LA-keys-full.tar.gz``,
``DF-keys-full.tar.gz`` from asvspoof.org, unpacked in place)::

    <root>/ASVspoof2021_LA_eval/flac/LA_E_9332881.flac ...
    <root>/keys/LA/CM/trial_metadata.txt
    <root>/ASVspoof2021_DF_eval/flac/DF_E_2000011.flac ...
    <root>/keys/DF/CM/trial_metadata.txt

A key line (the organisers' eval-package README, "On meta-labels", and its ``config.py``):

- LA, 8 fields ``SPEAKER TRIAL CODEC TRANSMISSION ATTACK KEY TRIM SUBSET``, e.g.
  ``LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval``;
- DF, 13 fields ``SPEAKER TRIAL CODEC SOURCE ATTACK KEY TRIM SUBSET VOCODER TASK TEAM
  GENDER_PAIR LANGUAGE``, e.g.
  ``LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -``.

KEY is ``bonafide`` or ``spoof``; a bona fide row's ATTACK is ``-`` or ``bonafide`` (both are
seen in the released files). SUBSET is ``progress``, ``eval`` or ``hidden``: the keys cover
every file of the release, and the organisers score the ``eval`` subset ("disjoint from the
progress and hidden subsets") for their headline results. So: the whole release is checked
(every file against its key row, the published counts of all rows, every header), and the
manifest keeps the ``eval`` subset only, so that EERs compare with the published ones.

In the manifest the attack id goes into ``condition`` and ``attack``, the channel into
``environment`` (LA: ``<codec>_<transmission>``, e.g. ``alaw_ita_tx``; DF: the codec).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from deepfake_audio.corpus import local_copy
from deepfake_audio.corpus.asvspoof2017 import ProtocolError
from deepfake_audio.corpus.local_copy import KEYS, NOT_APPLICABLE, Listing, Published
from deepfake_audio.vocabulary import BONAFIDE

TRACKS = ("LA", "DF")
FIELDS = {
    "LA": ("SPEAKER", "TRIAL", "CODEC", "TRANSMISSION", "ATTACK", "KEY", "TRIM", "SUBSET"),
    "DF": (
        "SPEAKER",
        "TRIAL",
        "CODEC",
        "SOURCE",
        "ATTACK",
        "KEY",
        "TRIM",
        "SUBSET",
        "VOCODER",
        "TASK",
        "TEAM",
        "GENDER_PAIR",
        "LANGUAGE",
    ),
}
SUBSETS = ("progress", "eval", "hidden")
TRIMS = ("notrim", "trim")
MANIFEST_SUBSET = "eval"  # the organisers' evaluation subset: what the manifest keeps
EVAL_ONLY = ("eval",)  # the one split the 2021 releases have
SUFFIX = ".flac"

# (bona fide, spoof) over every row of the released keys (progress + eval + hidden), which is
# every file of the audio release. Not confirmed against the organisers' own text: the
# eval-package README and config.py give the format, not the counts; the long summary paper
# (Liu et al., "ASVspoof 2021: towards spoofed and deepfake speech detection in the wild",
# IEEE/ACM TASLP 2023, arXiv:2210.02437) could not be read from here. The numbers are direct
# counts of trial_metadata.txt reported by users: LA 181,566 trials (18,452 + 163,114; subsets
# eval 148,176, progress 16,464, hidden 16,926), DF 611,829 trials (22,617 + 589,212; eval
# 533,928, progress 59,325, hidden 18,576); the totals 181,566 and 611,829 also in
# yzyouzhang/ASVspoof2021_AIR issue #23.
PUBLISHED_COUNTS = {
    "LA": {"eval": (18_452, 163_114)},
    "DF": {"eval": (22_617, 589_212)},
}
COUNTS_SOURCE = "ASVspoof 2021 keys, trial_metadata.txt (all subsets)"


def audio_dir(root: Path, track: str) -> Path:
    return Path(root) / f"ASVspoof2021_{track}_eval" / "flac"


def keys_path(root: Path, track: str) -> Path:
    return Path(root) / "keys" / track / "CM" / "trial_metadata.txt"


def parse_keys(path: Path, track: str) -> list[dict[str, str]]:
    """Every row of a track's ``trial_metadata.txt``, each checked; ``subset`` kept per row."""
    rows, names = [], []
    for where, parts in local_copy.protocol_lines(path, FIELDS[track]):
        speaker, trial, codec, channel, attack, key, trim, subset = parts[:8]
        local_copy.choice(key, KEYS, where=where, name="KEY")
        local_copy.choice(trim, TRIMS, where=where, name="TRIM")
        local_copy.choice(subset, SUBSETS, where=where, name="SUBSET")
        if key == BONAFIDE and attack not in (NOT_APPLICABLE, BONAFIDE):
            raise ProtocolError(f"{where}: ATTACK must be - or bonafide for a bonafide row, got {attack!r}")
        if key != BONAFIDE and attack in (NOT_APPLICABLE, BONAFIDE):
            raise ProtocolError(f"{where}: ATTACK must name the attack of a spoof row, got {attack!r}")
        attack = attack if key != BONAFIDE else NOT_APPLICABLE
        names.append((where, trial))
        rows.append(
            {
                "file": f"{trial}{SUFFIX}",
                "utt_id": trial,
                "label": key,
                "speaker": speaker,
                "condition": attack,
                "attack": attack,
                "environment": f"{codec}_{channel}" if track == "LA" else codec,
                "subset": subset,
            }
        )
    local_copy.refuse_repeats(names)
    return rows


def listing(root: Path, track: str) -> Listing:
    return Listing(
        split="eval",
        folder=audio_dir(root, track),
        suffix=SUFFIX,
        rows=parse_keys(keys_path(root, track), track),
    )


def published(track: str) -> Published:
    return Published(f"ASVspoof 2021 {track}", PUBLISHED_COUNTS[track], COUNTS_SOURCE)


def verify(root: Path, *, track: str, n_jobs: int = 1) -> None:
    """Check the whole release in place: every file against the keys, the counts, every header."""
    local_copy.verify_copy([listing(root, track)], published(track), root=Path(root), n_jobs=n_jobs)


def manifest(root: Path, *, track: str) -> pd.DataFrame:
    """The manifest of the ``eval`` subset (the whole release is matched against the disk)."""
    whole = listing(root, track)
    rows = local_copy.manifest_of([whole])
    keep = [row["subset"] == MANIFEST_SUBSET for row in whole.rows]
    return rows[keep].reset_index(drop=True)
