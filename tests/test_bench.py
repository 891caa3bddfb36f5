"""`make bench`: the featurize benchmark runs end to end on a tiny corpus."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from deepfake_audio.params import load_params

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_featurize.py"
EXTRACTORS = ("pipeline", "plain-loop", "same-features")


def _bench_common():
    """benchmarks/common.py, which the scripts import from their own folder."""
    spec = importlib.util.spec_from_file_location("common", SCRIPT.parent / "common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_prints_a_row_per_extractor_with_speed_and_memory(tmp_path):
    results_file = tmp_path / "results.json"
    command = [sys.executable, str(SCRIPT), "--files", "12", "--warmup", "2", "--json", str(results_file)]
    proc = subprocess.run(command, cwd=SCRIPT.parents[1], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]

    rows = {
        line.split()[0]: line.split()
        for line in proc.stdout.splitlines()
        if line.split() and line.split()[0] in EXTRACTORS and line.split()[1] == "12"
    }
    assert set(rows) == set(EXTRACTORS), proc.stdout
    for name, (
        _,
        _n,
        _audio_min,
        _seconds,
        files_per_s,
        real_time,
        base_mib,
        peak_mib,
        *speed_up,
    ) in rows.items():
        assert float(files_per_s) > 0 and float(real_time) > 0 and float(peak_mib) > 0, name
        assert float(peak_mib) >= float(base_mib) > 0, name
        assert bool(speed_up) == (
            name != "pipeline"
        )  # the plain loops show the pipeline's speed-up over them

    results = json.loads(results_file.read_text())["results"]
    pipeline = next(r for r in results if r["extractor"] == "pipeline")
    assert sum(pipeline["output_bytes"].values()) > 0  # the stored feature table and spectrograms


def test_scaled_corpus_has_the_requested_size_and_stays_valid():
    bench = _bench_common()
    synthetic = load_params(SCRIPT.parents[1] / "params.yaml").synthetic
    for n_files in (6, 12, 250, 1000):
        scaled = bench.scaled_synthetic(synthetic, n_files)
        splits = [scaled.split(name) for name in ("train", "dev", "eval")]
        assert sum(split.genuine + split.spoof for split in splits) == n_files
        assert all(split.speakers <= min(split.genuine, split.spoof) for split in splits)


def test_bench_vad_scores_the_detector_against_the_true_speech_boundaries():
    script = SCRIPT.parent / "bench_vad.py"
    command = [sys.executable, str(script), "--files", "12", "--top-db", "15", "30"]
    proc = subprocess.run(command, cwd=SCRIPT.parents[1], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0] == "12 eval utterances with the artefact; min_speech_ms 60"
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == {"15", "30"}
    # At 15 dB the planted cues are trimmed away; at 30 dB the faint lead tone counts as speech.
    assert rows["15"][-2:] == ["0%", "0%"] and int(rows["30"][-2].rstrip("%")) >= 50


def _bench_robust(monkeypatch):
    """benchmarks/bench_robust.py as a module, its ``common`` importable as the script's folder makes it."""
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("bench_robust", SCRIPT.parent / "bench_robust.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_robust_scores_every_model_on_each_variant_at_its_card_threshold(
    monkeypatch, tmp_path, capsys, models_dir
):
    from deepfake_audio.params import SyntheticSplit

    bench = _bench_robust(monkeypatch)
    params = load_params(SCRIPT.parents[1] / "params.yaml")
    tiny = SyntheticSplit(
        speakers=2, genuine=4, spoof=4, environments=1, playback_devices=2, recorders=1, replay_configs=2
    )
    synthetic = params.synthetic.model_copy(update={"train": tiny, "dev": tiny, "eval": tiny, "phrases": 2})
    monkeypatch.setattr(bench, "load_params", lambda: params.model_copy(update={"synthetic": synthetic}))
    out = tmp_path / "robust.json"
    assert (
        bench.main(["--models-dir", str(models_dir), "--variants", "unseen", "short", "--json", str(out)])
        == 0
    )
    figures = json.loads(out.read_text())
    assert figures["corpus_seed"] == 7
    committed = {
        name: json.loads((SCRIPT.parents[1] / f"metrics/{name}.json").read_text())
        for name in ("svc", "cnn", "gmm", "fusion")
    }
    assert {name: figure["eer"] for name, figure in figures["default_eval"].items()} == {
        name: metrics["eval"]["eer"] for name, metrics in committed.items()
    }
    for variant in ("unseen", "short"):
        assert set(figures[variant]) == {"svc", "cnn", "gmm", "fusion"}
        for figure in figures[variant].values():
            assert figure["eer_ci95"]["low"] <= figure["eer"] <= figure["eer_ci95"]["high"]
            assert 0.0 <= figure["accuracy"] <= 100.0
    table = capsys.readouterr().out.splitlines()
    assert table[1] == "EER % (95 % CI) [x default eval]; variants of the eval split from corpus seed 7"
    assert [line.split()[0] for line in table[3:7]] == ["default", "unseen", "short", "unseen:"]
    # One model alone (models trained on different features cannot be fused), on variants kept for
    # the next run, which reads them back and scores them alike.
    kept = tmp_path / "variants"
    args = ["--models-dir", str(models_dir), "--variants", "short", "--model", "gmm", "--json", str(out)]
    assert bench.main([*args, "--keep-variants", str(kept)]) == 0
    alone = json.loads(out.read_text())
    assert set(alone["short"]) == {"gmm"} and alone["short"]["gmm"] == figures["short"]["gmm"]
    (folder,) = kept.iterdir()
    assert folder.name.startswith("seed7-") and (folder / "short" / "manifest.csv").is_file()
    assert bench.main([*args, "--keep-variants", str(kept)]) == 0
    assert json.loads(out.read_text()) == alone


def test_bench_robust_refuses_the_pipeline_seed(monkeypatch, models_dir):
    bench = _bench_robust(monkeypatch)
    try:
        bench.main(["--models-dir", str(models_dir), "--corpus-seed", "2017"])
    except SystemExit as exit_:
        assert str(exit_) == "error: --corpus-seed must differ from params.yaml's seed (2017)"
    else:
        raise AssertionError("the pipeline's own seed was accepted")
