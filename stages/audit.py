"""DVC stage `audit`: how much each model's decisions rest on the non-speech around the speech.

Writes metrics/audit.json (numbers and each model's shortcut risk), plots/audit/ (plot data,
verdicts.md with the reason for each risk; figures in images/) and models/trimmed/ (the
models of audit.retrain, trained on trimmed audio).
"""

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import pandas as pd

from deepfake_audio import paths
from deepfake_audio.audit import figures
from deepfake_audio.audit.annotations import read_annotations
from deepfake_audio.audit.report import (
    RETRAINED_KEY,
    audit_models,
    audit_retrained,
    speech_summary,
    verdicts_markdown,
)
from deepfake_audio.audit.run import Auditor, retrain_on_trimmed
from deepfake_audio.corpus.manifest import read_manifest
from deepfake_audio.errors import InputError, run_stage
from deepfake_audio.io import atomic_path, write_csv, write_json
from deepfake_audio.models.files import read_card
from deepfake_audio.models.trained import MODEL_FILES, load_models, model_scores, read_scores, save_model
from deepfake_audio.params import load_params
from deepfake_audio.plots import DECIMALS


def main() -> None:
    params = load_params()
    settings = params.audit
    manifest = read_manifest(paths.MANIFEST)
    audited = manifest[manifest["split"] == settings.split].reset_index(drop=True)
    if audited.empty:
        raise InputError(
            f"audit.split is {settings.split} but {paths.MANIFEST} holds no {settings.split} "
            "utterances; set audit.split to a split the corpus has"
        )
    models = load_models(paths.MODELS, paths.MODEL_NAMES)
    cards = {name: read_card(paths.MODELS / MODEL_FILES[name], name) for name in models}
    thresholds = {name: card.threshold for name, card in cards.items()}
    labels = audited["label"]

    auditor = Auditor(params)
    splits = [
        settings.split,
        *(split for split in ("train", "dev") if settings.retrain and split != settings.split),
    ]
    corpus = manifest[manifest["split"].isin(splits)].reset_index(drop=True)
    annotations = read_annotations(settings.annotations) if settings.annotations else None
    speech = auditor.find_speech(corpus, annotations)
    trimmed = auditor.trimmed(corpus, speech)
    trimmed_split = trimmed.rows(settings.split)
    split_speech = speech[speech["split"] == settings.split].reset_index(drop=True)

    cnn_stats = cards["cnn"].stats
    report = audit_models(
        labels,
        _score_files(audited["utt_id"], settings.split),
        _scores(models, trimmed_split, cnn_stats),
        _scores(models, auditor.transplanted(audited), cnn_stats),
        thresholds,
        settings,
    )

    retrained = retrain_on_trimmed(trimmed, params) if settings.retrain else {}
    with atomic_path(paths.TRIMMED_MODELS) as out:
        out.mkdir()
        for name, model in retrained.items():
            save_model(name, model.model, out, model.card)
    retrained_report = {}
    if retrained:
        chosen = {name: model.model for name, model in retrained.items()}
        stats = retrained["cnn"].card.stats if "cnn" in retrained else None
        retrained_report = audit_retrained(
            labels,
            _scores(chosen, trimmed_split, stats),
            _scores(chosen, auditor.transplanted(audited, split_speech), stats),
            {name: model.card.threshold for name, model in retrained.items()},
            settings,
        )

    with atomic_path(paths.AUDIT_PLOTS) as out:
        (out / "images").mkdir(parents=True)
        write_csv(out / "eer.csv", figures.eer_frame(report, retrained_report).round(DECIMALS))
        write_csv(out / "transplant.csv", figures.transplant_frame(report, retrained_report).round(DECIMALS))
        write_csv(out / "speech.csv", speech.round(3))
        figures.summary_png(
            report,
            retrained_report,
            settings.split,
            settings.transplant.head_ms,
            out / "images" / "audit.png",
        )
        figures.speech_png(split_speech, out / "images" / "speech.png")
        (out / paths.AUDIT_VERDICTS.name).write_text(verdicts_markdown(report, retrained_report, settings))
    write_json(
        paths.metrics_file("audit"),
        {
            "split": settings.split,
            "trim": speech_summary(split_speech),
            "transplant": {
                "head_ms": settings.transplant.head_ms,
                "n_bonafide": int((labels == "bonafide").sum()),
                "n_spoof": int((labels == "spoof").sum()),
            },
            **report,
            **({RETRAINED_KEY: retrained_report} if retrained_report else {}),
        },
    )


def _scores(models: dict, analysed, stats) -> pd.DataFrame:
    return model_scores(models, analysed.table, analysed.cnn_input(stats))


def _score_files(utt_ids: pd.Series, split: str) -> pd.DataFrame:
    """The untrimmed scores evaluate wrote, one column per model, in the order of ``utt_ids``."""
    columns = {}
    for name in paths.MODEL_NAMES:
        scores = read_scores(name, split).set_index("utt_id")["score"]
        missing = utt_ids[~utt_ids.isin(scores.index)]
        if len(missing):
            raise InputError(
                f"{paths.scores_file(name)}: no score for {len(missing)} {split} utterance(s) of "
                f"{paths.MANIFEST}, first {missing.iloc[0]!r}; rerun the evaluate stage"
            )
        columns[name] = scores.reindex(utt_ids).to_numpy()
    return pd.DataFrame(columns)


if __name__ == "__main__":
    run_stage(main)
