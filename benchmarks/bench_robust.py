"""How the trained models hold up on recordings unlike their training split: the robustness benchmark.

Scores the models of the last `dvc repro` (``models/``) on the stress variants of the
embedded corpus (``deepfake_audio/stress.py``): the eval split drawn from another
corpus seed, as is and with short speech, a narrowband recorder, better loudspeakers,
noisier rooms, louder and quieter levels. Prints each model's EER with its 95 % bootstrap
interval per variant, next to its EER on the pipeline's own eval split (metrics/<model>.json)
and the ratio of the two; ``--json`` writes the same figures.

    python benchmarks/bench_robust.py --json robust.json

Features are extracted as the models' cards say (as ``predict`` does), in parallel over
``compute.n_jobs``; each model's threshold is its card's (chosen on dev), never the variant's.
"""

from __future__ import annotations

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import argparse
import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import REPO, log

from deepfake_audio import paths
from deepfake_audio.detector import Detector
from deepfake_audio.errors import InputError
from deepfake_audio.features.extract import extract_in_memory
from deepfake_audio.features.frames import extract_frames
from deepfake_audio.io import read_json, write_csv
from deepfake_audio.metrics import countermeasure_metrics
from deepfake_audio.models.trained import decision_threshold, model_scores
from deepfake_audio.params import load_params
from deepfake_audio.stress import STRESS_VARIANTS, write_stress_variant
from deepfake_audio.tables import read_table
from deepfake_audio.vocabulary import FUSION, MODEL_NAMES

# Not the pipeline's seed (params.yaml: 2017), so no speaker or device is the training split's.
DEFAULT_CORPUS_SEED = 7


def variant_scores(detector: Detector, manifest: pd.DataFrame, *, compute) -> pd.DataFrame:
    """Every model's score of every file of ``manifest``, extracted as the models' cards say
    (utterance features and spectrograms for the SVC and the CNN, frames for the GMM)."""
    files, durations = manifest["path"].tolist(), manifest["duration_s"]
    table, spectrograms, frames = pd.DataFrame(index=range(len(manifest))), None, None
    if {"svc", "cnn"} & set(detector.models):
        features, spectrograms = extract_in_memory(files, durations, detector.settings, compute=compute)
        table = pd.DataFrame(features, columns=detector.columns)
        if detector.stats is not None:
            spectrograms = detector.stats.apply(spectrograms)
    if detector.frames is not None:
        frames = extract_frames(files, durations, detector.settings, frames=detector.frames, compute=compute)
    return model_scores(detector.models, table, spectrograms, frames=frames)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=list(STRESS_VARIANTS),
        default=list(STRESS_VARIANTS),
        help="the stress variants to score (default: all)",
    )
    parser.add_argument(
        "--corpus-seed",
        type=int,
        default=DEFAULT_CORPUS_SEED,
        help=f"seed of the variants' corpus; not params.yaml's seed (default: {DEFAULT_CORPUS_SEED})",
    )
    parser.add_argument("--models-dir", type=Path, default=REPO / paths.MODELS)
    parser.add_argument(
        "--model",
        choices=MODEL_NAMES,
        default=FUSION,
        help="the model scored, with the models it needs (default: fusion, which needs them all); one "
        "model alone where the models were trained on different features",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--keep-variants",
        type=Path,
        metavar="DIR",
        help="keep the generated variants under DIR and reuse them on later runs (they depend only on "
        "the corpus seed, params.yaml's synthetic section and sample rate, which name their folder); "
        "by default they are generated in a temporary folder and removed",
    )
    args = parser.parse_args(argv)

    params = load_params()
    if args.corpus_seed == params.seed:
        raise SystemExit(f"error: --corpus-seed must differ from params.yaml's seed ({params.seed})")
    try:
        detector = Detector.load(args.models_dir, args.model)  # with the single models it fuses
    except InputError as err:
        raise SystemExit(f"error: {err}; run `make repro` first") from None
    names = list(detector.models)
    thresholds = {name: decision_threshold(args.models_dir, name) for name in names}
    default_eval = {name: read_json(REPO / paths.metrics_file(name))["eval"] for name in names}
    figures: dict = {
        "corpus_seed": args.corpus_seed,
        "default_eval": {name: _eer(metrics) for name, metrics in default_eval.items()},
    }
    with tempfile.TemporaryDirectory(prefix="stress-") as work:
        folder = Path(work) if args.keep_variants is None else _kept_folder(args.keep_variants, params, args)
        for variant in args.variants:
            started = time.perf_counter()
            manifest = variant_manifest(folder / variant, variant, params, seed=args.corpus_seed)
            scores = variant_scores(detector, manifest, compute=params.compute)
            figures[variant] = {
                name: _eer(
                    countermeasure_metrics(
                        manifest["label"], scores[name], thresholds[name], params=params.evaluate
                    )
                )
                for name in names
            }
            log(f"{variant}: {len(manifest)} files in {time.perf_counter() - started:.0f} s")
    print_table(figures, args.variants, names)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def variant_manifest(folder: Path, variant: str, params, *, seed: int) -> pd.DataFrame:
    """The manifest of ``variant`` in ``folder``: read back when a complete one is there, else written."""
    manifest_file = folder / "manifest.csv"
    if manifest_file.is_file():  # written last, so its variant is complete
        return read_table(manifest_file)
    if folder.exists():
        shutil.rmtree(folder)  # an interrupted run's
    manifest = write_stress_variant(
        folder / "corpus",
        variant,
        params.synthetic,
        sample_rate=params.data.sample_rate,
        seed=seed,
        n_jobs=params.compute.n_jobs,
    )
    write_csv(manifest_file, manifest)
    return manifest


def _kept_folder(root: Path, params, args) -> Path:
    """``root``/seed<seed>-<digest of what the variants depend on>."""
    given = json.dumps(
        [params.synthetic.model_dump(mode="json"), params.data.sample_rate], sort_keys=True
    ).encode()
    return root.resolve() / f"seed{args.corpus_seed}-{hashlib.sha256(given).hexdigest()[:12]}"


def _eer(metrics: dict) -> dict:
    return {"eer": metrics["eer"], "eer_ci95": metrics["eer_ci95"], "accuracy": metrics["accuracy"]}


def print_table(figures: dict, variants: list[str], names: list[str]) -> None:
    """One row per variant: each model's EER % (95 % interval) and its ratio to the default eval EER."""
    print(
        f"\nEER % (95 % CI) [x default eval]; variants of the eval split from corpus seed {figures['corpus_seed']}"
    )
    print(f"{'variant':15}" + "".join(f"{name:>28}" for name in names))
    default = figures["default_eval"]
    print(f"{'default eval':15}" + "".join(f"{_cell(default[name]):>28}" for name in names))
    for variant in variants:
        cells = [
            f"{_cell(figures[variant][name])} [x{_ratio(figures[variant][name], default[name])}]"
            for name in names
        ]
        print(f"{variant:15}" + "".join(f"{cell:>28}" for cell in cells))
    for variant in variants:
        print(f"  {variant}: {STRESS_VARIANTS[variant].description}")


def _cell(figure: dict) -> str:
    ci = figure["eer_ci95"]
    return f"{figure['eer']:.2f} ({ci['low']:.1f}-{ci['high']:.1f})"


def _ratio(figure: dict, default: dict) -> str:
    return f"{figure['eer'] / default['eer']:.1f}" if default["eer"] > 0 else "inf"


if __name__ == "__main__":
    raise SystemExit(main())
