"""The audit's report (stage ``audit``): from the models' scores on the edited audio to
metrics/audit.json, plots/audit/ and the verdicts.

The work before it is split so that a change to one model reruns only that model's part:
``edited.edit_audio`` (stage ``audit_audio``) finds the speech and extracts the features of
the edited files, model-independent; ``scores.audit_model`` (stage ``audit@<model>``) scores
them with one single model and retrains it on trimmed audio. Here the fusion's scores are
computed from the single models' (rounded, as evaluate fuses them), and the untrimmed scores
are those evaluate wrote.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from deepfake_audio import paths
from deepfake_audio.audit import figures
from deepfake_audio.audit.edited import SPEECH_FILE, read_speech
from deepfake_audio.audit.scores import RETRAINED_SCORED, SCORED, read_audit_scores
from deepfake_audio.audit.verdicts import (
    RETRAINED_KEY,
    audit_models,
    audit_retrained,
    speech_summary,
    verdicts_markdown,
)
from deepfake_audio.errors import InputError
from deepfake_audio.io import atomic_path, write_csv, write_json
from deepfake_audio.models.fusion import fusion_scores
from deepfake_audio.models.trained import decision_threshold, load_models, read_scores
from deepfake_audio.params import AuditParams, Params
from deepfake_audio.vocabulary import (
    BONAFIDE,
    FRACTION_DECIMALS,
    FUSION,
    MODEL_NAMES,
    SCORE_DECIMALS,
    SINGLE_MODELS,
    SPOOF,
)


def audit_report(params: Params) -> None:
    """Stage ``audit``: metrics/audit.json (the numbers and each model's shortcut risk), plots/audit/
    (plot data, verdicts.md, figures in images/) from the audit scores of every model."""
    settings = params.audit
    speech = read_speech()
    audited = _audited_speech(speech, settings.split)
    labels = audited["label"]
    retrained: list[str] = [name for name in SINGLE_MODELS if name in settings.retrain]
    scores: dict[str, pd.DataFrame] = {
        name: read_audit_scores(name, audited, retrained=name in retrained) for name in SINGLE_MODELS
    }
    fusion = load_models(paths.MODELS, (FUSION,))[FUSION]
    report = audit_models(
        labels,
        _score_files(audited["utt_id"], settings.split),
        _with_fusion(_by_model(scores, SCORED[0]), fusion),
        transplanted=_with_fusion(_by_model(scores, SCORED[1]), fusion),
        thresholds={name: decision_threshold(paths.MODELS, name) for name in MODEL_NAMES},
        settings=settings,
    )
    retrained_report = _retrained_report(labels, {name: scores[name] for name in retrained}, settings)
    _write_plots(report, retrained_report, speech=speech, audited=audited, settings=settings)
    write_json(
        paths.metrics_file("audit"), _metrics(report, retrained_report, audited=audited, settings=settings)
    )


def _retrained_report(labels: pd.Series, scores: dict[str, pd.DataFrame], settings: AuditParams) -> dict:
    """``audit_retrained`` of the models retrained on trimmed audio (the keys of ``scores``); {} if none."""
    if not scores:
        return {}
    return audit_retrained(
        labels,
        _by_model(scores, RETRAINED_SCORED[0]),
        transplanted=_by_model(scores, RETRAINED_SCORED[1]),
        thresholds={name: decision_threshold(paths.trimmed_models_dir(name), name) for name in scores},
        settings=settings,
    )


def _metrics(report: dict, retrained: dict, *, audited: pd.DataFrame, settings: AuditParams) -> dict:
    """metrics/audit.json: the speech found in the ``audited`` files, the transplant, then the reports."""
    labels = audited["label"]
    return {
        "split": settings.split,
        "trim": speech_summary(audited),
        "transplant": {
            "head_ms": settings.transplant.head_ms,
            "n_bonafide": int((labels == BONAFIDE).sum()),
            "n_spoof": int((labels == SPOOF).sum()),
        },
        **report,
        **({RETRAINED_KEY: retrained} if retrained else {}),
    }


def _audited_speech(speech: pd.DataFrame, split: str) -> pd.DataFrame:
    """The rows of the audited ``split``, in the manifest's order."""
    audited = speech[speech["split"] == split].reset_index(drop=True)
    if audited.empty:
        raise InputError(
            f"{paths.AUDIT_EDITED / SPEECH_FILE}: no {split} utterances (audit.split); "
            "rerun the audit_audio stage (dvc repro audit_audio)"
        )
    return audited


def _by_model(scores: dict[str, pd.DataFrame], column: str) -> pd.DataFrame:
    """Column ``column`` of each model's audit scores, one column per model."""
    return pd.DataFrame({name: frame[column].to_numpy() for name, frame in scores.items()})


def _with_fusion(single: pd.DataFrame, fusion) -> pd.DataFrame:
    """``single`` (the single models' rounded scores) and the fusion's, rounded, as ``model_scores`` gives them."""
    fused = np.round(fusion_scores(fusion, single[list(SINGLE_MODELS)]), SCORE_DECIMALS)
    return single.assign(**{FUSION: fused})


def _write_plots(
    report: dict, retrained: dict, *, speech: pd.DataFrame, audited: pd.DataFrame, settings: AuditParams
) -> None:
    """plots/audit/: the plot data, the speech found (in every file of ``speech``; the figure shows the
    ``audited`` files), verdicts.md and the figures (images/)."""
    with atomic_path(paths.AUDIT_PLOTS) as out:
        (out / "images").mkdir(parents=True)
        write_csv(out / "eer.csv", figures.eer_frame(report, retrained).round(FRACTION_DECIMALS))
        write_csv(
            out / "transplant.csv", figures.transplant_frame(report, retrained).round(FRACTION_DECIMALS)
        )
        write_csv(out / SPEECH_FILE, speech.round(3))
        figures.summary_png(
            report,
            retrained,
            settings.split,
            head_ms=settings.transplant.head_ms,
            path=out / "images" / "audit.png",
        )
        figures.speech_png(audited, out / "images" / "speech.png")
        (out / paths.AUDIT_VERDICTS.name).write_text(verdicts_markdown(report, retrained, settings))


def _score_files(utt_ids: pd.Series, split: str) -> pd.DataFrame:
    """The untrimmed scores evaluate wrote, one column per model, in the order of ``utt_ids``."""
    columns = {}
    for name in MODEL_NAMES:
        scores = read_scores(name, split).set_index("utt_id")["score"]
        missing = utt_ids[~utt_ids.isin(scores.index)]
        if len(missing):
            raise InputError(
                f"{paths.scores_file(name)}: no score for {len(missing)} {split} utterance(s) of "
                f"{paths.MANIFEST}, first {missing.iloc[0]!r}; rerun the evaluate stages"
            )
        columns[name] = scores.reindex(utt_ids).to_numpy()
    return pd.DataFrame(columns)
