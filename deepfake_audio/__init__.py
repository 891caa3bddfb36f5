"""Detect replayed and synthesised speech."""

import os

from deepfake_audio import cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

# Before anything imports TensorFlow: keep its start-up chatter out of the stage logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def __getattr__(name: str):
    # `from deepfake_audio import Detector` without making every import of the package
    # (each pipeline stage) load TensorFlow.
    if name in ("Detector", "Prediction"):
        from deepfake_audio import detector

        return getattr(detector, name)
    raise AttributeError(f"module 'deepfake_audio' has no attribute {name!r}")
