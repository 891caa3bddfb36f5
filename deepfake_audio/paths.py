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
EVALUATE_PLOTS = PLOTS / "evaluate"
EXPLAIN_PLOTS = PLOTS / "explain"  # plot data; the figures are in its images/ folder
AUDIT_PLOTS = PLOTS / "audit"  # likewise
AUDIT_VERDICTS = AUDIT_PLOTS / "verdicts.md"  # one line per model: its shortcut risk and why
TRIMMED_MODELS = MODELS / "trimmed"  # models retrained on audio cut to its speech (audit.retrain)


def scores_file(model: str) -> Path:
    return SCORES / f"{model}.csv"


def metrics_file(name: str) -> Path:
    return METRICS / f"{name}.json"
