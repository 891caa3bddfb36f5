"""The Dask backend: same features as the local one, failures named, dead workers survived."""

import os
import signal
import sys
import time

import cloudpickle
import numpy as np
import pytest
from distributed import Client, LocalCluster
from helpers import write_small_corpus

from deepfake_audio import compute
from deepfake_audio.audio import AudioError
from deepfake_audio.corpus.manifest import manifest_from_asvspoof2017
from deepfake_audio.errors import InputError
from deepfake_audio.features.extract import extract_features
from deepfake_audio.params import AnalysisSettings, ComputeParams, FeaturesParams, ParamsError, parse_params

# The workers unpickle this module's functions by value: they cannot import the tests.
cloudpickle.register_pickle_by_value(sys.modules[__name__])
SETTINGS = AnalysisSettings(16000, FeaturesParams())


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


@pytest.fixture(scope="module")
def corpus_manifest(tmp_path_factory):
    # 72 files: three chunks of 32, so the work really is split into tasks.
    root = write_small_corpus(tmp_path_factory.mktemp("corpus") / "corpus", per_split=12)
    return manifest_from_asvspoof2017(root)


def dask(cluster) -> ComputeParams:
    return ComputeParams(backend="dask", scheduler=cluster.scheduler_address, n_jobs=2)


def test_dask_features_are_identical_to_local_ones(tmp_path, cluster, corpus_manifest):
    extract_features(corpus_manifest, tmp_path / "local", SETTINGS, compute=ComputeParams(n_jobs=1))
    extract_features(corpus_manifest, tmp_path / "dask", SETTINGS, compute=dask(cluster))
    for name in ("utterances.csv", "spectrogram.npy"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    assert len(np.load(tmp_path / "dask" / "spectrogram.npy")) == 72


def test_a_bad_file_on_a_worker_is_named_and_leaves_no_output(tmp_path, cluster, corpus_manifest):
    manifest = corpus_manifest.copy()
    bad = tmp_path / "not_audio.wav"
    bad.write_text("not audio")
    manifest.loc[40, "path"] = str(bad)
    with pytest.raises(AudioError, match=rf"^{bad}: cannot read audio: "):
        extract_features(manifest, tmp_path / "features", SETTINGS, compute=dask(cluster))
    assert not (tmp_path / "features").exists()


def slow_square(value):
    time.sleep(0.25)
    return value * value


def test_a_worker_killed_mid_run_costs_no_result(cluster):
    with Client(cluster) as client:
        results = []
        for result in compute.dask_map_ordered(client, slow_square, range(24), name="square"):
            results.append(result)
            if len(results) == 2:
                victim = next(iter(client.run(os.getpid).values()))
                os.kill(victim, signal.SIGKILL)
        assert results == [value * value for value in range(24)]
        client.wait_for_workers(2, timeout=60)  # the nanny restarts it for the next test


def test_local_and_dask_give_the_same_order(cluster):
    items = list(range(10))
    local = list(compute.map_ordered(slow_square, items, ComputeParams(n_jobs=2)))
    assert local == list(compute.map_ordered(slow_square, items, dask(cluster))) == [v * v for v in items]


def test_an_unreachable_scheduler_is_named(monkeypatch):
    monkeypatch.setattr(compute, "CONNECT_TIMEOUT_S", 1)
    params = ComputeParams(backend="dask", scheduler="tcp://127.0.0.1:9")
    with pytest.raises(
        InputError, match=r"^compute.scheduler: cannot reach the Dask scheduler tcp://127.0.0.1:9: "
    ):
        list(compute.map_ordered(slow_square, [1], params))


def test_a_scheduler_needs_the_dask_backend():
    import yaml
    from helpers import PROJECT

    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    raw["compute"]["scheduler"] = "tcp://127.0.0.1:8786"
    with pytest.raises(ParamsError, match=r"^p: compute: scheduler is used with backend dask only$"):
        parse_params(raw, "p")


def test_predict_on_the_cluster_matches_predict_here(tmp_path, capsys, cluster, models_dir):
    import soundfile as sf
    from helpers import speech_like

    from deepfake_audio.cli import main

    for index in range(20):
        sf.write(tmp_path / f"f{index:02d}.wav", speech_like(seed=index), 16000, subtype="PCM_16")
    (tmp_path / "broken.wav").write_bytes(b"")
    here = main(["predict", str(tmp_path), "--models-dir", str(models_dir), "--format", "csv"])
    local_out, local_err = capsys.readouterr()
    there = main(
        [
            "predict",
            str(tmp_path),
            "--models-dir",
            str(models_dir),
            "--format",
            "csv",
            "--scheduler",
            cluster.scheduler_address,
        ]
    )
    cluster_out, cluster_err = capsys.readouterr()
    assert here == there == 1
    assert cluster_out == local_out and len(cluster_out.splitlines()) == 1 + 20
    assert [line for line in cluster_err.splitlines() if line.startswith("error:")] == [
        f"error: {tmp_path / 'broken.wav'}: file is empty (0 bytes)"
    ]
    assert "dask: 2 predict tasks done, 0 failed" in cluster_err
