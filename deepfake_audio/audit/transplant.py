"""The click transplant of Chettri et al. (2020): the start of a file of the other class, put in front."""

from __future__ import annotations

import numpy as np


def prepend_head(signal: np.ndarray, donor: np.ndarray, head: int) -> np.ndarray:
    """``donor[:head]`` followed by the whole of ``signal``."""
    if donor.size < head:
        raise ValueError(f"the donor has {donor.size} samples, fewer than the {head} to transplant")
    return np.concatenate([donor[:head], signal])


def pick_donors(labels, seed: int) -> np.ndarray:
    """For each file, the position of a file of the other class whose start it receives.

    Donors are drawn uniformly, with replacement, so every file gets one however
    unbalanced the classes are; the same labels and seed give the same donors.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    donors = np.empty(labels.size, dtype=int)
    for label in np.unique(labels):
        receivers, others = np.flatnonzero(labels == label), np.flatnonzero(labels != label)
        if others.size == 0:
            raise ValueError(f"every file is {label}: a transplant needs files of both classes")
        donors[receivers] = rng.choice(others, size=receivers.size)
    return donors
