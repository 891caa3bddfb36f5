"""Feature extraction throughput, local processes vs Dask workers (``make bench-scale N=...``).

Generates an N-utterance synthetic corpus (the ``synthetic`` section of params.yaml
scaled, as ``bench_featurize.py`` does), then runs the featurize stage's
``extract_features`` on it with:

  local          joblib, compute.n_jobs processes (the default backend)
  dask-1, dask-2 a Dask LocalCluster on 127.0.0.1 with 1 and 2 single-threaded worker
                 processes, reached through its scheduler address like a remote cluster

Cluster start-up is not timed (a real cluster is up already); each configuration first
extracts 8 files to warm its workers up. Prints files/s and times real time for each, and
checks that every backend wrote the same bytes.

    python benchmarks/bench_scale.py --files 500
"""

from __future__ import annotations

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from common import REPO, log, make_corpus

WARMUP_FILES = 8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500, metavar="N", help="corpus size (default: 500)")
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    args = parser.parse_args(argv)

    from distributed import LocalCluster

    from deepfake_audio.features.extract import extract_features
    from deepfake_audio.params import ComputeParams, load_params

    params = load_params(args.params)
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        manifest = make_corpus(work / "corpus", params, args.files, n_jobs=params.compute.n_jobs)
        audio_s = float(manifest["duration_s"].sum())
        configs = [("local", params.compute.n_jobs, None), ("dask", 1, 1), ("dask", 2, 2)]
        rows, digests = [], set()
        for backend, n_jobs, workers in configs:
            name = backend if workers is None else f"dask-{workers}"
            cluster = (
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
                if workers
                else nullcontext()
            )
            with cluster as running:
                compute = ComputeParams(
                    n_jobs=n_jobs, backend=backend, scheduler=running.scheduler_address if workers else None
                )
                extract_features(
                    manifest.head(WARMUP_FILES),
                    work / f"warm_{name}",
                    params.analysis_settings,
                    compute=compute,
                )
                log(f"{name}: {len(manifest)} files")
                start = time.perf_counter()
                extract_features(manifest, work / name, params.analysis_settings, compute=compute)
                seconds = time.perf_counter() - start
            digests.add(_digest(work / name))
            rows.append((name, n_jobs, seconds, len(manifest) / seconds, audio_s / seconds))
        print(
            f"\n{len(manifest)} files, {audio_s / 60:.1f} min of audio; compute.n_jobs {params.compute.n_jobs}\n"
        )
        print(f"{'backend':<8} {'workers':>7} {'seconds':>8} {'files/s':>8} {'x real time':>12}")
        for name, n_jobs, seconds, rate, realtime in rows:
            print(f"{name:<8} {n_jobs:>7} {seconds:>8.1f} {rate:>8.1f} {realtime:>12.0f}")
        print("\noutputs identical across backends:", "yes" if len(digests) == 1 else "NO")
        return 0 if len(digests) == 1 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


if __name__ == "__main__":
    sys.exit(main())
