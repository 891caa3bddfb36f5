"""Seeding for libraries that draw from NumPy's global generator instead of taking one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


@contextmanager
def global_numpy_seed(seed: int | tuple[int, ...]) -> Iterator[None]:
    """Seed NumPy's global generator for the block (SHAP uses it), then restore its state."""
    saved = np.random.get_state()
    np.random.seed(seed if isinstance(seed, int) else list(seed))
    try:
        yield
    finally:
        np.random.set_state(saved)
