"""The utterances explained one by one: each class's most confident and worst-scored ones."""

from __future__ import annotations

import pandas as pd

from deepfake_audio.vocabulary import BONAFIDE, SPOOF

# name: (label, sort scores ascending?, description). Scores are higher for bona fide, so
# the most confident bona fide has the highest score and the worst-scored one the lowest.
CASES = {
    "bonafide_most_confident": (BONAFIDE, False, "most confident bona fide"),
    "spoof_most_confident": (SPOOF, True, "most confident spoof"),
    "bonafide_worst": (BONAFIDE, True, "lowest-scored bona fide"),
    "spoof_worst": (SPOOF, False, "highest-scored spoof"),
}
CASE_COLUMNS = ["case", "utt_id", "label", "score", "correct"]


def pick_cases(scored: pd.DataFrame, threshold: float, per_case: int) -> pd.DataFrame:
    """``per_case`` utterances for each of ``CASES`` from ``scored`` (utt_id, label, score).

    Ties in score go to the smaller utterance id, so the choice never depends on row order.
    ``correct`` is the decision at ``threshold`` (spoof when the score is at or below it):
    the worst-scored cases are the worst errors whenever the model makes any.
    """
    rows = []
    for case, (label, ascending, _) in CASES.items():
        of_label = scored[scored["label"] == label]
        picked = of_label.sort_values(["score", "utt_id"], ascending=[ascending, True]).head(per_case)
        for utt_id, score in zip(picked["utt_id"], picked["score"], strict=True):
            predicted = SPOOF if score <= threshold else BONAFIDE
            rows.append((case, utt_id, label, float(score), predicted == label))
    return pd.DataFrame(rows, columns=CASE_COLUMNS)


def describe(case: pd.Series) -> str:
    """A figure title: the utterance, its label, score and whether the model got it right."""
    verdict = "correct" if case["correct"] else "ERROR"
    return f"{case['utt_id']}: {CASES[case['case']][2]}, score {case['score']:.3f} ({verdict})"
