"""librosa's JIT-compiled helpers, compiled once, in one process, into numba's cache.

numba's on-disk cache has a race (numba/numba#10128): processes that compile the same
``@guvectorize`` function at the same moment can write cache files that do not match, and
from then on every process that loads them crashes with a segmentation fault. On a fresh
install the pipeline's worker processes (two per stage, and the test suite's two) would all
compile librosa's helpers at once (its pitch tracker and LPC in the vocoded spoofs, its peak
pickers in the features), so ``make install`` runs this module first: it renders a tiny
embedded corpus and extracts its features and frames with one process, after which the
workers only read the cache. ``python -m deepfake_audio.jit_cache`` from the project root.
"""

from __future__ import annotations

import deepfake_audio.cpu  # noqa: F401  (first: NUMBA_CPU_NAME is part of the cache key)

import tempfile
from pathlib import Path

from deepfake_audio.corpus.manifest import manifest_from_asvspoof2017, screen_audio
from deepfake_audio.corpus.synthetic import generate_corpus
from deepfake_audio.features.extract import extract_in_memory
from deepfake_audio.features.frames import frames_as_extracted
from deepfake_audio.params import ComputeParams, load_params

# The least that runs every JIT-compiled helper: train's three vocoders (mel inversion, LPC, phase
# vocoder: half of its six spoofs), one file of each class elsewhere.
_TINY = {
    "speakers": 1,
    "genuine": 1,
    "spoof": 1,
    "environments": 1,
    "playback_devices": 1,
    "recorders": 1,
    "replay_configs": 1,
}
_TINY_TRAIN = {**_TINY, "spoof": 6}


def compile_helpers(params_file: Path = Path("params.yaml")) -> None:
    params = load_params(params_file)
    split = {
        name: params.synthetic.split(name).model_copy(update=_TINY_TRAIN if name == "train" else _TINY)
        for name in ("train", "dev", "eval")
    }
    synthetic = params.synthetic.model_copy(update={**split, "attacks": ("replay", "vocoded")})
    one_process = ComputeParams(n_jobs=1)
    with tempfile.TemporaryDirectory(prefix="jit-cache-") as folder:
        generate_corpus(
            Path(folder), synthetic, sample_rate=params.data.sample_rate, seed=params.seed, n_jobs=1
        )
        manifest, _ = screen_audio(manifest_from_asvspoof2017(Path(folder)), 0.0, "skip")
        files, durations = manifest["path"].tolist(), manifest["duration_s"]
        extract_in_memory(files, durations, params.analysis_settings, compute=one_process)
        for _ in frames_as_extracted(
            files, durations, params.analysis_settings, frames=params.train_gmm.frames, compute=one_process
        ):
            pass


if __name__ == "__main__":
    compile_helpers()
