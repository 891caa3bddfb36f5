"""Detect replayed and synthesised speech."""

from deepfake_audio import cpu  # noqa: F401  (first: sets the environment before NumPy and TensorFlow load)


def __getattr__(name: str):
    # `from deepfake_audio import Detector` without making every import of the package
    # (each pipeline stage) load TensorFlow.
    if name in ("Detector", "Prediction"):
        from deepfake_audio import detector

        return getattr(detector, name)
    raise AttributeError(f"module 'deepfake_audio' has no attribute {name!r}")
