"""What the benchmarks share: the repository root, progress lines and a scaled synthetic corpus.

Imported as ``common`` by the scripts beside it (a script's own folder is on ``sys.path``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    """A progress line on stderr, so that stdout holds only the results."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def make_corpus(root: Path, params, n_files: int, *, n_jobs: int):
    """Generate the synthetic corpus scaled to ``n_files`` and screen it like the prepare stage."""
    from deepfake_audio.corpus.manifest import manifest_from_asvspoof2017, screen_audio
    from deepfake_audio.corpus.synthetic import generate_corpus

    synthetic = scaled_synthetic(params.synthetic, n_files)
    log(f"generating a {n_files}-file synthetic corpus in {root}")
    start = time.perf_counter()
    generate_corpus(root, synthetic, sample_rate=params.data.sample_rate, seed=params.seed, n_jobs=n_jobs)
    manifest, rejected = screen_audio(
        manifest_from_asvspoof2017(root), params.prepare.min_duration_s, "skip", n_jobs=n_jobs
    )
    log(f"generated in {time.perf_counter() - start:.1f} s; {len(rejected)} files screened out")
    return manifest


def scaled_synthetic(synthetic, n_files: int):
    """``synthetic`` with its genuine/spoof counts scaled to sum to ``n_files``, every split kept valid."""
    from deepfake_audio.params import SyntheticParams
    from deepfake_audio.vocabulary import SPLITS

    cells = [(split, label) for split in SPLITS for label in ("genuine", "spoof")]
    weights = [getattr(synthetic.split(split), label) for split, label in cells]
    counts = apportion(n_files, weights)
    data = synthetic.model_dump()
    for (split, label), count in zip(cells, counts, strict=True):
        data[split][label] = count
    for split in SPLITS:
        data[split]["speakers"] = min(data[split]["speakers"], data[split]["genuine"], data[split]["spoof"])
    return SyntheticParams.model_validate(data)


def apportion(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders), at least 1 each."""
    spare = total - len(weights)
    shares = [spare * w / sum(weights) for w in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: spare - sum(counts)]:
        counts[i] += 1
    return [count + 1 for count in counts]
