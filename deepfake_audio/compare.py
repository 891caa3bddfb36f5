"""Is a change of EER or minDCF between two revisions beyond bootstrap noise?

Two score tables (``utt_id, split, label, score``) of one model are compared split by split.
Where both hold the same utterances, the bootstrap is paired: each resample draws bona fide
and spoof utterances (each class separately, with replacement) and scores the same draw
with both revisions, so the noise of the utterance sample cancels out of the change.
Where the utterance sets differ (another corpus), each revision is resampled on its own.
The verdict is ``better`` when the 95 % percentile interval of head − base lies entirely
below 0 (EER and minDCF: lower is better), ``worse`` entirely above, else ``within noise``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.errors import InputError
from deepfake_audio.metrics import equal_error_rate, min_dcf
from deepfake_audio.params import EvaluateParams, MinDcfParams, load_params
from deepfake_audio.revisions import read_at, resolve_commit
from deepfake_audio.tables import read_table
from deepfake_audio.vocabulary import LABELS, MODEL_NAMES, SCORE_COLUMNS, SPOOF

COMPARED_SPLITS = ("dev", "eval")  # the scored splits; train is not scored
CHUNK_ELEMENTS = 1 << 21  # resamples x utterances handled at once: bounds the memory used

ScoreSets = tuple[np.ndarray, np.ndarray]  # the bona fide scores and the spoof scores of one revision


@dataclass(frozen=True)
class Change:
    """One metric of one revision against the other, with the 95 % interval of the change."""

    base: float
    head: float
    low: float
    high: float

    @property
    def change(self) -> float:
        return self.head - self.base

    @property
    def verdict(self) -> str:
        """For a metric where lower is better (EER, minDCF)."""
        if self.high < 0:
            return "better"
        if self.low > 0:
            return "worse"
        return "within noise"


@dataclass(frozen=True)
class Comparison:
    """One model on one split; ``unavailable`` says why there is nothing to compare."""

    model: str
    split: str
    eer: Change | None = None  # percent
    min_dcf: Change | None = None
    paired: bool = False
    n_base: int = 0
    n_head: int = 0
    unavailable: str = ""

    @property
    def verdict(self) -> str:
        return self.eer.verdict if self.eer else "unavailable"


def compare_scores(
    base: pd.DataFrame, head: pd.DataFrame, model: str, *, split: str, params: EvaluateParams
) -> Comparison:
    """Compare ``split`` of two score tables of ``model``; resamples and seed from ``params.bootstrap``."""
    base, head = base[base["split"] == split], head[head["split"] == split]
    for name, part in (("base", base), ("head", head)):
        missing = [label for label in LABELS if not (part["label"] == label).any()]
        if missing:
            return Comparison(
                model,
                split,
                n_base=len(base),
                n_head=len(head),
                unavailable=f"no {' or '.join(missing)} utterances in the {name}'s {split} scores",
            )
    pairs = _pairs(base, head)
    if pairs is not None:
        spoof = (pairs["label"] == SPOOF).to_numpy()
        base_sets = (pairs["score_base"].to_numpy()[~spoof], pairs["score_base"].to_numpy()[spoof])
        head_sets = (pairs["score_head"].to_numpy()[~spoof], pairs["score_head"].to_numpy()[spoof])
    else:
        base_sets, head_sets = _classes(base), _classes(head)
    eer_diffs, dcf_diffs = bootstrap_differences(
        base_sets, head_sets, paired=pairs is not None, params=params
    )
    eer = Change(_eer_percent(*base_sets), _eer_percent(*head_sets), *_interval(eer_diffs))
    dcf = Change(
        min_dcf(*base_sets, params.min_dcf), min_dcf(*head_sets, params.min_dcf), *_interval(dcf_diffs)
    )
    return Comparison(model, split, eer, dcf, paired=pairs is not None, n_base=len(base), n_head=len(head))


def bootstrap_differences(
    base: ScoreSets, head: ScoreSets, *, paired: bool, params: EvaluateParams
) -> tuple[np.ndarray, np.ndarray]:
    """Resampled (head − base) of the EER (percent) and of minDCF, ``params.bootstrap.resamples`` each.

    ``base`` and ``head`` are (bona fide scores, spoof scores). Paired: the i-th score of a
    class is the same utterance in both, and one draw serves both revisions. The generator
    is seeded with ``params.bootstrap.seed`` for every call, so results never depend on
    what was compared before.
    """
    rng = np.random.default_rng(params.bootstrap.seed)
    base_curve, head_curve = ResampledCurve(*base), ResampledCurve(*head)
    total = params.bootstrap.resamples
    chunk = max(1, CHUNK_ELEMENTS // max(base_curve.size, head_curve.size))
    eer, dcf = [], []
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        base_draws = _draws(rng, base, count)
        head_draws = base_draws if paired else _draws(rng, head, count)
        base_eer, base_dcf = base_curve.statistics(*base_draws, params.min_dcf)
        head_eer, head_dcf = head_curve.statistics(*head_draws, params.min_dcf)
        eer.append(head_eer - base_eer)
        dcf.append(head_dcf - base_dcf)
    return np.concatenate(eer), np.concatenate(dcf)


def _draws(rng: np.random.Generator, sets: ScoreSets, resamples: int) -> tuple[np.ndarray, np.ndarray]:
    """Resampling indices into the bona fide and into the spoof scores, drawn in that order."""
    bonafide, spoof = sets
    return _draw(rng, len(bonafide), resamples), _draw(rng, len(spoof), resamples)


def _draw(rng: np.random.Generator, size: int, resamples: int) -> np.ndarray:
    """Indices of ``resamples`` resamples with replacement of ``size`` items, one row each."""
    return rng.integers(0, size, size=(resamples, size), dtype=np.int32)


class ResampledCurve:
    """EER and minDCF of many resamples of one score set at once.

    A resample's sorted scores are the original order (stable sort, bona fide first at a tie)
    with each utterance repeated as often as drawn. Along that order, a block of utterances of
    one class moves the DET curve one way only, so a resample is summed up by how many of its
    draws fall in each block: cumulative sums over blocks give the curve at every block end,
    where minDCF is lowest, and the block where FRR reaches FAR pins the EER. The numbers are
    those of ``metrics.equal_error_rate`` and ``metrics.min_dcf`` on the resampled scores,
    computed with the same float operations. The better the system, the fewer the blocks.
    """

    def __init__(self, bonafide: np.ndarray, spoof: np.ndarray):
        self.n_bonafide, self.n_spoof = len(bonafide), len(spoof)
        self.size = self.n_bonafide + self.n_spoof
        order = np.argsort(np.concatenate([bonafide, spoof]), kind="stable")
        sorted_bonafide = order < self.n_bonafide
        new_block = np.concatenate([[True], sorted_bonafide[1:] != sorted_bonafide[:-1]])
        self.block_is_bonafide = sorted_bonafide[new_block]
        self.block_of = np.empty(self.size, dtype=np.int64)  # bona fide utterances first, then spoofs
        self.block_of[order] = np.cumsum(new_block) - 1

    def statistics(
        self, bonafide_draws: np.ndarray, spoof_draws: np.ndarray, params: MinDcfParams
    ) -> tuple[np.ndarray, np.ndarray]:
        """EER (percent) and minDCF of each resample: a row of ``bonafide_draws`` (indices into the
        bona fide scores) with the same row of ``spoof_draws`` (indices into the spoof scores)."""
        nb, ns = self.n_bonafide, self.n_spoof
        resamples, blocks = len(bonafide_draws), len(self.block_is_bonafide)
        counts = np.empty((resamples, blocks), dtype=np.int64)
        for row, bonafide_row, spoof_row in zip(counts, bonafide_draws, spoof_draws, strict=True):
            # one resample at a time: its counts stay in the CPU cache
            row[:] = np.bincount(self.block_of[:nb][bonafide_row], minlength=blocks)
            row += np.bincount(self.block_of[nb:][spoof_row], minlength=blocks)
        counts = counts.T.copy()  # draws of each block (row) in each resample (column)
        is_bonafide = self.block_is_bonafide[:, None]
        rejected_bonafide = np.cumsum(np.where(is_bonafide, counts, 0), axis=0)
        rejected_spoof = np.cumsum(np.where(is_bonafide, 0, counts), axis=0)
        frr, far = rejected_bonafide / nb, (ns - rejected_spoof) / ns  # at the end of each block

        # EER: FRR - FAR rises with every utterance passed, so the first point minimising
        # |FRR - FAR| is the last one below FRR = FAR or the first at or above it; the latter
        # lies in the first block that ends at or above. (Distinct fractions of nb and ns differ
        # by far more than a rounding error, so comparing the floats is exact.)
        columns = np.arange(resamples)
        block = np.argmax(frr >= far, axis=0)
        bona = self.block_is_bonafide[block].astype(np.int64)
        drawn = counts[block, columns]
        b_before = rejected_bonafide[block, columns] - drawn * bona
        s_before = rejected_spoof[block, columns] - drawn * (1 - bona)
        gap = nb * ns - (b_before * ns + s_before * nb)  # > 0: FRR < FAR before the block
        steps = np.where(bona == 1, -(-gap // ns), -(-gap // nb))  # utterances into the block to reach it
        b_at, s_at = b_before + steps * bona, s_before + steps * (1 - bona)
        b_below, s_below = b_at - bona, s_at - (1 - bona)
        frr_below, far_below = b_below / nb, (ns - s_below) / ns
        frr_at, far_at = b_at / nb, (ns - s_at) / ns
        below_first = np.abs(frr_below - far_below) <= np.abs(frr_at - far_at)
        eer = np.where(below_first, (frr_below + far_below) / 2, (frr_at + far_at) / 2)

        # minDCF: lowest at the end of a block or at the start, before any utterance is
        # rejected (Pmiss 0, Pfa 1).
        miss_weight, fa_weight = params.c_miss * (1 - params.p_spoof), params.c_fa * params.p_spoof
        scale = min(miss_weight, fa_weight)
        cost = (miss_weight * frr + fa_weight * far) / scale
        dcf = np.minimum(cost.min(axis=0), (miss_weight * 0.0 + fa_weight * 1.0) / scale)
        return 100 * eer, dcf


def format_table(comparisons: list[Comparison]) -> str:
    """An aligned text table, one line per model and split; a model unavailable for the same
    reason on every split gets one line."""
    header = (
        "model",
        "split",
        "utterances",
        "EER % base",
        "head",
        "change",
        "95 % interval",
        "minDCF base",
        "head",
        "change",
        "95 % interval",
        "verdict (EER)",
    )
    rows: list[tuple[str, ...]] = []
    unavailable: dict[tuple[str, str], tuple[int, list[str]]] = {}  # (model, reason): (row, splits)
    for c in comparisons:
        if not c.unavailable:
            assert c.eer is not None and c.min_dcf is not None  # an available comparison has both
            rows.append(
                (
                    c.model,
                    c.split,
                    utterances(c),
                    *_change_cells(c.eer, 2),
                    *_change_cells(c.min_dcf, 4),
                    c.verdict,
                )
            )
        elif (c.model, c.unavailable) in unavailable:
            unavailable[c.model, c.unavailable][1].append(c.split)
        else:
            unavailable[c.model, c.unavailable] = (len(rows), [c.split])
            rows.append(())  # filled below, once its splits are known
    for (model, reason), (index, splits) in unavailable.items():
        rows[index] = (model, ", ".join(splits), f"unavailable: {reason}")
    widths = [
        max(len(row[i]) for row in (header, *rows) if len(row) == len(header) or i < 2)
        for i in range(len(header))
    ]
    lines = []
    for row in (header, *rows):
        # not strict: an unavailable row has 3 cells
        cells = [
            cell.ljust(width) if i < 3 or i == len(header) - 1 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=False))
        ]
        lines.append("  ".join(cells if len(row) == len(header) else [*cells[:2], row[2]]).rstrip())
    return "\n".join(lines)


def utterances(comparison: Comparison) -> str:
    if comparison.paired:
        return f"{comparison.n_head} paired"
    return f"{comparison.n_base} vs {comparison.n_head}, unpaired"


def interval_text(change: Change, decimals: int) -> str:
    return f"[{change.low:+.{decimals}f}, {change.high:+.{decimals}f}]"


def _change_cells(change: Change, decimals: int) -> tuple[str, ...]:
    return (
        f"{change.base:.{decimals}f}",
        f"{change.head:.{decimals}f}",
        f"{change.change:+.{decimals}f}",
        interval_text(change, decimals),
    )


# Reading the scores of two revisions.


def compare_with(rev: str, root: Path, params: EvaluateParams | None = None) -> list[Comparison]:
    """Every model's dev and eval scores in the working tree of ``root`` against ``rev``'s.

    Params default to the working tree's ``evaluate`` section (its defaults where there is
    no params.yaml). A model whose scores either side lacks is reported as unavailable.
    """
    resolve_commit(rev, root)
    if params is None:
        params_file = root / "params.yaml"
        params = load_params(params_file).evaluate if params_file.is_file() else EvaluateParams()
    comparisons = []
    for model in MODEL_NAMES:
        path = paths.scores_file(model).as_posix()
        try:
            head = parse_scores(
                (root / path).read_text() if (root / path).is_file() else None,
                f"{path} (working tree)",
                missing="not found: run `make repro`",
            )
            base = parse_scores(read_at(rev, path, root), f"{rev}:{path}")
        except InputError as err:
            comparisons += [Comparison(model, split, unavailable=str(err)) for split in COMPARED_SPLITS]
            continue
        for split in COMPARED_SPLITS:
            if (head["split"] == split).any() or (base["split"] == split).any():
                comparisons.append(compare_scores(base, head, model, split=split, params=params))
    return comparisons


def parse_scores(text: str | None, source: str, missing: str = "not found") -> pd.DataFrame:
    """A score table from CSV text; InputError naming ``source`` when it is not one."""
    if text is None:
        raise InputError(f"{source}: {missing}")
    try:
        frame = read_table(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{source}: not a CSV file ({err})") from None
    absent = [column for column in SCORE_COLUMNS if column not in frame.columns]
    if absent:
        raise InputError(f"{source}: no column {', '.join(absent)} (expected {', '.join(SCORE_COLUMNS)})")
    strange = sorted(set(frame["label"].astype(str)) - set(LABELS))
    if strange:
        raise InputError(f"{source}: labels must be bonafide or spoof, found {', '.join(strange[:3])}")
    scores = pd.to_numeric(frame["score"], errors="coerce")
    if not np.all(np.isfinite(scores)):
        raise InputError(f"{source}: scores that are empty, not numbers, NaN or Inf")
    return frame.assign(score=scores.astype(float))


def _pairs(base: pd.DataFrame, head: pd.DataFrame) -> pd.DataFrame | None:
    """The utterances of both, one row each with ``label``, ``score_base`` and ``score_head``;
    None when the two hold different utterances (or a label differs)."""
    if len(base) != len(head) or base["utt_id"].duplicated().any() or head["utt_id"].duplicated().any():
        return None
    pairs = base[["utt_id", "label", "score"]].merge(
        head[["utt_id", "label", "score"]], on="utt_id", suffixes=("_base", "_head")
    )
    if len(pairs) != len(base) or not (pairs["label_base"] == pairs["label_head"]).all():
        return None
    return pairs.rename(columns={"label_base": "label"})


def _classes(frame: pd.DataFrame) -> ScoreSets:
    spoof = (frame["label"] == SPOOF).to_numpy()
    return frame["score"].to_numpy()[~spoof], frame["score"].to_numpy()[spoof]


def _eer_percent(bonafide: np.ndarray, spoof: np.ndarray) -> float:
    return 100 * equal_error_rate(bonafide, spoof)[0]


def _interval(values: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)
