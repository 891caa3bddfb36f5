"""The tests' fixtures; the helpers they share otherwise are in helpers.py."""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import numpy as np
import pytest
from helpers import PROJECT, dev_fit, write_small_corpus


@pytest.fixture
def small_corpus(tmp_path):
    return write_small_corpus(tmp_path / "corpus")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    """Small untrained-quality models with the project's preprocessing, saved as the stages save them."""
    import keras
    import pandas as pd

    from deepfake_audio.features.analysis import feature_names
    from deepfake_audio.features.frames import frame_names
    from deepfake_audio.models import cnn, fusion, gmm, svc
    from deepfake_audio.models.card import make_card
    from deepfake_audio.params import TrainCnnParams, load_params

    params = load_params(PROJECT / "params.yaml")
    folder = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    names = feature_names(params.features)
    features = pd.DataFrame(rng.standard_normal((40, len(names))), columns=names)
    svc_model = svc.build_svc(params.train_svc.setting(), seed=0).fit(features, np.tile([0, 1], 20))
    svc.save_svc(
        svc_model, folder / svc.MODEL_FILE, make_card("svc", params, dev_fit(), sections=("train_svc",))
    )
    keras.utils.set_random_seed(0)
    cnn_model = cnn.build_cnn(64, TrainCnnParams(arch="simple", filters=(4, 8)))
    cnn.save_cnn(
        cnn_model, folder / cnn.MODEL_FILE, make_card("cnn", params, dev_fit(), sections=("train_cnn",))
    )
    frames = params.train_gmm.frames
    dims = len(frame_names(params.analysis_settings, frames))
    gmm_model = gmm.fit_gmm(
        [rng.standard_normal((30, dims)).astype(np.float32) + shift for shift in (0.0, 0.5)],
        ["bonafide", "spoof"],
        params.train_gmm.model_copy(update={"components": 2}),
        seed=0,
    )
    gmm.save_gmm(
        gmm_model,
        folder / gmm.MODEL_FILE,
        make_card("gmm", params, dev_fit(), sections=("train_gmm",), frames=frames),
    )
    scores = pd.DataFrame({name: rng.standard_normal(40) for name in ("svc", "cnn", "gmm")})
    fusion.save_fusion(
        fusion.fit_fusion(scores, np.tile(["spoof", "bonafide"], 20)),
        folder / fusion.MODEL_FILE,
        make_card("fusion", params, dev_fit(), sections=(), frames=frames),
    )
    return folder


def pytest_collection_modifyitems(items):
    """The end-to-end pipeline tests first: `make test` shares the test files among two
    processes (pytest-xdist, one file at a time), so the longest file starts at once instead of
    running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
