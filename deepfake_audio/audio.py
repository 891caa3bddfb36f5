"""Reading audio: any format libsndfile reads, returned as float32 mono at a given rate.

Every reader here goes through ``decoded_blocks``, so the pipeline (prepare, featurize,
audit) and ``predict`` agree on which files are usable: a file is refused, with the
reason, when it is not a regular file, cannot be decoded, decodes to fewer frames than its
header announces, has an implausible sample rate, holds NaN/Inf or absurdly large samples,
is too short or is all zeros.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from deepfake_audio.errors import InputError
from deepfake_audio.io import file_type

# Sample rates a recording can plausibly have; a header outside them is corrupt (a 12 KB
# file "at 1 Hz" would otherwise be read as an hour and a half of audio).
MIN_FILE_RATE, MAX_FILE_RATE = 4000, 384000
# Float formats can hold any value; speech is within ±1 with some headroom. Far larger
# samples are corrupt data and would overflow the features' power spectra.
MAX_PEAK = 1000.0
# Frames are read this many samples (frames × channels) at a time and downmixed, so that
# memory stays near the mono window whatever the channel count; small reads also let a
# decoder's skip over corrupt data show in its position (see ``_read_mono``).
_READ_SAMPLES = 1 << 14


class AudioError(InputError):
    """An audio file cannot be read or holds no usable signal."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason

    def __reduce__(self):  # raised in a worker process, it must come back whole
        return type(self), (self.path, self.reason)


def check_regular_file(path: str | Path) -> None:
    """AudioError unless ``path`` is a non-empty regular file (after following links).

    Checked with ``stat``, so a FIFO is never opened (which would block) and a link to a
    device such as /dev/zero is never read.
    """
    try:
        status = os.stat(path)
    except OSError as err:
        raise _unopenable(path, err) from None
    _check_status(path, status)


@contextmanager
def open_audio(path: str | Path) -> Iterator[sf.SoundFile]:
    """The file opened for decoding, once it is known to be a non-empty regular file with a
    plausible header (AudioError otherwise).

    It is opened without blocking and checked on the open descriptor, so a FIFO or device
    (even one swapped in after a scan) is never read. libsndfile reads it through Python's
    file object, which also lifts its limits on the path (1,024 bytes, UTF-8).
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise _unopenable(path, err) from None
    with os.fdopen(descriptor, "rb") as file:
        _check_status(path, os.fstat(descriptor))
        try:
            audio = sf.SoundFile(file)
        except Exception as err:  # libsndfile's errors, and its wrapper's on odd headers
            raise AudioError(path, f"cannot read audio: {_reason(err)}") from None
        with audio:
            _check_header(path, audio)
            yield audio


def decoded_blocks(
    path: str | Path, audio: sf.SoundFile, block_frames: int, *, min_duration_s: float = 0.0
) -> Iterator[np.ndarray]:
    """The decoded samples of ``audio`` (the file ``path``, from ``open_audio``) as float32 mono
    at its own rate, ``block_frames`` at a time.

    Only samples the decoder delivered are yielded (never an unfilled buffer), and the file
    is refused (AudioError) if, at its end, fewer frames were decoded than its header
    announced. Files shorter than ``min_duration_s`` are refused; a last block shorter than
    that is dropped.
    """
    min_frames = min_duration_s * audio.samplerate
    if audio.seekable() and audio.frames < min_frames:
        raise AudioError(path, _too_short(audio.frames, audio.samplerate, min_duration_s))
    chunk = max(1, _READ_SAMPLES // audio.channels)
    decoded = heard = 0
    try:
        while True:
            block = _read_mono(path, audio, block_frames, chunk=chunk)
            if block.size == 0 or (decoded and block.size < min_frames):
                decoded += block.size
                break
            if block.size < min_frames:  # a stream of unannounced length, or a short decode
                raise AudioError(
                    path,
                    _too_short(block.size + _drain(path, audio, chunk), audio.samplerate, min_duration_s),
                )
            _check_samples(path, block)
            decoded += block.size
            heard = heard or bool(np.any(block))
            yield block
            if block.size < block_frames:
                break
        decoded += _drain(path, audio, chunk)
    except AudioError:
        raise
    except Exception as err:
        raise AudioError(path, f"cannot decode audio (truncated or corrupt?): {_reason(err)}") from None
    if audio.seekable() and decoded < audio.frames:
        raise AudioError(
            path, f"corrupt: the header announces {audio.frames} frames, {decoded} could be decoded"
        )
    if not decoded:
        raise AudioError(path, "no audio could be decoded")
    if not heard:
        raise AudioError(path, "silent: every sample is zero")


def _unopenable(path, err: OSError) -> AudioError:
    if isinstance(err, FileNotFoundError):
        return AudioError(path, "broken symbolic link" if os.path.islink(path) else "file not found")
    return AudioError(path, f"cannot open: {err.strerror}")


def _check_status(path, status: os.stat_result) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise AudioError(path, f"not a regular file ({file_type(status.st_mode)})")
    if status.st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")


def _check_header(path, audio: sf.SoundFile) -> None:
    if not MIN_FILE_RATE <= audio.samplerate <= MAX_FILE_RATE:
        raise AudioError(
            path,
            f"implausible sample rate {audio.samplerate} Hz (expected "
            f"{MIN_FILE_RATE}-{MAX_FILE_RATE} Hz): corrupt header?",
        )
    if audio.channels < 1:
        raise AudioError(path, f"implausible channel count {audio.channels}: corrupt header?")
    if audio.frames <= 0 and audio.seekable():
        raise AudioError(path, "audio is empty")
    _check_complete(path, audio.extra_info)


def _read_mono(path, audio: sf.SoundFile, frames: int, *, chunk: int) -> np.ndarray:
    """Up to ``frames`` decoded frames, downmixed; shorter only at the end of the decodable data.

    Reads go into zeroed buffers and are kept only up to the count the decoder returns; on
    seekable files the position must advance by exactly that count (libsndfile's Vorbis
    decoder skips a corrupt stretch and carries on, which only the position reveals).
    """
    pieces, wanted = [], frames
    while wanted > 0:
        buffer = np.zeros((min(chunk, wanted), audio.channels), dtype=np.float32)
        start = audio.tell() if audio.seekable() else None
        count = len(audio.read(out=buffer))
        if count == 0:
            break
        if start is not None and audio.tell() != start + count:
            raise AudioError(
                path,
                f"corrupt: {audio.tell() - start - count} frames near "
                f"{start / audio.samplerate:.2f} s could not be decoded",
            )
        piece = buffer[:count]
        pieces.append(piece.mean(axis=1) if audio.channels > 1 else piece[:, 0])
        wanted -= count
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


def _drain(path, audio: sf.SoundFile, chunk: int) -> int:
    """Frames left after the last block read (decoded, not kept), so the total can be checked."""
    left = 0
    while count := _read_mono(path, audio, chunk, chunk=chunk).size:
        left += count
    return left


def _check_samples(path, block: np.ndarray) -> None:
    if not np.all(np.isfinite(block)):
        raise AudioError(path, "audio contains NaN or Inf samples")
    peak = float(np.max(np.abs(block)))
    if peak > MAX_PEAK:
        raise AudioError(
            path,
            f"absurd amplitude: a sample of magnitude {peak:.3g} (audio is expected "
            f"within ±1, at most ±{MAX_PEAK:g})",
        )


def _check_complete(path, header_log: str) -> None:
    """libsndfile reads what a cut-off WAV/AIFF still holds and logs the shortfall; refuse it."""
    match = re.search(r"^data\s*:\s*(\d+) \(should be (\d+)\)", header_log, re.MULTILINE)
    # Streamed files declare 0 or the 32-bit maximum: their length was unknown when written.
    if match and int(match[1]) not in (0, 0xFFFFFFFF, 0x7FFFFFFF) and int(match[2]) < int(match[1]):
        raise AudioError(
            path, f"truncated: the header announces {match[1]} bytes of audio, the file holds {match[2]}"
        )


def _reason(err: Exception) -> str:
    """The decoder's own words, without its "Error opening <name>:" prefix (the line names the file)."""
    text = (getattr(err, "error_string", None) or str(err)).strip()
    return text.splitlines()[0] if text else type(err).__name__


def read_mono(path: str | Path) -> tuple[np.ndarray, int]:
    """The whole file as float32 mono at its own rate, and that rate (checked as ``decoded_blocks``)."""
    with open_audio(path) as audio:
        # One block of the announced length (a second, for streams that announce none).
        blocks = list(decoded_blocks(path, audio, max(audio.frames, audio.samplerate, 1)))
        return (blocks[0] if len(blocks) == 1 else np.concatenate(blocks)), audio.samplerate


def load_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read a file as float32 mono, resampled to ``sample_rate``."""
    signal, rate = read_mono(path)
    return _resample(signal, rate, sample_rate)


def audio_windows(
    path: str | Path, sample_rate: int, *, window_s: float, min_duration_s: float
) -> Iterator[np.ndarray]:
    """The file as float32 mono at ``sample_rate``, one window of ``window_s`` at a time.

    A file no longer than a window comes whole, exactly as ``load_audio`` returns it, so
    it is analysed as the pipeline analysed its corpus. Longer files are read a window at
    a time (memory stays bounded whatever their length); a last piece shorter than
    ``min_duration_s`` is dropped. AudioError says why a file is unusable (see
    ``decoded_blocks``), also after windows were yielded: a file whose decoding fails
    part way is refused, not scored on what came before.
    """
    with open_audio(path) as audio:
        for signal in decoded_blocks(
            path, audio, max(1, round(window_s * audio.samplerate)), min_duration_s=min_duration_s
        ):
            yield _resample(signal, audio.samplerate, sample_rate)


def inspect_audio(path: str | Path, min_duration_s: float) -> tuple[float, int]:
    """Duration (s) and sample rate of a usable file, decoded in full as ``predict`` reads it
    (a minute at a time); AudioError says why a file is unusable."""
    with open_audio(path) as audio:
        rate = audio.samplerate
        frames = sum(block.size for block in decoded_blocks(path, audio, 60 * rate))
    if frames < min_duration_s * rate:
        raise AudioError(path, _too_short(frames, rate, min_duration_s))
    return frames / rate, rate


def _too_short(frames: int, rate: int, min_duration_s: float) -> str:
    return (
        f"too short: {frames} samples at {rate} Hz ({frames / rate:.4g} s), "
        f"under the minimum of {min_duration_s:g} s"
    )


def _resample(signal: np.ndarray, file_rate: int, sample_rate: int) -> np.ndarray:
    if file_rate != sample_rate:
        signal = librosa.resample(signal, orig_sr=file_rate, target_sr=sample_rate, res_type="soxr_hq")
    return signal.astype(np.float32, copy=False)
