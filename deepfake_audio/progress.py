"""Progress of the long loops of the stages: a tqdm bar on a terminal, and where the output
is a log (``dvc repro > log``, CI) a line at most every ``every_s`` seconds and one at the end,
each with the time so far, so that a log shows where a slow stage spends its minutes."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")
EVERY_S = 10.0


class Progress:
    """Counts steps towards ``total``; use as a context manager and call ``update`` per step."""

    def __init__(
        self,
        total: int,
        desc: str,
        *,
        unit: str = "file",
        stream: TextIO | None = None,
        every_s: float = EVERY_S,
    ):
        self.total, self.desc, self.unit, self.every_s = total, desc, unit, every_s
        self.stream = sys.stderr if stream is None else stream
        self.bar = (
            tqdm(total=total, desc=desc, unit=unit, file=self.stream) if _is_terminal(self.stream) else None
        )
        self.done, self.started = 0, time.monotonic()
        self.shown = self.started

    def update(self, steps: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(steps)
            return
        self.done += steps
        now = time.monotonic()
        if now - self.shown >= self.every_s and self.done < self.total:
            self._line(now)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
        elif exc[0] is None:
            self._line(time.monotonic())

    def _line(self, now: float) -> None:
        elapsed = now - self.started
        share = self.done / self.total if self.total else 1.0
        left = f", about {elapsed * (1 - share) / share:.0f} s left" if 0 < share < 1 else ""
        print(
            f"{self.desc}: {self.done}/{self.total} {self.unit}s ({100 * share:.0f} %), {elapsed:.0f} s{left}",
            file=self.stream,
            flush=True,
        )
        self.shown = now


def progress(items: Iterable[T], desc: str, *, total: int | None = None, unit: str = "file") -> Iterator[T]:
    """``items``, reporting progress as they are consumed (``total`` defaults to ``len(items)``)."""
    count = len(items) if total is None else total  # type: ignore[arg-type]
    with Progress(count, desc, unit=unit) as shown:
        for item in items:
            yield item
            shown.update()


@contextmanager
def step(desc: str, *, stream: TextIO | None = None) -> Iterator[None]:
    """One line when a step of a stage starts and one with its time when it ends."""
    stream = sys.stderr if stream is None else stream
    print(f"{desc} ...", file=stream, flush=True)
    started = time.monotonic()
    yield
    print(f"{desc}: done in {time.monotonic() - started:.1f} s", file=stream, flush=True)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
