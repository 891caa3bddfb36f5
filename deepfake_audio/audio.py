"""Reading audio: any format libsndfile reads, returned as float32 mono at a given rate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from deepfake_audio.errors import InputError


class AudioError(InputError):
    """An audio file cannot be read or holds no usable signal."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


def read_mono(path: str | Path) -> tuple[np.ndarray, int]:
    """The file's samples as float32 in [-1, 1], downmixed to mono, and its sample rate."""
    try:
        signal, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(path, f"cannot read audio: {err}") from None
    signal = signal.mean(axis=1)
    if signal.size == 0:
        raise AudioError(path, "audio is empty")
    if not np.all(np.isfinite(signal)):
        raise AudioError(path, "audio contains NaN or Inf samples")
    return signal, rate


def load_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read a file as float32 mono, resampled to ``sample_rate``."""
    signal, file_rate = read_mono(path)
    return _resample(signal, file_rate, sample_rate)


def audio_windows(path: str | Path, sample_rate: int, window_s: float, min_duration_s: float) -> Iterator[np.ndarray]:
    """The file as float32 mono at ``sample_rate``, one window of ``window_s`` at a time.

    A file no longer than a window comes whole, exactly as ``load_audio`` returns it, so
    it is analysed as the pipeline analysed its corpus. Longer files are read a window at
    a time (memory stays bounded whatever their length); a last piece shorter than
    ``min_duration_s`` is dropped. AudioError says why a file is unusable: unreadable, not
    audio, empty, truncated, too short, NaN/Inf samples or all silent.
    """
    if not Path(path).is_file():
        raise AudioError(path, "file not found")
    if Path(path).stat().st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(path, f"cannot read audio: {err}") from None
    if info.frames <= 0:
        raise AudioError(path, "audio is empty")
    _check_complete(path, info.extra_info)
    duration = info.frames / info.samplerate
    if duration < min_duration_s:
        raise AudioError(path, f"too short: {duration:.3f} s < {min_duration_s:g} s")
    block = max(1, round(window_s * info.samplerate))
    heard = False
    try:
        with sf.SoundFile(str(path)) as audio:
            for index, frames in enumerate(audio.blocks(blocksize=block, dtype="float32", always_2d=True)):
                mono = frames.mean(axis=1)
                if not np.all(np.isfinite(mono)):
                    raise AudioError(path, "audio contains NaN or Inf samples")
                if index and mono.size < min_duration_s * info.samplerate:
                    break
                heard = heard or bool(np.any(mono))
                yield _resample(mono, info.samplerate, sample_rate)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(path, f"cannot decode audio (truncated or corrupt?): {err}") from None
    if not heard:
        raise AudioError(path, "silent: every sample is zero")


def _check_complete(path, header_log: str) -> None:
    """libsndfile reads what a cut-off WAV/AIFF still holds and logs the shortfall; refuse it."""
    match = re.search(r"^data\s*:\s*(\d+) \(should be (\d+)\)", header_log, re.MULTILINE)
    # Streamed files declare 0 or the 32-bit maximum: their length was unknown when written.
    if match and int(match[1]) not in (0, 0xFFFFFFFF, 0x7FFFFFFF) and int(match[2]) < int(match[1]):
        raise AudioError(path, f"truncated: the header announces {match[1]} bytes of audio, the file holds {match[2]}")


def _resample(signal: np.ndarray, file_rate: int, sample_rate: int) -> np.ndarray:
    if file_rate != sample_rate:
        signal = librosa.resample(signal, orig_sr=file_rate, target_sr=sample_rate, res_type="soxr_hq")
    return signal.astype(np.float32, copy=False)


def inspect_audio(path: str | Path, min_duration_s: float) -> tuple[float, int]:
    """Duration (s) and sample rate of a usable file; AudioError says why a file is unusable."""
    signal, rate = read_mono(path)
    duration = signal.size / rate
    if duration < min_duration_s:
        raise AudioError(path, f"too short: {duration:.3f} s < {min_duration_s:g} s")
    if not np.any(signal):
        raise AudioError(path, "silent: every sample is zero")
    return duration, rate
