"""Stress variants of the embedded corpus: eval-like files under conditions training never had.

Each variant is the eval split of the embedded corpus drawn from another seed (so other
speakers, rooms, loudspeakers and recorders than the pipeline's corpus; its vocoded spoofs
use eval's vocoders, A06-A09, which are fixed) with one thing changed: shorter speech, a
narrowband recorder, better loudspeakers (replays only), noisier rooms, a louder or
quieter level. ``unseen`` changes nothing else, so it is the yardstick of the others. All
variants of one seed say the same takes through the same chains; a variant is
byte-identical for the same seed and params. The robustness benchmark
(``benchmarks/bench_robust.py``) scores the trained models on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import soundfile as sf
from joblib import Parallel, delayed

from deepfake_audio.corpus.asvspoof2017 import audio_dir, protocol_path, write_protocol
from deepfake_audio.corpus.manifest import manifest_from_asvspoof2017, screen_audio
from deepfake_audio.corpus.synthetic import Utterance, plan_corpus, render_utterance, speech_span
from deepfake_audio.errors import InputError
from deepfake_audio.params import SyntheticParams
from deepfake_audio.progress import Progress

_SPLIT = "eval"
_CHUNK = 16  # files per parallel task; results do not depend on it
_SHORT_STREAM = 3  # the short spans' seed stream: after the three of synthetic._streams


@dataclass(frozen=True)
class StressVariant:
    """How a variant departs from the eval split of a corpus from another seed."""

    description: str
    synthetic: dict = field(default_factory=dict)  # SyntheticParams fields replaced
    speech_s: tuple[float, float] | None = None  # keep a random span of this many seconds of the speech
    sample_rate: int | None = None  # the file's rate (the pipeline resamples it on reading)
    gain_db: float = 0.0  # applied to the finished file; what passes full scale is clipped


STRESS_VARIANTS = {
    "unseen": StressVariant("another corpus seed: other speakers, rooms, loudspeakers, recorders"),
    "short": StressVariant("0.3-1 s of each file's speech, nothing around it", speech_s=(0.3, 1.0)),
    "narrowband": StressVariant("recorded at 8 kHz", sample_rate=8000),
    "hifi_playback": StressVariant(
        "loudspeakers of quality 0.9-1 (default 0.2-0.95)", synthetic={"playback_quality": (0.9, 1.0)}
    ),
    "noisy": StressVariant("room noise at 5-15 dB SNR (default 15-35)", synthetic={"snr_db": (5.0, 15.0)}),
    "loud": StressVariant("15 dB louder, peaks clipped", gain_db=15.0),
    "quiet": StressVariant("25 dB quieter", gain_db=-25.0),
}


def write_stress_variant(
    root: Path,
    name: str,
    synthetic: SyntheticParams,
    *,
    sample_rate: int,
    seed: int,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Write variant ``name`` of the eval split of the corpus ``seed`` under ``root`` (absent or
    empty) in ASVspoof 2017 V2 layout; returns its manifest, with durations and sample rates."""
    if name not in STRESS_VARIANTS:
        raise InputError(f"unknown stress variant {name!r}; known: {', '.join(STRESS_VARIANTS)}")
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise InputError(f"{root}: the variant's folder must be absent or empty")
    variant = STRESS_VARIANTS[name]
    synthetic = synthetic.model_copy(update=variant.synthetic)
    utterances = plan_corpus(synthetic, seed)[_SPLIT]
    audio_dir(root, _SPLIT).mkdir(parents=True)
    chunks = [utterances[start : start + _CHUNK] for start in range(0, len(utterances), _CHUNK)]
    rendered = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(_render_chunk)(chunk, root, variant, synthetic=synthetic, sample_rate=sample_rate, seed=seed)
        for chunk in chunks
    )
    with Progress(len(utterances), f"stress variant {name}") as progress:
        for count in rendered:
            progress.update(count)
    write_protocol(protocol_path(root, _SPLIT), [utt.protocol_entry() for utt in utterances])
    manifest, _ = screen_audio(manifest_from_asvspoof2017(root, (_SPLIT,)), 0.0, "fail", n_jobs=n_jobs)
    return manifest


def stress_audio(
    utt: Utterance, variant: StressVariant, *, synthetic: SyntheticParams, sample_rate: int, seed: int
) -> tuple[np.ndarray, int]:
    """One file of a variant: its float samples (full scale 1, not yet clipped) and their rate."""
    pcm = render_utterance(
        utt, sample_rate=sample_rate, seed=seed, snr_db=synthetic.snr_db, artefact=synthetic.artefact
    )
    audio = pcm.astype(np.float32) / 32768
    if variant.speech_s is not None:
        start, stop = speech_span(utt, sample_rate=sample_rate, seed=seed)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(*utt.seed_key, _SHORT_STREAM)))
        length = min(stop - start, round(rng.uniform(*variant.speech_s) * sample_rate))
        first = start + int(rng.integers(0, stop - start - length + 1))
        audio = audio[first : first + length]
    rate = sample_rate
    if variant.sample_rate is not None and variant.sample_rate != sample_rate:
        audio = librosa.resample(
            audio, orig_sr=sample_rate, target_sr=variant.sample_rate, res_type="soxr_hq"
        )
        rate = variant.sample_rate
    return audio * 10 ** (variant.gain_db / 20), rate


def _render_chunk(chunk, root, variant, *, synthetic, sample_rate, seed) -> int:
    for utt in chunk:
        audio, rate = stress_audio(utt, variant, synthetic=synthetic, sample_rate=sample_rate, seed=seed)
        pcm = np.clip(np.round(audio * 32768), -32768, 32767).astype(np.int16)  # loud peaks clip here
        sf.write(audio_dir(root, _SPLIT) / utt.file, pcm, rate, subtype="PCM_16", format="WAV")
    return len(chunk)
