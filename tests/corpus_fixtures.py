"""Tiny copies of the real corpora's layouts (a handful of short files each), for tests/test_corpora.py.

Each writer lays out the folders, audio and protocol files as the organisers' releases do and
returns the copy's ``(bona fide, spoof)`` counts in the shape of the layout module's
``PUBLISHED_COUNTS``, so that a test can put them in place of the published numbers.
"""

from pathlib import Path

import soundfile as sf
from helpers import SAMPLE_RATE, tone

from deepfake_audio.corpus import asvspoof5, asvspoof2019, asvspoof2021, in_the_wild

SECONDS = 0.3


def write_audio(path: Path, index: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(200 + 37 * index, SECONDS), SAMPLE_RATE, subtype="PCM_16")


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


# Per split: (speaker, bona fide?) of each utterance; spoofs take the track's attacks in turn.
ASVSPOOF2019_ATTACKS = {
    "LA": {"train": ["A01", "A02"], "dev": ["A01", "A02"], "eval": ["A07", "A19"]},
    "PA": {"train": ["AA", "BC"], "dev": ["AB", "CC"], "eval": ["BA", "CA"]},
}
ENVIRONMENTS = ["aaa", "abc", "cba"]


def write_asvspoof2019(root: Path, track: str = "LA") -> dict[str, tuple[int, int]]:
    """2 bona fide and 3 spoofed utterances per split, and one ASV enrolment file in dev and eval."""
    index = 0
    for split in ("train", "dev", "eval"):
        letter = split[0].upper()
        lines = []
        for number in range(5):
            name = f"{track}_{letter}_{1000001 + number}"
            speaker = f"{track}_00{10 + number % 2}"
            spoof = number >= 2
            attack = ASVSPOOF2019_ATTACKS[track][split][number % 2] if spoof else "-"
            environment = ENVIRONMENTS[number % 3] if track == "PA" else "-"
            lines.append(f"{speaker} {name} {environment} {attack} {'spoof' if spoof else 'bonafide'}")
            write_audio(asvspoof2019.audio_dir(root, track, split) / f"{name}.flac", index)
            index += 1
        write_lines(asvspoof2019.protocol_path(root, track, split), lines)
        if split != "train":  # enrolment recordings lie beside the CM trials, listed elsewhere
            enrolment = f"{track}_{letter}_A2000001"
            write_audio(asvspoof2019.audio_dir(root, track, split) / f"{enrolment}.flac", index)
            asv = root / f"ASVspoof2019_{track}_asv_protocols"
            write_lines(
                asv / f"ASVspoof2019.{track}.asv.{split}.female.trn.txt", [f"{track}_0099 {enrolment}"]
            )
            index += 1
    return {split: (2, 3) for split in ("train", "dev", "eval")}


# LA keys: (key, attack, subset); the real file writes a bona fide row's ATTACK as "bonafide".
ASVSPOOF2021_ROWS = [
    ("bonafide", "bonafide", "eval"),
    ("bonafide", "-", "eval"),
    ("spoof", "A07", "eval"),
    ("spoof", "A19", "eval"),
    ("spoof", "A10", "progress"),
    ("bonafide", "bonafide", "hidden"),
]


def write_asvspoof2021(root: Path, track: str = "LA") -> dict[str, tuple[int, int]]:
    """Six trials of the released keys: four in the eval subset, one each in progress and hidden."""
    lines = []
    for number, (key, attack, subset) in enumerate(ASVSPOOF2021_ROWS):
        name = f"{track}_E_{3000001 + number}"
        speaker = f"LA_00{20 + number % 2}"
        if track == "LA":
            codec, channel = ("alaw", "ita_tx") if number % 2 else ("none", "loc_tx")
            lines.append(f"{speaker} {name} {codec} {channel} {attack} {key} notrim {subset}")
        else:
            codec = "low_mp3" if number % 2 else "nocodec"
            attack = "-" if key == "bonafide" else attack
            vocoder = "bonafide" if key == "bonafide" else "traditional_vocoder"
            lines.append(
                f"{speaker} {name} {codec} asvspoof {attack} {key} notrim {subset} {vocoder} - - - -"
            )
        write_audio(asvspoof2021.audio_dir(root, track) / f"{name}.flac", number)
    write_lines(asvspoof2021.keys_path(root, track), lines)
    return {"eval": (3, 3)}


# (speaker, label) of each clip: six speakers of very different sizes, each with both classes.
IN_THE_WILD_SPEAKERS = {
    "Alec Guinness": (3, 2),
    "Barack Obama": (4, 4),
    "Christopher Hitchens": (2, 1),
    "Donald Trump": (3, 3),
    "Ayn Rand": (1, 1),
    "Bernie Sanders": (2, 2),
}


def write_in_the_wild(root: Path) -> dict[str, tuple[int, int]]:
    """``release_in_the_wild/`` under ``root``: meta.csv and one WAV per clip, numbered as released."""
    folder = root / in_the_wild.FOLDER
    lines = ["file,speaker,label"]
    number = 0
    for speaker, (bonafide, spoof) in IN_THE_WILD_SPEAKERS.items():
        for label in ["bona-fide"] * bonafide + ["spoof"] * spoof:
            lines.append(f"{number}.wav,{speaker},{label}")
            write_audio(folder / f"{number}.wav", number)
            number += 1
    write_lines(folder / in_the_wild.META, lines)
    return {
        in_the_wild.WHOLE: (
            sum(bonafide for bonafide, _ in IN_THE_WILD_SPEAKERS.values()),
            sum(spoof for _, spoof in IN_THE_WILD_SPEAKERS.values()),
        )
    }


def write_asvspoof5(root: Path) -> dict[str, tuple[int, int]]:
    """2 bona fide and 2 spoofed utterances per split, codec conditions in dev and eval, and
    one track-2 enrolment file in dev and eval."""
    (root / asvspoof5.PROTOCOL_DIR).mkdir(parents=True, exist_ok=True)
    index = 0
    for split in ("train", "dev", "eval"):
        letter = split[0].upper()
        lines = []
        for number in range(4):
            name = f"{letter}_{number:010d}"
            spoof = number >= 2
            attack = f"A{11 + number:02d}" if spoof else "bonafide"
            codec = "C05" if split != "train" and number % 2 else "-"
            gender = "FM"[number % 2]
            lines.append(
                f"{letter}_{4850 + number % 2} {name} {gender} {codec} - - "
                f"{'AC1' if spoof else '-'} {attack} {'spoof' if spoof else 'bonafide'} -"
            )
            write_audio(asvspoof5.audio_dir(root, split) / f"{name}.flac", index)
            index += 1
        write_lines(asvspoof5.protocol_path(root, split), lines)
        if split != "train":
            enrolment = f"{letter}_9{number:09d}"
            write_audio(asvspoof5.audio_dir(root, split) / f"{enrolment}.flac", index)
            index += 1
            write_lines(
                asvspoof5.protocol_dir(root) / f"ASVspoof5.{split}.track_2.enroll.tsv",
                [f"{letter}_0001 {enrolment}"],
            )
    return {split: (2, 2) for split in ("train", "dev", "eval")}
