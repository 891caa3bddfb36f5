import json

from deepfake_audio.cli import main


def write_metrics(folder, model, dev_eer, eval_eer):
    folder.mkdir(exist_ok=True)
    (folder / f"{model}.json").write_text(
        json.dumps({"dev": {"eer": dev_eer, "roc_auc": 0.99}, "eval": {"eer": eval_eer, "roc_auc": 0.9}})
    )


def test_metrics_prints_one_row_per_model(tmp_path, capsys):
    write_metrics(tmp_path, "svc", 1.234, 12.5)
    write_metrics(tmp_path, "cnn", 0.5, 7.25)
    write_metrics(tmp_path, "gmm", 5.0, 12.0)
    write_metrics(tmp_path, "fusion", 0.25, 6.0)
    assert main(["metrics", "--metrics-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "model",
        "dev",
        "EER",
        "%",
        "dev",
        "AUC",
        "eval",
        "EER",
        "%",
        "eval",
        "AUC",
        "shortcut",
        "risk",
    ]
    assert lines[1].split() == ["svc", "1.23", "0.9900", "12.50", "0.9000", "-"]
    assert lines[2].split() == ["cnn", "0.50", "0.9900", "7.25", "0.9000", "-"]
    assert lines[3].split() == ["gmm", "5.00", "0.9900", "12.00", "0.9000", "-"]
    assert lines[4].split() == ["fusion", "0.25", "0.9900", "6.00", "0.9000", "-"]


def test_metrics_show_the_audits_shortcut_risk(tmp_path, capsys):
    for model in ("svc", "cnn", "gmm", "fusion"):
        write_metrics(tmp_path, model, 1.0, 2.0)
    (tmp_path / "audit.json").write_text(
        json.dumps({"svc": {"shortcut_risk": "high"}, "cnn": {"shortcut_risk": "low"}})
    )
    assert main(["metrics", "--metrics-dir", str(tmp_path)]) == 0
    assert [line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:]] == [
        "high",
        "low",
        "-",
        "-",
    ]


def test_metrics_without_a_run_says_what_to_do(tmp_path, capsys):
    assert main(["metrics", "--metrics-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path}/svc.json: not found; run `make repro` first\n"


def test_metrics_names_a_malformed_file(tmp_path, capsys):
    write_metrics(tmp_path, "svc", 1.0, 2.0)
    (tmp_path / "cnn.json").write_text('{"dev": {}}')
    assert main(["metrics", "--metrics-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"error: {tmp_path}/cnn.json: not a metrics file of this pipeline (KeyError: 'eer')\n"
    )


def test_metrics_without_eval_shows_dashes(tmp_path, capsys):
    for model in ("svc", "cnn", "gmm", "fusion"):
        (tmp_path / f"{model}.json").write_text(json.dumps({"dev": {"eer": 3.0, "roc_auc": 0.5}}))
    assert main(["metrics", "--metrics-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["svc", "3.00", "0.5000", "-", "-", "-"]


def test_metrics_print_the_audits_verdict_lines_under_the_table(tmp_path, capsys):
    metrics = tmp_path / "metrics"
    for model in ("svc", "cnn", "gmm", "fusion"):
        write_metrics(metrics, model, 1.0, 2.0)
    verdicts = tmp_path / "plots" / "audit" / "verdicts.md"
    verdicts.parent.mkdir(parents=True)
    verdicts.write_text(
        "# Artefact audit on eval: shortcut verdicts\n\nSome prose.\n\n"
        "- svc: high: 100 ms transplant moves FAR 1.0 -> 30.0 % (beyond the limits: FAR)\n"
        "- retrained.svc: low: 100 ms transplant moves FAR 1.0 -> 2.0 %\n"
    )
    assert main(["metrics", "--metrics-dir", str(metrics)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[0] == "svc" and lines[5:] == [
        "",
        f"shortcut verdicts ({verdicts}):",
        "- svc: high: 100 ms transplant moves FAR 1.0 -> 30.0 % (beyond the limits: FAR)",
        "- retrained.svc: low: 100 ms transplant moves FAR 1.0 -> 2.0 %",
    ]


def test_metrics_without_verdicts_print_the_table_alone(tmp_path, capsys):
    metrics = tmp_path / "metrics"
    for model in ("svc", "cnn", "gmm", "fusion"):
        write_metrics(metrics, model, 1.0, 2.0)
    assert main(["metrics", "--metrics-dir", str(metrics)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 5
