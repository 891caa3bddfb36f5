"""Ids stay text in every table, and the shared words are defined once, in vocabulary.py."""

import ast
import re
from pathlib import Path

import pandas as pd

from deepfake_audio import paths
from deepfake_audio.audit.annotations import read_annotations
from deepfake_audio.compare import parse_scores
from deepfake_audio.corpus.custom import manifest_from_csv
from deepfake_audio.corpus.manifest import COLUMNS, read_manifest
from deepfake_audio.features.store import TABLE_FILE, read_feature_table
from deepfake_audio.io import write_csv
from deepfake_audio.models.trained import read_scores
from deepfake_audio.vocabulary import BONAFIDE, LABELS, SPOOF

PACKAGE = Path(__file__).resolve().parents[1] / "deepfake_audio"
# Ids that pandas would read as missing values, numbers or booleans if it were let to guess.
IDS = ["NA", "null", "1e5", "0001", "-", "nan", "None", "NaN", "TRUE", "1.0"]


def scored(split="eval"):
    """A score table of IDS, bona fide and spoof alternating."""
    return pd.DataFrame(
        {
            "utt_id": IDS,
            "split": split,
            "label": [LABELS[i % 2] for i in range(len(IDS))],
            "score": [float(i) for i in range(len(IDS))],
        }
    )


def assert_text(values):
    assert list(values) == IDS
    assert all(isinstance(value, str) for value in values)


def test_ids_survive_the_manifest(tmp_path):
    manifest = pd.DataFrame({column: "-" for column in COLUMNS}, index=range(len(IDS)))
    manifest = manifest.assign(utt_id=IDS, speaker=IDS, condition=IDS, label=BONAFIDE, duration_s=1.0)
    write_csv(tmp_path / "manifest.csv", manifest)
    read = read_manifest(tmp_path / "manifest.csv")
    for column in ("utt_id", "speaker", "condition"):
        assert_text(read[column])


def test_ids_survive_the_feature_table(tmp_path):
    table = scored().drop(columns="score").assign(speaker=IDS, mfcc_0=0.5)
    write_csv(tmp_path / TABLE_FILE, table)
    read = read_feature_table(tmp_path)
    assert_text(read["utt_id"])
    assert_text(read["speaker"])
    assert read["mfcc_0"].dtype == float


def test_ids_survive_the_score_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(paths.scores_file("svc"), pd.concat([scored("dev"), scored("eval")]))
    assert_text(read_scores("svc", "eval")["utt_id"])
    parsed = parse_scores(paths.scores_file("svc").read_text(), "svc.csv")
    assert_text(parsed.loc[parsed["split"] == "eval", "utt_id"])


def test_ids_survive_the_annotations(tmp_path):
    spans = pd.DataFrame({"utt_id": IDS, "start_s": 0.1, "end_s": 0.9})
    write_csv(tmp_path / "speech.csv", spans)
    assert_text(read_annotations(tmp_path / "speech.csv").index)


def test_ids_survive_a_custom_protocol(tmp_path):
    for number, utt_id in enumerate(IDS):
        (tmp_path / f"{utt_id}.wav").write_bytes(bytes(number + 1))  # sizes differ: no two are the same audio
    listed = pd.DataFrame(
        {
            "path": [f"{utt_id}.wav" for utt_id in IDS],
            "label": [BONAFIDE, SPOOF] * (len(IDS) // 2),
            "split": "train",
            "speaker": IDS,
        }
    )
    write_csv(tmp_path / "protocol.csv", listed)
    manifest = manifest_from_csv(tmp_path / "protocol.csv")
    assert_text(manifest["utt_id"])
    assert_text(manifest["speaker"])


def shared_word_definitions() -> list[str]:
    """``module: NAME`` for each module-level assignment, outside vocabulary.py, of a name
    vocabulary.py defines or of a ``*DECIMALS`` constant."""
    shared = {
        target.id
        for node in ast.parse((PACKAGE / "vocabulary.py").read_text()).body
        if isinstance(node, ast.Assign)
        for target in node.targets
    }
    found = []
    for module in sorted(PACKAGE.rglob("*.py")):
        if module.name == "vocabulary.py":
            continue
        for node in ast.parse(module.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                name = getattr(target, "id", "")
                if name in shared or re.fullmatch(r"\w*DECIMALS", name):
                    found.append(f"{module.relative_to(PACKAGE)}: {name}")
    return found


def test_the_shared_words_are_defined_only_in_the_vocabulary():
    assert shared_word_definitions() == []
