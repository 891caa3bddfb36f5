"""DVC stage `featurize`: named utterance features and a fixed-size spectrogram for every utterance."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

from deepfake_audio import paths
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import run_stage
from deepfake_audio.features.extract import extract_features
from deepfake_audio.params import load_params


def main() -> None:
    params = load_params()
    extract_features(
        read_manifest(paths.MANIFEST), paths.FEATURES, params.analysis_settings, compute=params.compute
    )


if __name__ == "__main__":
    run_stage(main)
