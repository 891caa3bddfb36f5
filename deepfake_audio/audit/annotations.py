"""Speech spans given by the user (forced alignment, hand labels), used instead of the VAD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from deepfake_audio.errors import InputError
from deepfake_audio.tables import read_table, refuse_rows

ANNOTATION_COLUMNS = ["utt_id", "start_s", "end_s"]


def read_annotations(path: str | Path) -> pd.DataFrame:
    """The speech spans of ``path``, a CSV of ``utt_id, start_s, end_s`` (seconds), indexed by utt_id."""
    path = Path(path)
    try:
        table = read_table(path)
    except FileNotFoundError:
        raise InputError(f"{path}: annotation file not found (audit.annotations)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a readable CSV: {err}") from None
    missing = [column for column in ANNOTATION_COLUMNS if column not in table.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(ANNOTATION_COLUMNS)}"
        )
    lines = table.index + 2  # the header is line 1
    spans = table["start_s"].astype(str) + "," + table["end_s"].astype(str)
    times = table[["start_s", "end_s"]].apply(pd.to_numeric, errors="coerce")
    bad_number = times.isna().any(axis=1) | ~np.isfinite(times).all(axis=1)
    refuse_rows(
        path,
        "start_s and end_s must be numbers",
        lines[bad_number],
        values=spans[bad_number],
    )
    bad_span = (times["start_s"] < 0) | (times["end_s"] <= times["start_s"])
    refuse_rows(
        path,
        "need 0 <= start_s < end_s",
        lines[bad_span],
        values=spans[bad_span],
    )
    repeated = table["utt_id"].duplicated()
    refuse_rows(path, "utt_id listed more than once", lines[repeated], values=table.loc[repeated, "utt_id"])
    return times.set_index(table["utt_id"])
