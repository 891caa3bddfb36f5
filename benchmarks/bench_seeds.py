"""How much a CNN's EER moves with its seed, and what an ensemble of seeds buys.

Trains ``--seeds`` networks with the params in params.yaml on the feature folder of the last
``dvc repro`` (one per seed, as the train_cnn stage does), then reports dev and eval EER for
ensembles of 1, 3, 5 and all of them: mean and std over every subset of that size (subsets share
members, so the std of the larger ensembles is only indicative), and the training time.

    python benchmarks/bench_seeds.py --seeds 5

``--trained models/cnn.keras`` takes the first seed's network from the train_cnn stage instead
of training it again (with ``train_cnn.seeds: [SEED]`` the stage trains exactly that network,
bit for bit), which saves one training.
"""

from __future__ import annotations

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import argparse
import itertools
import time
from pathlib import Path

import numpy as np

from deepfake_audio import paths
from deepfake_audio.errors import InputError
from deepfake_audio.features.store import read_features, split_rows
from deepfake_audio.metrics import equal_error_rate
from deepfake_audio.models.cnn import cnn_scores, fit_cnn
from deepfake_audio.models.files import load_model, read_card
from deepfake_audio.params import load_params


def eer_percent(labels: np.ndarray, scores: np.ndarray) -> float:
    bonafide = labels == "bonafide"
    return 100.0 * equal_error_rate(scores[bonafide], scores[~bonafide])[0]


def load_trained(path: Path, params, seed: int):
    """The stage's model, checked to be the one network this benchmark would train for ``seed``."""
    try:
        trained_with = read_card(path, "cnn").trained_with.get("train_cnn")
        expected = params.train_cnn.model_copy(update={"seeds": (seed,)}).model_dump(mode="json")
        if trained_with != expected:
            raise SystemExit(
                f"error: {path} was not trained with the current train_cnn params and seeds [{seed}]"
            )
        return load_model(path, "cnn")
    except InputError as err:
        raise SystemExit(f"error: {err}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="networks to train (default: 5)")
    parser.add_argument(
        "--first-seed", type=int, default=2017, help="seeds run from this one (default: 2017)"
    )
    parser.add_argument(
        "--trained",
        type=Path,
        metavar="CNN_KERAS",
        help="the train_cnn stage's model, trained with train_cnn.seeds: [FIRST_SEED] and the "
        "current params: used as the first seed's network instead of training it",
    )
    args = parser.parse_args(argv)

    params = load_params()
    table, spectrograms = read_features(paths.FEATURES)
    rows = {split: split_rows(table, split) for split in ("train", "dev", "eval")}
    labels = {split: table["label"].to_numpy()[part] for split, part in rows.items()}
    logits, seconds = [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        if args.trained and seed == args.first_seed:
            model, how = load_trained(args.trained, params, seed), f"from {args.trained}"
        else:
            started = time.perf_counter()
            model, summary = fit_cnn(
                spectrograms,
                rows["train"],
                labels["train"],
                dev_rows=rows["dev"],
                dev_labels=labels["dev"],
                params=params.train_cnn,
                seed=seed,
            )
            seconds.append(time.perf_counter() - started)
            how = f"best epoch {summary.best_epoch}/{summary.epochs_run}, {seconds[-1]:.0f} s"
        logits.append({split: cnn_scores(model, spectrograms, rows[split]) for split in ("dev", "eval")})
        print(
            f"seed {seed}: dev EER {eer_percent(labels['dev'], logits[-1]['dev']):.2f} %, "
            f"eval EER {eer_percent(labels['eval'], logits[-1]['eval']):.2f} % ({how})",
            flush=True,
        )

    print(
        f"\n{args.seeds} seeds from {args.first_seed}, {params.train_cnn.arch}, mean training time "
        f"{np.mean(seconds):.0f} s per seed"
    )
    print("seeds  subsets  dev EER % mean  std  eval EER % mean  std  training s")
    for size in sorted({size for size in (1, 3, 5) if size < args.seeds} | {args.seeds}):
        subsets = list(itertools.combinations(range(args.seeds), size))
        eers = {
            split: np.array(
                [
                    eer_percent(labels[split], np.mean([logits[i][split] for i in subset], axis=0))
                    for subset in subsets
                ]
            )
            for split in ("dev", "eval")
        }
        spread = {
            split: values.std(ddof=1) if len(values) > 1 else float("nan") for split, values in eers.items()
        }
        print(
            f"{size:5d}  {len(subsets):7d}  {eers['dev'].mean():14.2f}  {spread['dev']:4.2f}  "
            f"{eers['eval'].mean():15.2f}  {spread['eval']:4.2f}  {size * np.mean(seconds):10.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
