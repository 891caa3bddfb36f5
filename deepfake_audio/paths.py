"""Where each stage reads and writes, relative to the project root: the paths other stages,
dvc.yaml and users rely on (docs/pipeline.md lists them per stage)."""

from pathlib import Path

RAW = Path("data/raw")
SOURCE_RECORD = RAW / "source.json"
MANIFEST = Path("data/prepared/manifest.csv")
REJECTED = Path("data/prepared/rejected.csv")  # files prepare left out (prepare.on_bad_audio: skip), and why
FEATURES = Path("data/features")
SCORES = Path("data/scores")
MODELS = Path("models")
METRICS = Path("metrics")
PLOTS = Path("plots")

DATA_METRICS = METRICS / "data.json"
TRAIN_CNN_PLOTS = PLOTS / "train_cnn"
EVALUATE_PLOTS = PLOTS / "evaluate"  # a folder per model, and compared/ for the figures of all models
EVALUATE_COMPARED = EVALUATE_PLOTS / "compared"
EXPLAIN_PLOTS = PLOTS / "explain"  # plot data; the figures are in its images/ folder
AUDIT_PLOTS = PLOTS / "audit"  # likewise
AUDIT_VERDICTS = AUDIT_PLOTS / "verdicts.md"  # one line per model: its shortcut risk and why
TRIMMED_MODELS = (
    MODELS / "trimmed"
)  # models retrained on audio cut to its speech (audit.retrain), a folder per model
CROSS_DATA = Path("data/cross")  # stage prepare_cross: a folder per corpus of evaluate.cross
CROSS_SCORES = SCORES / "cross"  # stage evaluate_cross: <corpus>/<model>.csv
CROSS_METRICS = METRICS / "cross"  # <corpus>.json: per model, the keys of metrics/<model>.json
CROSS_PLOTS = PLOTS / "cross"  # <corpus>/<model>/ plot data, matrix.csv, and the figures in images/
AUDIT_DATA = Path("data/audit")
AUDIT_EDITED = AUDIT_DATA / "edited"  # stage audit_audio: where the speech is, and the edited files' features


def scores_file(model: str) -> Path:
    return SCORES / f"{model}.csv"


def metrics_file(name: str) -> Path:
    return METRICS / f"{name}.json"


def audit_scores_file(model: str) -> Path:
    """One model's scores on the audit's edited audio (stage ``audit@<model>``)."""
    return AUDIT_DATA / "scores" / f"{model}.csv"


def trimmed_models_dir(model: str) -> Path:
    return TRIMMED_MODELS / model


def explain_plots_dir(model: str) -> Path:
    return EXPLAIN_PLOTS / model


def evaluate_plots_dir(model: str) -> Path:
    return EVALUATE_PLOTS / model
