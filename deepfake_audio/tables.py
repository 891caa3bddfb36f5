"""The one reader of the project's CSV tables, and line-numbered refusals of their rows.

Text columns stay text: ids such as ``NA``, ``null``, ``-``, ``1e5`` or ``0001`` are names,
not missing values or numbers, in every table (manifest, features, scores, annotations,
custom protocols), so joins across tables never lose or rename an utterance.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from deepfake_audio.errors import InputError

TEXT_COLUMNS = ("utt_id", "speaker", "split", "label", "condition", "file", "path")
_MAX_LISTED = 20  # offending rows named in one error


def read_table(source: str | Path | io.StringIO, *, all_text: bool = False, **options) -> pd.DataFrame:
    """A CSV table with no value read as missing and the ``TEXT_COLUMNS`` (or all, ``all_text``) as text.

    ``options`` go to ``pandas.read_csv``; its errors (missing file, bad CSV) propagate.
    """
    dtype = str if all_text else dict.fromkeys(TEXT_COLUMNS, str)
    return pd.read_csv(source, dtype=dtype, keep_default_na=False, **options)


def refuse_rows(source: Path, what: str, lines, *, values, error: type[InputError] = InputError) -> None:
    """Stop with ``error`` naming ``source``'s offending line numbers and values, if there are any."""
    refuse_if_any(
        f"{source}: {what}",
        [f"line {line}: {value!r}" for line, value in zip(lines, values, strict=True)],
        error=error,
    )


def refuse_if_any(what: str, items: list[str], *, error: type[InputError] = InputError) -> None:
    """Stop with ``error``: ``what``, the number of ``items`` and the first of them."""
    if not items:
        return
    shown = ", ".join(items[:_MAX_LISTED])
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    raise error(f"{what} ({len(items)}): {shown}{more}")
