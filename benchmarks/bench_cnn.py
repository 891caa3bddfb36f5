"""CNN training speed on this machine: seconds per epoch, the user/system split of the CPU time
and minor page faults, with the package's settings, with glibc's own malloc settings, and with
TensorFlow's Eigen kernels instead of oneDNN (what TensorFlow picks by itself on CPUs without
AVX512_VNNI, AVX_VNNI or AMX, AMD Zen 2 and 3 among them).

Trains the network of params.yaml's ``train_cnn`` on random spectrograms of the default shape
and the default corpus's train/dev sizes (the arithmetic does not depend on the values), each
setting in a fresh process, since these settings are made when the process starts:

    python benchmarks/bench_cnn.py --epochs 4

The first epoch also traces the graph and is reported apart. Speed is read off the later ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from common import REPO, log

SETTINGS = {
    "package defaults": {},
    "glibc's malloc": {"DEEPFAKE_AUDIO_MALLOC": "glibc"},
    # Native mode leaves the environment's choice to TensorFlow; pinned mode would override it.
    "Eigen, not oneDNN": {"DEEPFAKE_AUDIO_CPU": "native", "TF_ENABLE_ONEDNN_OPTS": "0"},
}

TRAIN = """
import deepfake_audio.cpu
import json, sys
import numpy as np
from deepfake_audio.models.cnn import fit_cnn
from deepfake_audio.features.spectrogram import spectrogram_bins
from deepfake_audio.params import load_params
params = load_params(sys.argv[1])
n_train, n_dev, epochs = (int(value) for value in sys.argv[2:5])
shape = (spectrogram_bins(params.features), params.features.spectrogram.n_frames)
rng = np.random.default_rng(0)
spectrograms = rng.standard_normal((n_train + n_dev, *shape)).astype(np.float16)
labels = np.where(np.arange(n_train + n_dev) % 2, "spoof", "bonafide")
train, dev = np.arange(n_train), np.arange(n_train, n_train + n_dev)
_, summary = fit_cnn(
    spectrograms, train, labels[train], dev_rows=dev, dev_labels=labels[dev],
    params=params.train_cnn.model_copy(update={"epochs": epochs, "patience": epochs}), seed=0,
)
print(json.dumps({"malloc": deepfake_audio.cpu.MALLOC_STATE, **summary.timing}))
"""


def train(environment: dict, *, n_train: int, n_dev: int, epochs: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", TRAIN, str(REPO / "params.yaml"), str(n_train), str(n_dev), str(epochs)],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if done.returncode:
        raise SystemExit(f"error: training failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--epochs", type=int, default=4, help="epochs per setting, the first one apart (default: 4)"
    )
    parser.add_argument("--train", type=int, default=600, help="training spectrograms (default corpus: 600)")
    parser.add_argument(
        "--dev", type=int, default=360, help="dev spectrograms scored each epoch (default: 360)"
    )
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch also traces the graph")
    print("setting                 first epoch s  s/epoch  system CPU %  minor faults/epoch")
    for name, environment in SETTINGS.items():
        log(f"training {args.epochs} epochs: {name}")
        timing = train(environment, n_train=args.train, n_dev=args.dev, epochs=args.epochs)
        print(
            f"{name:<22}  {timing['first_epoch_s']:>13.1f}  {timing['seconds_per_epoch']:>7.2f}  "
            f"{timing['system_cpu_percent']:>12.1f}  {timing['minor_faults_per_epoch']:>18,d}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
