"""Benchmark the featurize stage against plain per-file librosa loops (``make bench``).

For each corpus size N the embedded synthetic corpus is generated (the ``synthetic``
section of params.yaml scaled to N files; smaller sizes take the first N rows of the
largest corpus), screened as the prepare stage does, and featurized by three extractors
on the same files, each in a fresh subprocess:

  pipeline       deepfake_audio.features.extract.extract_features, the real stage code,
                 with n_jobs = compute.n_jobs
  plain-loop     the issue's baseline: per file librosa.load, feature.mfcc and
                 feature.melspectrogram with librosa's defaults; per-file means kept
  same-features  a naive single-process loop over what the pipeline computes (as
                 switched on under ``features`` in params.yaml), every feature recomputed
                 from the signal by its own librosa call: MFCC, LFCC and CQCC with deltas,
                 spectral descriptors, band energies and the CNN's spectrogram; per-file
                 mean and std kept

Each subprocess first runs its extractor on 8 files (``--warmup``: imports, numba JIT,
joblib worker start-up), then times the full run while a thread samples the resident
memory of its whole process tree (joblib/loky workers included) every 20 ms.

Targets (issue 4), documented here and not asserted: the pipeline at least 5x faster than
plain-loop on 2 cores, and peak memory that does not grow with N beyond the feature
table and spectrogram array themselves.

    python benchmarks/bench_featurize.py --files 250 1000 [--keep] [--json results.json]
"""

from __future__ import annotations

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from itertools import pairwise
from pathlib import Path

from common import REPO, log, make_corpus

EXTRACTORS = {
    "pipeline": "extract_features() from the featurize stage, n_jobs={n_jobs}: everything the stage "
    "writes (feature table + fixed-size spectrograms)",
    "plain-loop": "per file, one process: librosa.load, feature.mfcc, feature.melspectrogram "
    "(librosa defaults); per-file means kept",
    "same-features": "per file, one process, what the pipeline computes (features in params.yaml) with "
    "one librosa call per feature, each from the signal: MFCC, LFCC, CQCC (librosa.cqt) "
    "+ deltas, centroid, bandwidth, rolloff, flatness, contrast, ZCR, RMS, band energies, "
    "the spectrogram; per-file mean and std kept",
}
WARMUP_FILES = 8
SAMPLE_EVERY_S = 0.02
MIB = 2**20


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------- parent


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return run_worker(Path(args.worker))
    try:
        run_benchmark(args)
    except BenchError as err:
        print(f"bench: error: {err}", file=sys.stderr)
        return 1
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--files",
        type=int,
        nargs="+",
        default=[250, 1000],
        metavar="N",
        help="corpus sizes to benchmark (default: 250 1000)",
    )
    parser.add_argument(
        "--params", type=Path, default=REPO / "params.yaml", help="params file (default: params.yaml)"
    )
    parser.add_argument("--n-jobs", type=int, default=None, help="pipeline workers (default: compute.n_jobs)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=WARMUP_FILES,
        metavar="FILES",
        help=f"untimed files run first in each extractor's process (default: {WARMUP_FILES})",
    )
    parser.add_argument(
        "--extractors",
        nargs="+",
        choices=list(EXTRACTORS),
        default=list(EXTRACTORS),
        help="which extractors to run (default: all three)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary corpus and outputs")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one extractor from a spec file
    args = parser.parse_args(argv)
    if min(args.files) < 6:
        parser.error("--files: every size must be at least 6 (one genuine and one spoofed file per split)")
    if args.warmup < 1:
        parser.error("--warmup must be at least 1")
    if args.n_jobs is not None and args.n_jobs < 1:
        parser.error("--n-jobs must be at least 1")
    return args


def run_benchmark(args) -> None:
    from deepfake_audio.errors import InputError

    try:
        _run_benchmark(args)
    except InputError as err:  # bad params, a corpus that cannot be generated or screened
        raise BenchError(str(err)) from None


def _run_benchmark(args) -> None:
    from deepfake_audio.params import load_params

    params = load_params(args.params)
    n_jobs = args.n_jobs or params.compute.n_jobs
    sizes = sorted(set(args.files))
    work = Path(tempfile.mkdtemp(prefix="bench-featurize-"))
    try:
        manifest = make_corpus(work / "corpus", params, max(sizes), n_jobs=n_jobs)
        results = []
        for n in sizes:
            subset = manifest.head(n)
            manifest_csv = work / f"manifest_{n}.csv"
            subset.to_csv(manifest_csv, index=False)
            for name in args.extractors:
                log(f"{name}: {n} files")
                result = run_in_subprocess(
                    name,
                    manifest_csv,
                    work / f"out_{name}_{n}",
                    params_path=args.params,
                    n_jobs=n_jobs,
                    warmup=args.warmup,
                )
                result.update(extractor=name, n_files=n, audio_s=float(subset["duration_s"].sum()))
                results.append(result)
        print_table(results, params, n_jobs=n_jobs, warmup=args.warmup)
        if args.json:
            summary = {"n_jobs": n_jobs, "cpus": cpu_counts(), "results": results}
            args.json.write_text(json.dumps(summary, indent=2))
    finally:
        if args.keep:
            print(f"\nkept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_in_subprocess(
    name: str, manifest_csv: Path, out_dir: Path, *, params_path: Path, n_jobs: int, warmup: int
) -> dict:
    spec = out_dir.with_suffix(".spec.json")
    result_path = out_dir.with_suffix(".result.json")
    spec.write_text(
        json.dumps(
            {
                "extractor": name,
                "manifest": str(manifest_csv),
                "out_dir": str(out_dir),
                "params": str(params_path),
                "n_jobs": n_jobs,
                "warmup": warmup,
                "result": str(result_path),
            }
        )
    )
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", str(spec)], cwd=REPO, capture_output=True, text=True
    )
    if proc.returncode != 0 or not result_path.exists():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
        raise BenchError(f"the {name} extractor failed (exit status {proc.returncode}):\n{tail}")
    return json.loads(result_path.read_text())


def print_table(results: list[dict], params, *, n_jobs: int, warmup: int) -> None:
    """The timings and memory of every extractor and corpus size, with what each extractor does."""
    import librosa

    logical, usable = cpu_counts()
    print(
        f"\nFeature extraction benchmark: {logical} CPUs ({usable} usable), pipeline n_jobs={n_jobs}, "
        f"librosa {librosa.__version__}, sample rate {params.data.sample_rate} Hz"
    )
    for name, what in EXTRACTORS.items():
        if any(r["extractor"] == name for r in results):
            print(f"  {name:<14} {what.format(n_jobs=n_jobs)}")
    print(
        f"Timed after a {warmup}-file warm-up in the same process (and in each joblib worker). "
        "Memory: resident set of the extractor's whole process tree, joblib workers included; "
        f"peak sampled every {SAMPLE_EVERY_S * 1000:.0f} ms, base just before the timed run.\n"
    )
    header = (
        f"{'extractor':<14} {'N':>6} {'audio min':>9} {'seconds':>8} {'files/s':>8} {'x real time':>11} "
        f"{'base MiB':>9} {'peak MiB':>9} {'pipeline speed-up':>17}"
    )
    print(header)
    print("-" * len(header))
    for n in sorted({r["n_files"] for r in results}):
        rows = {r["extractor"]: r for r in results if r["n_files"] == n}
        for name, r in rows.items():
            speed_up = (
                ""
                if name == "pipeline" or "pipeline" not in rows
                else f"{r['seconds'] / rows['pipeline']['seconds']:.1f}x"
            )
            print(
                f"{name:<14} {n:>6} {r['audio_s'] / 60:>9.1f} {r['seconds']:>8.2f} "
                f"{n / r['seconds']:>8.1f} {r['audio_s'] / r['seconds']:>11.1f} "
                f"{r['base_mib']:>9.0f} {r['peak_mib']:>9.0f} {speed_up:>17}"
            )
    for r in results:
        if r["warm_workers_reused"] < r["warm_workers"]:
            print(
                f"note: N={r['n_files']}: only {r['warm_workers_reused']} of {r['warm_workers']} warmed "
                "joblib workers served the timed run; the others' start-up is included in its time"
            )
    print("\nPipeline output (what the stage stores; peak memory should grow with N by no more than this):")
    for r in results:
        if r["extractor"] == "pipeline":
            files = ", ".join(
                f"{name} {size / MIB:.2f} MiB" for name, size in sorted(r["output_bytes"].items())
            )
            print(f"  N={r['n_files']:<6} {sum(r['output_bytes'].values()) / MIB:.2f} MiB ({files})")


def cpu_counts() -> tuple[int, int]:
    return os.cpu_count() or 1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0


# --------------------------------------------------------------------------- worker


def run_worker(spec_path: Path) -> int:
    """Run one extractor: warm up, then time the whole manifest while sampling memory."""
    from deepfake_audio.corpus.manifest import read_manifest
    from deepfake_audio.params import load_params

    spec = json.loads(spec_path.read_text())
    params = load_params(spec["params"])
    manifest = read_manifest(Path(spec["manifest"]))
    out_dir = Path(spec["out_dir"])
    extract = EXTRACTORS_RUN[spec["extractor"]]

    warm_pids = warm_up(
        spec["extractor"],
        manifest.head(spec["warmup"]),
        out_dir / "warmup",
        params=params,
        n_jobs=spec["n_jobs"],
    )
    gc.collect()
    sampler = PeakMemory()
    base = sampler.sample()
    with sampler:
        start = time.perf_counter()
        extract(manifest, out_dir / "timed", params, n_jobs=spec["n_jobs"])
        seconds = time.perf_counter() - start
    reused = sorted(warm_pids & {child.pid for child in sampler.children()})
    output = out_dir / "timed"
    sizes = {path.name: path.stat().st_size for path in output.rglob("*") if path.is_file()}
    Path(spec["result"]).write_text(
        json.dumps(
            {
                "seconds": seconds,
                "base_mib": base / MIB,
                "peak_mib": max(sampler.peak, base) / MIB,
                "output_bytes": sizes,
                "warm_workers": len(warm_pids),
                "warm_workers_reused": len(reused),
            }
        )
    )
    return 0


def warm_up(name: str, manifest, out_dir: Path, *, params, n_jobs: int) -> set[int]:
    """Run the extractor on a few files, in this process and, for the pipeline, in every joblib worker.

    A single small call would warm one worker only: the timed run would then pay the other
    workers' imports and JIT compilation. Returns the warmed workers' process ids.
    """
    EXTRACTORS_RUN[name](manifest, out_dir / "main", params, n_jobs=n_jobs)
    if name != "pipeline" or n_jobs == 1:
        return set()
    from joblib import Parallel, delayed

    tasks = (delayed(_warm_worker)(manifest, out_dir / f"worker{i}", params) for i in range(2 * n_jobs))
    return set(Parallel(n_jobs=n_jobs)(tasks))


def _warm_worker(manifest, out_dir: Path, params) -> int:
    run_pipeline(manifest, out_dir, params, n_jobs=1)
    return os.getpid()


class PeakMemory:
    """Peak resident set of this process and all its descendants, sampled in a thread."""

    def __init__(self, every_s: float = SAMPLE_EVERY_S):
        import psutil

        self._process, self._every_s = psutil.Process(), every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = 0

    def children(self) -> list:
        return self._process.children(recursive=True)

    def sample(self) -> int:
        import psutil

        total = 0
        for process in [self._process, *self.children()]:
            try:
                total += process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(self._every_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.sample())


def run_pipeline(manifest, out_dir: Path, params, *, n_jobs: int) -> None:
    from deepfake_audio.features.extract import extract_features
    from deepfake_audio.params import ComputeParams

    extract_features(manifest, out_dir, params.analysis_settings, compute=ComputeParams(n_jobs=n_jobs))


def run_plain_loop(manifest, out_dir: Path, params, *, n_jobs: int) -> list:
    """The issue's baseline, verbatim: load, MFCC and mel spectrogram with librosa's defaults."""
    import librosa

    summaries = []
    for path in manifest["path"]:
        y, sr = librosa.load(path, sr=params.data.sample_rate)
        mfcc = librosa.feature.mfcc(y=y, sr=sr)
        mel = librosa.feature.melspectrogram(y=y, sr=sr)
        summaries.append((mfcc.mean(axis=1), mel.mean(axis=1)))
    return summaries


def run_same_features(manifest, out_dir: Path, params, *, n_jobs: int) -> list:
    import librosa

    return [
        same_features(*librosa.load(path, sr=params.data.sample_rate), params.features)
        for path in manifest["path"]
    ]


def same_features(y, sr, fp):
    """About the pipeline's features, naively: every librosa call starts again from the signal.

    The same families and sizes, computed the obvious way (so details such as the log base
    or band edges may differ); it measures the cost of the naive approach, not the values.

    Follows ``features`` in params.yaml: the switched-on handcrafted families (MFCC, LFCC,
    CQCC with deltas, spectral descriptors, band energies) and the CNN's spectrogram.
    """
    import librosa
    import numpy as np
    from scipy.fft import dct

    from deepfake_audio.features.cepstra import cqt_octaves
    from deepfake_audio.features.filterbanks import linear_basis

    hc, frames = fp.handcrafted, dict(n_fft=fp.n_fft, hop_length=fp.hop_length, win_length=fp.win_length)
    cepstra, tracks = [], []
    if hc.mfcc:
        cepstra.append(librosa.feature.mfcc(y=y, sr=sr, n_mfcc=hc.n_cepstra, n_mels=hc.n_mels, **frames))
    if hc.lfcc:
        power = np.abs(librosa.stft(y, **frames)) ** 2
        linear = linear_basis(sr, fp.n_fft, hc.n_linear) @ power  # the filterbank is not what is timed
        cepstra.append(dct(np.log(linear + 1e-10), type=2, axis=0, norm="ortho")[: hc.n_cepstra])
    if hc.cqcc:
        n_bins = hc.cqt_bins_per_octave * cqt_octaves(sr, hc.cqt_fmin)
        cqt = librosa.cqt(
            y,
            sr=sr,
            hop_length=fp.hop_length,
            fmin=hc.cqt_fmin,
            n_bins=n_bins,
            bins_per_octave=hc.cqt_bins_per_octave,
        )
        cepstra.append(dct(np.log(np.abs(cqt) ** 2 + 1e-10), type=2, axis=0, norm="ortho")[: hc.n_cepstra])
    for cepstrum in cepstra:
        tracks.append(cepstrum)
        if hc.deltas:
            tracks += [librosa.feature.delta(cepstrum, order=1), librosa.feature.delta(cepstrum, order=2)]
    if hc.spectral:
        tracks += [
            librosa.feature.spectral_centroid(y=y, sr=sr, **frames),
            librosa.feature.spectral_bandwidth(y=y, sr=sr, **frames),
            librosa.feature.spectral_rolloff(y=y, sr=sr, **frames),
            librosa.feature.spectral_flatness(y=y, **frames),
            librosa.feature.spectral_contrast(y=y, sr=sr, **frames),
            librosa.feature.zero_crossing_rate(y, frame_length=fp.win_length, hop_length=fp.hop_length),
            librosa.feature.rms(y=y, frame_length=fp.n_fft, hop_length=fp.hop_length),
        ]
    if hc.band_energy:
        power = np.abs(librosa.stft(y, **frames)) ** 2
        freqs = librosa.fft_frequencies(sr=sr, n_fft=fp.n_fft)
        edges = hc.band_edges_hz
        bands = np.array(
            [power[(freqs >= low) & (freqs <= high)].sum(axis=0) for low, high in pairwise(edges)]
        )
        tracks.append(np.log((bands + 1e-10) / (power.sum(axis=0) + 1e-10)))
    if fp.spectrogram.kind == "mel":
        spectrogram = librosa.power_to_db(
            librosa.feature.melspectrogram(y=y, sr=sr, n_mels=fp.spectrogram.n_mels, **frames)
        )
    else:
        spectrogram = librosa.power_to_db(np.abs(librosa.stft(y, **frames)) ** 2)
    tracks.append(spectrogram)
    return np.concatenate([np.concatenate([t.mean(axis=1), t.std(axis=1)]) for t in tracks])


EXTRACTORS_RUN = {"pipeline": run_pipeline, "plain-loop": run_plain_loop, "same-features": run_same_features}

if __name__ == "__main__":
    sys.exit(main())
