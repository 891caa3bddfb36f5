"""Hostile audio inputs for `deepfake-audio predict` (issue 16), deterministic for a seed.

``write_fuzz_corpus(folder, seed, count)`` fills ``folder`` with one subfolder per family:

- ``valid``: speech-like audio in WAV (PCM_U8/16/24/32, FLOAT, DOUBLE), FLAC, OGG Vorbis/Opus
  and a few other containers libsndfile writes, at 8-96 kHz, 1-6 channels, 0.2-2 s;
- ``codec``: the same in WAV with lossy or companded codecs (GSM 6.10, IMA/MS/NMS ADPCM,
  G.721, mu-law, A-law), whichever this libsndfile supports;
- ``signal``: decodable files that hold no speech and must be refused (huge finite floats,
  NaN, Inf, all zeros, DC, a lone impulse, a one-bit signal, denormals, 10 s of silence
  with one click), next to two that must not be (clipped and very quiet speech);
- ``truncated``, ``flip-header``, ``flip-body``, ``header``, ``garbage``, ``ogg``: byte mutations of valid
  files (cut at random offsets, random byte flips in header and body, WAV header fields
  set to absurd values, empty and random files, OGG files corrupted after the first pages
  with and without repaired page checksums);
- ``names``: valid audio under hostile names (newline, tab, CR, ANSI escape, U+2028,
  undecodable bytes, 250 characters, a leading '-', spaces, ': ', commas, non-ASCII, and
  a path over 1000 characters deep);
- ``special``: entries that are not regular files (a FIFO, a dangling symlink, a symlink
  to /dev/zero, a socket, a folder named ``d.wav`` holding a valid file), a MAT5 file named
  ``.mat``, a symlink to a valid file, an unreadable file, an upper-case and a hidden name,
  and a text file (not audio).

The returned list (``FuzzCorpus``) holds every path written, and says for each its family
and the outcome `predict` owes it (``ONE``, ``ERROR``, ``NONE`` or ``AT_MOST_ONE``).
Contents are byte-identical for a seed and a libsndfile version (OGG stream serial numbers,
random in libsndfile, are fixed and the page checksums recomputed).
"""

from __future__ import annotations

import io
import os
import re
import socket
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

# What `predict` owes an entry of the corpus:
ONE = "one"  # exactly one outcome: a result row or an error line
ERROR = "error"  # exactly one error line, never a result row
NONE = "none"  # no line at all (a folder that is searched, a file without an audio extension)
AT_MOST_ONE = "at most one"  # scoring it, refusing it and skipping it are all acceptable

RATES = (8000, 11025, 16000, 22050, 44100, 48000, 96000)
CHANNELS = (1, 1, 1, 2, 2, 3, 6)  # mono most often
# (container, subtype, extension)
PLAIN = [
    ("WAV", subtype, ".wav") for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")
] + [
    ("FLAC", "PCM_S8", ".flac"),
    ("FLAC", "PCM_16", ".flac"),
    ("FLAC", "PCM_24", ".flac"),
    ("OGG", "VORBIS", ".ogg"),
    ("OGG", "OPUS", ".ogg"),
    ("AIFF", "PCM_16", ".aiff"),
    ("AU", "PCM_16", ".au"),
    ("W64", "FLOAT", ".w64"),
    ("CAF", "PCM_24", ".caf"),
    ("RF64", "PCM_16", ".rf64"),
    ("WAVEX", "PCM_24", ".wav"),
    ("FLAC", "PCM_16", ".FLAC"),
]
CODECS = [
    ("WAV", subtype, ".wav")
    for subtype in (
        "GSM610",
        "IMA_ADPCM",
        "MS_ADPCM",
        "G721_32",
        "ULAW",
        "ALAW",
        "NMS_ADPCM_16",
        "NMS_ADPCM_24",
        "NMS_ADPCM_32",
    )
]

MONO_ONLY = {"GSM610", "G721_32", "NMS_ADPCM_16", "NMS_ADPCM_24", "NMS_ADPCM_32"}  # in libsndfile 1.2


class FuzzCorpus(list):
    """The paths written (a ``list[Path]``), with ``family[path]`` and ``expect[path]`` for each."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder
        self.family: dict[Path, str] = {}
        self.expect: dict[Path, str] = {}
        self.fifos: list[Path] = []

    def add(self, path: Path, family: str, expect: str) -> Path:
        self.append(path)
        self.family[path], self.expect[path] = family, expect
        return path


def write_fuzz_corpus(folder: Path, seed: int = 0, count: int = 300) -> list[Path]:
    """Write about ``count`` hostile inputs under ``folder`` (see the module docstring)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    corpus = FuzzCorpus(folder)
    _write_signals(corpus, folder / "signal", rng)
    _write_names(corpus, folder / "names", rng)
    _write_special(corpus, folder / "special", rng)
    left = max(0, count - len(corpus))
    valid = max(len(PLAIN) + len(CODECS), round(0.3 * left))
    _write_valid(corpus, folder, rng, valid)
    _write_mutations(corpus, folder, rng, max(0, left - valid))
    return corpus


# --------------------------------------------------------------------------- signals


def speech_like(
    rng: np.random.Generator, seconds: float, rate: int, channels: int = 1, peak: float = 0.5
) -> np.ndarray:
    """Voiced speech in caricature: a wandering f0 with harmonics, formant-ish weights, syllables, breath."""
    n = max(1, int(round(seconds * rate)))
    t = np.arange(n) / rate
    f0 = rng.uniform(90, 230) * (1 + 0.12 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t + rng.uniform(0, 6)))
    cycles = np.cumsum(f0) / rate  # the glottal phase, in periods
    formants = rng.uniform([400, 1100, 2300], [900, 1900, 3200])
    # One period of the voiced waveform as a table (harmonics below 0.45 x rate), read at the phase.
    period = np.arange(4096) / 4096
    table = np.zeros(4096)
    mean_f0 = float(f0.mean())
    for k in range(1, 1 + min(40, int(0.45 * rate / f0.max()))):
        weight = float(np.exp(-(((k * mean_f0 - formants) / 250.0) ** 2)).sum()) + 0.05
        table += weight / k**0.5 * np.sin(2 * np.pi * k * period + rng.uniform(0, 2 * np.pi))
    signal = table[(cycles * 4096).astype(np.int64) % 4096]
    syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5.5) * t + rng.uniform(0, 6)), 0, None) ** 0.7
    signal = signal * (0.15 + syllables) + 0.02 * rng.standard_normal(n) * signal.std()
    signal *= peak / max(1e-9, np.abs(signal).max())
    if channels == 1:
        return signal.astype(np.float32)
    gains = rng.uniform(0.6, 1.0, channels)
    return np.stack([np.roll(signal, c * 3) * gains[c] for c in range(channels)], axis=1).astype(np.float32)


def encode(data: np.ndarray, rate: int, container: str, subtype: str) -> bytes:
    """The file libsndfile writes (ValueError/LibsndfileError when it cannot), reproducibly."""
    buffer = io.BytesIO()
    sf.write(buffer, data, rate, format=container, subtype=subtype)
    return reproducible(buffer.getvalue(), container)


def reproducible(content: bytes, container: str) -> bytes:
    """``content`` without what libsndfile makes differ between runs: the OGG stream serial
    number, the time stamp of float files' PEAK chunk, the date in a MAT5 header."""
    if container == "OGG":
        return ogg_pages(content)[0]
    data = bytearray(content)
    if container == "MAT5":
        data[:116] = re.sub(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", b"2000-01-01 00:00:00", bytes(data[:116]))
    peak = data.find(b"PEAK")  # WAV, RF64, AIFF: id, size, version, time stamp
    if peak > 0:
        data[peak + 12 : peak + 16] = bytes(4)
    peak = data.find(b"peak\xf3\xac\xd3\x11")  # W64: 16-byte GUID, 8-byte size, version, time stamp
    if peak > 0:
        data[peak + 28 : peak + 32] = bytes(4)
    return bytes(data)


def _write_signals(corpus: FuzzCorpus, folder: Path, rng) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rate, n = 16000, 16000
    speech = speech_like(rng, 1.0, rate)
    with_nan, with_inf, with_neg_inf = speech.copy(), speech.copy(), speech.copy()
    with_nan[n // 3], with_inf[n // 2], with_neg_inf[2 * n // 3] = np.nan, np.inf, -np.inf
    impulse = np.zeros(n, np.float32)
    impulse[n // 2] = 1.0
    click = np.zeros(10 * rate, np.float32)
    click[int(rng.integers(rate, 9 * rate)) + np.arange(3)] = [0.9, -0.6, 0.2]
    refused = {
        "huge-float.wav": (rng.standard_normal(n) * 1e20, "FLOAT"),
        "huge-double.wav": (rng.standard_normal(n) * 1e300, "DOUBLE"),  # inf once read as float32
        "nan-all.wav": (np.full(n, np.nan), "FLOAT"),
        "nan-one.wav": (with_nan, "FLOAT"),
        "inf-one.wav": (with_inf, "FLOAT"),
        "neg-inf-one.wav": (with_neg_inf, "DOUBLE"),
        "zeros-float.wav": (np.zeros(n), "FLOAT"),
        "zeros-pcm16.wav": (np.zeros(n), "PCM_16"),
        "dc.wav": (np.full(n, 0.5), "FLOAT"),
        "impulse.wav": (impulse, "FLOAT"),
        "one-bit.wav": (rng.integers(0, 2, n) / 32768, "PCM_16"),  # samples 0 and 1/32768 only
        "denormal.wav": (rng.standard_normal(n) * 1e-40, "FLOAT"),
        "silence-10s-click.wav": (click, "PCM_16"),
    }
    for name, (data, subtype) in refused.items():
        corpus.add(
            _put(folder / name, encode(np.asarray(data, np.float64), rate, "WAV", subtype)), "signal", ERROR
        )
    # Controls: real, if badly recorded, speech must not be refused as "no signal".
    corpus.add(
        _put(folder / "clipped.wav", encode(np.clip(speech * 8, -1, 1), rate, "WAV", "PCM_16")), "signal", ONE
    )
    corpus.add(
        _put(folder / "quiet-50dB.wav", encode(speech * 10 ** (-50 / 20) / 0.5, rate, "WAV", "PCM_24")),
        "signal",
        ONE,
    )


# --------------------------------------------------------------------------- valid audio


def _write_valid(corpus: FuzzCorpus, root: Path, rng, count: int) -> None:
    (root / "valid").mkdir(parents=True, exist_ok=True)
    (root / "codec").mkdir(parents=True, exist_ok=True)
    formats = PLAIN + CODECS
    for index in range(count):
        # Each format this libsndfile writes once, then formats at random; a rate or channel
        # count the format does not take (Opus at 44.1 kHz, stereo GSM) is redrawn.
        written = None
        if index < len(formats) and sf.check_format(*formats[index][:2]):
            fmt, written = formats[index], _encode_some(rng, formats[index])
        while written is None:
            fmt = formats[rng.integers(len(formats))]
            written = _encode_some(rng, fmt) if sf.check_format(*fmt[:2]) else None
        content, rate, channels, seconds = written
        family = "codec" if fmt in CODECS else "valid"
        name = f"{index:03d}-{fmt[1].lower()}-{rate}hz-{channels}ch-{seconds:.2f}s{fmt[2]}"
        corpus.add(_put(root / family / name, content), family, ONE)


def _encode_some(rng, fmt) -> tuple[bytes, int, int, float] | None:
    """Speech in ``fmt`` at a random rate, channel count and length the format takes (None: none found)."""
    rates = (8000, 16000, 48000) if fmt[1] == "OPUS" else RATES
    for _ in range(20):
        rate, channels, seconds = (
            int(rng.choice(rates)),
            int(rng.choice(CHANNELS)),
            float(rng.uniform(0.2, 2.0)),
        )
        if fmt[1] in MONO_ONLY:
            channels = 1
        try:
            return (
                encode(speech_like(rng, seconds, rate, channels), rate, fmt[0], fmt[1]),
                rate,
                channels,
                seconds,
            )
        except (ValueError, RuntimeError, sf.LibsndfileError):
            continue
    return None


# --------------------------------------------------------------------------- byte mutations


def _base(rng, kind: str) -> tuple[bytes, str]:
    """A short valid file of ``kind`` (wav16, wavfloat, wavima, wavulaw, flac, ogg) and its extension."""
    rate = int(rng.choice((8000, 16000, 44100)))
    channels = int(rng.choice((1, 1, 2)))
    seconds = float(rng.uniform(0.5, 1.2))
    container, subtype, extension = {
        "wav16": ("WAV", "PCM_16", ".wav"),
        "wavfloat": ("WAV", "FLOAT", ".wav"),
        "wavima": ("WAV", "IMA_ADPCM", ".wav"),
        "wavulaw": ("WAV", "ULAW", ".wav"),
        "flac": ("FLAC", "PCM_16", ".flac"),
        "ogg": ("OGG", str(rng.choice(["VORBIS", "OPUS"])), ".ogg"),
    }[kind]
    if subtype == "OPUS":
        rate = int(rng.choice((8000, 16000, 48000)))
    if subtype == "ULAW":
        channels = 1
    return encode(speech_like(rng, seconds, rate, channels), rate, container, subtype), extension


def _flip(content: bytes, rng, start: int, end: int, flips: int) -> bytes:
    data = bytearray(content)
    end = min(end, len(data))
    if end > start:
        for position in rng.integers(start, end, flips):
            data[position] ^= int(rng.integers(1, 256))
    return bytes(data)


# WAV header edits: (name, field, value or callable(size of the data chunk) -> value, expectation)
WAV_FIELDS = [
    ("riff-size-0", "riff", 0, ONE),
    ("riff-size-max", "riff", 0xFFFFFFFF, ONE),
    ("riff-size-small", "riff", 12, ONE),
    ("data-size-0", "data", 0, ONE),
    ("data-size-max", "data", 0xFFFFFFFF, ONE),
    ("data-size-double", "data", lambda n: 2 * n + 100, ERROR),  # announces more than the file holds
    ("data-size-odd", "data", lambda n: n - 1, ONE),
    ("data-size-1", "data", 1, ONE),
    # No recording is sampled at 0, 1 or 7 Hz: a corrupt header (and 1 Hz turns a small file into hours).
    ("rate-1", "rate", 1, ERROR),
    ("rate-0", "rate", 0, ERROR),
    ("rate-7", "rate", 7, ERROR),
    ("rate-max", "rate", 0xFFFFFFFF, ERROR),
    ("channels-0", "channels", 0, ERROR),
    ("channels-65535", "channels", 65535, ONE),
    ("channels-3", "channels", 3, ONE),
    ("bits-7", "bits", 7, ONE),
    ("bits-13", "bits", 13, ONE),
    ("bits-0", "bits", 0, ONE),
    ("bits-65535", "bits", 65535, ONE),
    ("format-0", "format", 0, ONE),
    ("format-fffe", "format", 0xFFFE, ONE),
    ("format-mp3", "format", 0x55, ONE),
    ("block-align-0", "align", 0, ONE),
    ("byte-rate-0", "byterate", 0, ONE),
]
_FMT_OFFSETS = {
    "format": (0, "<H"),
    "channels": (2, "<H"),
    "rate": (4, "<I"),
    "byterate": (8, "<I"),
    "align": (12, "<H"),
    "bits": (14, "<H"),
}


def edit_wav_header(content: bytes, field: str, value) -> bytes:
    """``content`` (a RIFF WAV) with one header field set to ``value``."""
    data = bytearray(content)
    data_chunk = data.find(b"data", 12)
    if field == "riff":
        struct.pack_into("<I", data, 4, value)
    elif field == "data":
        size = struct.unpack_from("<I", data, data_chunk + 4)[0]
        struct.pack_into("<I", data, data_chunk + 4, value(size) if callable(value) else value)
    else:
        offset, form = _FMT_OFFSETS[field]
        struct.pack_into(form, data, data.find(b"fmt ", 12) + 8 + offset, value)
    return bytes(data)


def _write_mutations(corpus: FuzzCorpus, root: Path, rng, count: int) -> None:
    for family in ("truncated", "flip-header", "flip-body", "header", "garbage", "ogg"):
        (root / family).mkdir(parents=True, exist_ok=True)
    # Fixed cases first: empty files, and each header edit once. Rate edits go to a 64-frame
    # file: at 1 Hz that is a minute of "audio", not hours, should a reader believe it.
    for extension in (".wav", ".flac", ".ogg"):
        corpus.add(_put(root / "garbage" / f"empty{extension}", b""), "garbage", ERROR)
    small = encode(speech_like(rng, 64 / 8000, 8000), 8000, "WAV", "PCM_16")
    wav16 = _base(rng, "wav16")[0]
    for name, field, value, expect in WAV_FIELDS:
        content = small if field == "rate" else wav16
        corpus.add(
            _put(root / "header" / f"{name}.wav", edit_wav_header(content, field, value)), "header", expect
        )
    kinds = ["wav16", "wavfloat", "wavima", "wavulaw", "flac", "ogg"]
    # Mutations start from a pool of valid files, four of each kind (encoding is the slow part).
    pool = {kind: [_base(rng, kind) for _ in range(4)] for kind in kinds}
    operations = ["truncate", "flip-header", "flip-body", "header", "garbage", "ogg"]
    weights = np.array([25, 15, 20, 15, 10, 15], float)
    for index in range(max(0, count - 3 - len(WAV_FIELDS))):
        operation = operations[rng.choice(len(operations), p=weights / weights.sum())]
        kind = (
            "ogg"
            if operation == "ogg"
            else "wav16"
            if operation == "header"
            else kinds[rng.integers(len(kinds))]
        )
        content, extension = pool[kind][rng.integers(4)]
        expect, family = ONE, "truncated" if operation == "truncate" else operation
        if operation == "truncate":
            cut = int(rng.integers(1, len(content)))
            content = content[:cut]
            name = f"{kind}-cut-{cut}"
            if kind in ("wav16", "wavfloat"):  # the header announces more than is left
                expect = ERROR
        elif operation == "flip-header":
            flips = int(rng.integers(1, 5))
            content, name = _flip(content, rng, 0, 64, flips), f"{kind}-header-{flips}x"
        elif operation == "flip-body":
            flips = int(rng.integers(1, 33))
            content, name = _flip(content, rng, 64, len(content), flips), f"{kind}-body-{flips}x"
        elif operation == "header":
            name, field, value, expect = WAV_FIELDS[rng.integers(len(WAV_FIELDS))]
            if field == "rate":
                content = small
            content, name = edit_wav_header(content, field, value), f"random-{name}"
        elif operation == "garbage":
            extension = str(rng.choice([".wav", ".flac", ".ogg"]))
            noise = rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes()
            magic = rng.choice(["", "", "RIFF", "fLaC", "OggS"])
            if magic == "RIFF":
                noise = b"RIFF" + struct.pack("<I", len(noise) + 4) + b"WAVE" + noise
            elif magic:
                noise = magic.encode() + noise
            content, name = noise, f"random-{magic.lower() or 'bytes'}"
            expect = ERROR if not magic else ONE
        else:  # an OGG corrupted after its first pages, checksums left wrong or repaired
            pages = ogg_page_offsets(content)
            start = pages[min(2, len(pages) - 1)] + 27
            flips = int(rng.integers(1, 65))
            content = _flip(content, rng, start, len(content), flips)
            repaired = bool(rng.integers(0, 2))
            if repaired:
                content = ogg_pages(content, repair_only=True)[0]
            name = f"body-{flips}x-{'crc-repaired' if repaired else 'crc-broken'}"
        path = root / family / f"{index:03d}-{name}{extension}"
        corpus.add(_put(path, content), family, expect)


def _put(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


# --------------------------------------------------------------------------- OGG pages


def _ogg_crc_table() -> list[int]:
    table = []
    for index in range(256):
        value = index << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
        table.append(value & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_crc_table()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC[((crc >> 24) & 0xFF) ^ byte]
    return crc


def ogg_page_offsets(content: bytes) -> list[int]:
    """Where each page starts, as long as the pages parse."""
    offsets, position = [], 0
    while position + 27 <= len(content) and content[position : position + 4] == b"OggS":
        offsets.append(position)
        segments = content[position + 26]
        position += 27 + segments + sum(content[position + 27 : position + 27 + segments])
    return offsets


def ogg_pages(content: bytes, serial: int = 0x5EED, repair_only: bool = False) -> tuple[bytes, int]:
    """``content`` with every page's stream serial set to ``serial`` (unless ``repair_only``) and its CRC
    recomputed, and the number of pages."""
    data = bytearray(content)
    offsets = ogg_page_offsets(content)
    for position in offsets:
        segments = data[position + 26]
        end = min(len(data), position + 27 + segments + sum(data[position + 27 : position + 27 + segments]))
        if not repair_only:
            struct.pack_into("<I", data, position + 14, serial)
        struct.pack_into("<I", data, position + 22, 0)
        struct.pack_into("<I", data, position + 22, _ogg_crc(bytes(data[position:end])))
    return bytes(data), len(offsets)


# --------------------------------------------------------------------------- names and special entries


def _write_names(corpus: FuzzCorpus, folder: Path, rng) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = [
        b"new\nline.wav",
        b"tab\tname.wav",
        b"cr\rname.wav",
        b"esc\x1b[31mred.wav",
        "ls\u2028sep.wav".encode(),
        b"bad\xff\xfe.wav",
        b"L" * 246 + b".wav",
        b"-x.wav",
        b"--help.wav",
        b"with space.wav",
        b"a: b.wav",
        b"comma,name.wav",
        "voix-\u00e9-\u97f3\u58f0.wav".encode(),
    ]
    deep = os.path.join(*[b"D%d" % level + b"d" * 200 for level in range(5)])
    names.append(os.path.join(deep, b"deep.wav"))
    for name in names:
        raw = os.path.join(os.fsencode(folder), name)
        os.makedirs(os.path.dirname(raw), exist_ok=True)
        content = encode(speech_like(rng, float(rng.uniform(0.6, 1.0)), 16000), 16000, "WAV", "PCM_16")
        descriptor = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(descriptor, content)
        finally:
            os.close(descriptor)
        corpus.add(Path(os.fsdecode(raw)), "names", ONE)


def _write_special(corpus: FuzzCorpus, folder: Path, rng) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    speech = encode(speech_like(rng, 0.8, 16000), 16000, "WAV", "PCM_16")
    os.mkfifo(folder / "x.wav")
    corpus.fifos.append(corpus.add(folder / "x.wav", "special", ERROR))
    os.symlink(folder / "missing-target.wav", folder / "y.wav")
    corpus.add(folder / "y.wav", "special", ERROR)
    os.symlink("/dev/zero", folder / "z.wav")
    corpus.add(folder / "z.wav", "special", ERROR)
    try:  # a Unix socket; its path must fit in sun_path (108 bytes)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.bind(str(folder / "s.wav"))
            corpus.add(folder / "s.wav", "special", ERROR)
        finally:
            server.close()
    except OSError:
        pass
    (folder / "d.wav").mkdir()
    corpus.add(folder / "d.wav", "special", NONE)  # a folder: searched, not reported
    corpus.add(_put(folder / "d.wav" / "inner.wav", speech), "special", ONE)
    corpus.add(_put(folder / "target.wav", speech), "special", ONE)
    os.symlink("target.wav", folder / "link-ok.wav")
    corpus.add(folder / "link-ok.wav", "special", ONE)
    for subtype in ("PCM_16", "DOUBLE"):  # MATLAB 5 files, which libsndfile reads
        name = f"matrix-{subtype.lower()}.mat"
        corpus.add(
            _put(folder / name, encode(speech_like(rng, 0.8, 16000), 16000, "MAT5", subtype)),
            "special",
            AT_MOST_ONE,
        )
    corpus.add(_put(folder / "unreadable.wav", speech), "special", ONE)
    os.chmod(folder / "unreadable.wav", 0)  # unreadable unless the tests run as root
    corpus.add(_put(folder / "UPPER.WAV", speech), "special", ONE)
    corpus.add(_put(folder / ".hidden.wav", speech), "special", ONE)
    corpus.add(_put(folder / "notes.txt", b"not audio, and not an audio extension\n"), "special", NONE)
