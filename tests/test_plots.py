"""Plot data match what dvc.yaml declares; images are written; the HTML template works offline."""

import configparser
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from deepfake_audio.metrics import equal_error_rate
from deepfake_audio.plots import write_model_plots, write_summary_images

PROJECT = Path(__file__).resolve().parents[1]
PLOTS_DIR = "plots/evaluate/"
MODELS = ("svc", "cnn", "gmm", "fusion")
POINTS = 25
CONDITIONS = ["E01_P01_R01", "E02_P03_R02", "E05_P04_R03"]


def synthetic_scored(seed: int, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    split = np.repeat(["dev", "eval"], n)
    label = np.tile(["bonafide", "spoof"], n)
    score = rng.normal(np.where(label == "bonafide", 1.0, -1.0), 1.0).round(6)
    condition = np.where(label == "spoof", np.array(CONDITIONS)[np.arange(2 * n) % 3], "-")
    return pd.DataFrame(
        {
            "utt_id": [f"U{i:04d}" for i in range(2 * n)],
            "split": split,
            "label": label,
            "score": score,
            "condition": condition,
        }
    )


def split_metrics(scored: pd.DataFrame) -> dict:
    """The fields of the evaluate metrics that the plots use (EER in percent, dev threshold)."""

    def eer(part):
        return equal_error_rate(
            part.loc[part["label"] == "bonafide", "score"], part.loc[part["label"] == "spoof", "score"]
        )

    threshold = eer(scored[scored["split"] == "dev"])[1]
    metrics = {}
    for split, part in scored.groupby("split"):
        predicted_spoof = part["score"] <= threshold
        metrics[split] = {
            "eer": round(100 * eer(part)[0], 4),
            "eer_threshold": eer(part)[1],
            "decision_threshold": threshold,
            "accuracy": float(np.mean(predicted_spoof == (part["label"] == "spoof"))),
        }
    return metrics


def synthetic_metrics(scored: pd.DataFrame) -> dict:
    metrics = split_metrics(scored)
    metrics["by_condition"] = {
        "eval": {
            "condition": {
                name: {"eer": 10.0 + i, "n_bonafide": 40, "n_spoof": 40} for i, name in enumerate(CONDITIONS)
            },
            "attack": {
                name: {"eer": 20.0 + i, "n_bonafide": 40, "n_spoof": 20}
                for i, name in enumerate(("A01", "replay"))
            },
        }
    }
    return metrics


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "evaluate"
    scored = {model: synthetic_scored(seed) for seed, model in enumerate(MODELS)}
    metrics = {model: synthetic_metrics(frame) for model, frame in scored.items()}
    for model in MODELS:
        write_model_plots(scored[model], metrics[model], model, out_dir=out / model, points=POINTS)
    write_summary_images(scored, metrics, out / "compared")
    return out, scored, metrics


def declared_evaluate_plots():
    """(plot name, file, x field, y fields) for every dvc.yaml plot of files under plots/evaluate/."""
    found = []
    for entry in yaml.safe_load((PROJECT / "dvc.yaml").read_text())["plots"]:
        if isinstance(entry, str):  # a path of images, no fields
            continue
        for name, spec in entry.items():
            ys = spec.get("y", {})
            for file, fields in ys.items():
                if file.startswith(PLOTS_DIR):
                    found.append((name, file, spec.get("x"), [fields] if isinstance(fields, str) else fields))
    return found


def test_every_model_has_each_kind_of_plot_declared():
    files = {file for _, file, _, _ in declared_evaluate_plots()}
    for kind in ("roc", "det", "hist", "confusion", "conditions", "attacks"):
        for model in MODELS:
            assert f"{PLOTS_DIR}{model}/{kind}_{model}.csv" in files


@pytest.mark.parametrize("name,file,x,ys", declared_evaluate_plots())
def test_plot_data_has_the_declared_fields(written, name, file, x, ys):
    out, _, _ = written
    frame = pd.read_csv(out / file.removeprefix(PLOTS_DIR))
    assert len(frame) > 0
    for field in [x, *ys]:
        assert field in frame.columns, f"plot {name}: {file} has no column {field}"


def test_curves_are_thinned(written):
    out, _, _ = written
    for model in MODELS:
        for kind in ("roc", "det"):
            assert 2 <= len(pd.read_csv(out / model / f"{kind}_{model}.csv")) <= POINTS + 2
        hist = pd.read_csv(out / model / f"hist_{model}.csv")
        assert 30 <= len(hist) <= 50
        width = hist["score"].diff().median()
        for label in ("bonafide", "spoof"):
            assert hist[label].sum() * width == pytest.approx(1.0, abs=0.01)


def test_roc_and_det_end_points(written):
    out, _, _ = written
    roc = pd.read_csv(out / "svc" / "roc_svc.csv")
    assert (roc["fpr"].iloc[0], roc["tpr"].iloc[0]) == (0, 0)
    assert (roc["fpr"].iloc[-1], roc["tpr"].iloc[-1]) == (1, 1)
    det = pd.read_csv(out / "svc" / "det_svc.csv")
    assert det["far"].between(0, 100).all() and det["frr"].between(0, 100).all()
    assert det["far"].is_monotonic_decreasing and det["frr"].is_monotonic_increasing


def test_confusion_has_one_row_per_eval_utterance_at_the_dev_threshold(written):
    out, scored, metrics = written
    for model in MODELS:
        confusion = pd.read_csv(out / model / f"confusion_{model}.csv")
        part = scored[model][scored[model]["split"] == "eval"]
        assert len(confusion) == len(part)
        assert set(confusion["actual"]) | set(confusion["predicted"]) <= {"bonafide", "spoof"}
        expected = np.where(
            part["score"] <= metrics[model]["eval"]["decision_threshold"], "spoof", "bonafide"
        )
        assert list(confusion["predicted"]) == list(expected)
        accuracy = float(np.mean(confusion["actual"] == confusion["predicted"]))
        assert accuracy == pytest.approx(metrics[model]["eval"]["accuracy"], abs=1e-6)


def test_conditions_come_from_by_condition(written):
    out, _, _ = written
    table = pd.read_csv(out / "cnn" / "conditions_cnn.csv")
    assert list(table["condition"]) == CONDITIONS
    assert list(table["eer"]) == [10.0, 11.0, 12.0]


def test_conditions_file_has_its_header_without_conditions(tmp_path):
    scored = synthetic_scored(7)
    write_model_plots(scored, split_metrics(scored), "svc", out_dir=tmp_path, points=POINTS)
    assert list(pd.read_csv(tmp_path / "conditions_svc.csv").columns) == ["condition", "eer"]


def test_pngs_are_written_and_reproducible(written, tmp_path):
    out, scored, metrics = written
    images = [*(f"{model}/{model}.png" for model in MODELS), "compared/conditions.png", "compared/roc.png"]
    for image in images:
        assert (out / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    write_model_plots(scored["svc"], metrics["svc"], "svc", out_dir=tmp_path / "svc", points=POINTS)
    write_summary_images(scored, metrics, tmp_path / "compared")
    for image in ("svc/svc.png", "compared/conditions.png"):
        assert (tmp_path / image).read_bytes() == (out / image).read_bytes()


def test_dev_only_scores_use_dev(tmp_path):
    scored = synthetic_scored(3)
    scored = scored[scored["split"] == "dev"]
    write_model_plots(scored, split_metrics(scored), "cnn", out_dir=tmp_path, points=POINTS)
    assert len(pd.read_csv(tmp_path / "confusion_cnn.csv")) == len(scored)


def test_configured_html_template_works_offline():
    config = configparser.ConfigParser()
    config.read(PROJECT / ".dvc" / "config")
    template = PROJECT / ".dvc" / config["plots"]["html_template"]
    html = template.read_text(encoding="utf-8")
    assert "{plot_divs}" in html
    # No {scripts}: DVC would fill it with its CDN <script src> tags.
    assert "{scripts}" not in html
    assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", html, re.IGNORECASE)
    for library in ("vega", "vega-lite", "vega-embed"):
        assert f"<!-- {library} " in html
    assert html.count("<script>") == 3


def rendered_specs(out: Path) -> tuple[str, dict]:
    """`dvc plots show` of the committed plot data: the page and the Vega-Lite spec of each plot by id."""
    subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "-o", str(out)],
        cwd=PROJECT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    html = (out / "index.html").read_text(encoding="utf-8")
    specs = {
        plot_id: json.loads(spec)
        for plot_id, spec in re.findall(
            r'<div id = "([^"]+)">\s*<script type = "text/javascript">\s*var spec = (.*?);\n\s*vegaEmbed',
            html,
            re.S,
        )
    }
    return html, specs


def layers(spec: dict) -> list[dict]:
    found = [spec]
    for child in [*spec.get("layer", []), *([spec["spec"]] if "spec" in spec else [])]:
        found += layers(child)
    return found


def model_of(filename: str) -> str:
    """What the templates' calculate transform does: roc_cnn.csv -> cnn."""
    return re.sub(r"[.][^.]*$", "", re.sub(r"^.*[_/]", "", filename))


def test_dvc_plots_show_renders_the_project_templates_offline(tmp_path):
    html, specs = rendered_specs(tmp_path / "dvc_plots")
    assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", html, re.IGNORECASE)
    assert html.count("<script>") == 3  # vega, vega-lite, vega-embed inline
    for plot_id in ("roc", "det"):
        spec = specs[plot_id]
        text = json.dumps(spec)
        assert "<DVC_METRIC" not in text
        assert {model_of(row["filename"]) for row in spec["data"]["values"]} == set(MODELS)
        lines = [layer for layer in layers(spec) if layer.get("mark", {}).get("type") == "line"]
        assert lines, plot_id
        for line in lines:
            assert line["encoding"]["color"]["field"] == "model"
            assert line["encoding"]["color"]["sort"] == list(MODELS)
            assert line["encoding"]["strokeDash"]["field"] == "rev"
        assert "regexp('^.*[_/]')" in text and "regexp('[.][^.]*$')" in text
    det = json.dumps(specs["det"])
    assert det.count("quantileNormal(") >= 2 and "cumulativeNormal(" in det
    confusion = specs["confusion"]
    marks = [layer["mark"] for layer in layers(confusion) if "mark" in layer]
    assert any(mark == "text" or (isinstance(mark, dict) and mark.get("type") == "text") for mark in marks)
    assert any(mark == "rect" or (isinstance(mark, dict) and mark.get("type") == "rect") for mark in marks)
    for plot_id, first, then in [
        ("audit_eer", "untrimmed", "trimmed"),
        ("audit_far", "before", "after"),
        ("audit_frr", "before", "after"),
    ]:
        spec = specs[plot_id]
        assert spec["encoding"]["y"]["sort"] is None  # the order of the rows in the file, not alphabetical
        cases = [row["case"] for row in spec["data"]["values"]]
        for model in MODELS:
            assert cases.index(f"{model}, {first}") < cases.index(f"{model}, {then}")
    for plot_id in ("cnn_loss", "cnn_dev_eer"):
        spec = specs[plot_id]
        assert {"calculate": "toNumber(datum['epoch'])", "as": "epoch"} in spec["transform"]
        assert min(int(row["epoch"]) for row in spec["data"]["values"]) == 1  # epochs counted from 1
        lines = [layer for layer in layers(spec) if layer.get("mark", {}).get("type") == "line"]
        assert lines and all(line["encoding"]["detail"]["field"] == "seed" for line in lines)
