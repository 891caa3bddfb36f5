"""What the tests share besides fixtures: the project's paths, test signals and small corpora.

Imported as ``helpers`` (pytest puts tests/ on ``sys.path``); the fixtures live in conftest.py.
"""

from pathlib import Path

import numpy as np
import soundfile as sf

from deepfake_audio.corpus import asvspoof2017
from deepfake_audio.corpus.asvspoof2017 import ProtocolEntry

SAMPLE_RATE = 16000
PROJECT = Path(__file__).resolve().parents[1]


def dev_fit(threshold: float = 0.0, slope: float = 1.0, offset: float = 0.0):
    """What training fixes on dev (``calibration.fit_on_dev``), given: by default threshold 0 and
    the score taken as the LLR."""
    from deepfake_audio.models.calibration import Calibration, DevFit

    return DevFit(threshold, Calibration(slope, offset))


def model_card(model: str = "svc", threshold: float = 0.0):
    """The card a model trained with the project's params would carry."""
    from deepfake_audio.models.card import make_card
    from deepfake_audio.params import load_params

    params = load_params(PROJECT / "params.yaml")
    frames = params.train_gmm.frames if model in ("gmm", "fusion") else None
    return make_card(model, params, dev_fit(threshold), sections=(), frames=frames)


def tone(freq_hz: float, seconds: float = 0.5, sample_rate: int = SAMPLE_RATE, amplitude: float = 0.3):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def write_small_corpus(root, per_split: int = 2, seconds: float = 0.5):
    """A corpus in ASVspoof 2017 V2 layout: ``per_split`` genuine and spoof files per split."""
    for split in ("train", "dev", "eval"):
        entries = []
        for index in range(2 * per_split):
            is_spoof = index % 2 == 1
            entry = ProtocolEntry(
                asvspoof2017.file_name(split, index),
                "spoof" if is_spoof else "genuine",
                f"M{split[0].upper()}{index // 2:02d}",
                "S01",
                *(("E01", "P01", "R01") if is_spoof else ("-", "-", "-")),
            )
            entries.append(entry)
            path = asvspoof2017.audio_dir(root, split) / entry.file
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, tone(300 + 100 * index, seconds), SAMPLE_RATE, subtype="PCM_16")
        asvspoof2017.write_protocol(asvspoof2017.protocol_path(root, split), entries)
    return root


def speech_like(seconds=1.0, seed=0):
    """A voiced tone in light noise: something predict scores (it has sound, and is not silent)."""
    rng = np.random.default_rng(seed)
    return (0.3 * tone(220, seconds) + 0.05 * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(
        np.float32
    )


def run_predict(capsys, *args):
    """``deepfake-audio predict ARGS`` in this process: exit status, stdout, the stderr ``error:`` lines."""
    from deepfake_audio.cli import main

    status = main(["predict", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, [line for line in err.splitlines() if line.startswith("error:")]
