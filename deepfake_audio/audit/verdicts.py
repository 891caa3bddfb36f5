"""From audit scores to metrics and a verdict: does a model lean on the non-speech?

All rates are percentages. FAR is the share of spoofs accepted (score above the dev EER
threshold), FRR the share of bona fide files rejected (at or below it). The metrics hold
the numbers and the ``shortcut_risk`` (high | low); the verdict lines that explain each
risk in words are Markdown, for plots/audit/verdicts.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from deepfake_audio.metrics import eer_percent, roc_auc, rounded
from deepfake_audio.params import AuditParams, RiskParams
from deepfake_audio.vocabulary import BONAFIDE, LABELS, PERCENT_DECIMALS, SPOOF

FOUND_BY = ("vad", "annotation", "none")  # none: the VAD found no speech, and the file is kept whole

RETRAINED_KEY = "retrained"  # metrics/audit.json holds the retrained models under this key


def audit_models(
    labels,
    untrimmed: pd.DataFrame,
    trimmed: pd.DataFrame,
    *,
    transplanted: pd.DataFrame,
    thresholds: dict[str, float],
    settings: AuditParams,
) -> dict[str, dict]:
    """Per model (a column of each score frame): trimmed vs untrimmed, the transplant, the shortcut risk."""
    report = {}
    for model in untrimmed.columns:
        result = {
            **trim_shift(labels, untrimmed[model], trimmed[model]),
            **transplant_shift(labels, untrimmed[model], transplanted[model], threshold=thresholds[model]),
        }
        report[model] = {"shortcut_risk": shortcut_risk(result, settings.risk), **result}
    return report


def audit_retrained(
    labels,
    trimmed: pd.DataFrame,
    *,
    transplanted: pd.DataFrame,
    thresholds: dict[str, float],
    settings: AuditParams,
) -> dict[str, dict]:
    """Per retrained model: its EER and ROC AUC on trimmed audio, the transplant (then trimmed), the shortcut risk."""
    report = {}
    for model in trimmed.columns:
        result = {
            **{
                key: rounded(value, PERCENT_DECIMALS)
                for key, value in separation(labels, trimmed[model]).items()
            },
            **transplant_shift(labels, trimmed[model], transplanted[model], threshold=thresholds[model]),
        }
        report[model] = {"shortcut_risk": shortcut_risk(result, settings.risk), **result}
    return report


def non_speech(speech: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Seconds cut from the start and from the end of each file."""
    return speech["start_s"], speech["duration_s"] - speech["end_s"]


def speech_summary(speech: pd.DataFrame) -> dict:
    """How the speech was found, the share of each file kept, and the median non-speech cut
    from each end per class (``speech``: one row per file, as ``Auditor.find_speech`` gives)."""
    lead, trail = non_speech(speech)
    return {
        "n_files": len(speech),
        **{f"found_by_{source}": int((speech["found_by"] == source).sum()) for source in FOUND_BY},
        "speech_share": rounded(((speech["end_s"] - speech["start_s"]) / speech["duration_s"]).mean(), 4),
        **{
            f"leading_ms_median_{label}": rounded(1000 * lead[speech["label"] == label].median(), 1)
            for label in LABELS
        },
        **{
            f"trailing_ms_median_{label}": rounded(1000 * trail[speech["label"] == label].median(), 1)
            for label in LABELS
        },
    }


def error_rates(labels, scores, threshold: float) -> dict[str, float]:
    """FAR and FRR (%) of ``scores`` at ``threshold``."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    return {
        "far": 100 * float(np.mean(scores[labels == SPOOF] > threshold)),
        "frr": 100 * float(np.mean(scores[labels == BONAFIDE] <= threshold)),
    }


def separation(labels, scores) -> dict[str, float]:
    """EER (%) and ROC AUC of a labelled score set."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    bonafide, spoof = scores[labels == BONAFIDE], scores[labels == SPOOF]
    return {"eer": eer_percent(bonafide, spoof), "roc_auc": roc_auc(bonafide, spoof)}


def transplant_shift(labels, before, after, *, threshold: float) -> dict[str, dict[str, float]]:
    """FAR and FRR before and after the transplant, and their change (percentage points).

    ``after`` scores each spoof with a bona fide start in front (which FAR shows) and each
    bona fide file with a spoofed start (which FRR shows).
    """
    rates = {"before": error_rates(labels, before, threshold), "after": error_rates(labels, after, threshold)}
    return {rate: _change(rates["before"][rate], rates["after"][rate]) for rate in ("far", "frr")}


def trim_shift(labels, untrimmed, trimmed) -> dict[str, dict[str, float]]:
    """EER and ROC AUC on the files as they are and cut to their speech."""
    before, after = separation(labels, untrimmed), separation(labels, trimmed)
    return {
        "eer": _change(before["eer"], after["eer"], ("untrimmed", "trimmed")),
        "roc_auc": _change(before["roc_auc"], after["roc_auc"], ("untrimmed", "trimmed")),
    }


def beyond_limits(result: dict, risk: RiskParams) -> list[str]:
    """What moved beyond ``risk``'s limits in one model's ``result`` (an entry of ``audit_models``
    or ``audit_retrained``): FAR or FRR by more than ``risk.max_rate_change`` points after the
    transplant, the EER by more than ``risk.max_eer_rise`` points after trimming."""
    beyond = [rate.upper() for rate in ("far", "frr") if abs(result[rate]["change"]) > risk.max_rate_change]
    trim = _trim(result)
    if trim is not None and trim["change"] > risk.max_eer_rise:
        beyond.append("EER")
    return beyond


def shortcut_risk(result: dict, risk: RiskParams) -> str:
    """``high`` when anything moved beyond the limits (``beyond_limits``), ``low`` otherwise."""
    return "high" if beyond_limits(result, risk) else "low"


def verdict(result: dict, risk: RiskParams, head_ms: float) -> str:
    """One line: the shortcut risk of ``result`` and the numbers behind it."""
    far, frr = result["far"], result["frr"]
    findings = [
        f"{head_ms:g} ms transplant moves FAR {far['before']:.1f} -> {far['after']:.1f} %, "
        f"FRR {frr['before']:.1f} -> {frr['after']:.1f} %"
    ]
    trim = _trim(result)
    if trim is not None:
        findings.append(f"trimming moves EER {trim['untrimmed']:.1f} -> {trim['trimmed']:.1f} %")
    beyond = beyond_limits(result, risk)
    limits = f"+-{risk.max_rate_change:g} points FAR/FRR" + (
        "" if trim is None else f", +{risk.max_eer_rise:g} EER"
    )
    judged = f"beyond the limits: {', '.join(beyond)}" if beyond else f"within the limits: {limits}"
    return f"{shortcut_risk(result, risk)}: {'; '.join(findings)} ({judged})"


def verdicts_markdown(report: dict, retrained: dict, settings: AuditParams) -> str:
    """plots/audit/verdicts.md: a title, then one list item per model, ``- <key>: <verdict>``,
    keyed as in metrics/audit.json (``retrained.<model>`` for the models retrained on trimmed audio)."""
    results = {**report, **{f"{RETRAINED_KEY}.{model}": result for model, result in retrained.items()}}
    lines = [
        f"# Artefact audit on {settings.split}: shortcut verdicts",
        "",
        "Each model's shortcut risk (as in metrics/audit.json) and the numbers behind it.",
        "",
        *(
            f"- {name}: {verdict(result, settings.risk, settings.transplant.head_ms)}"
            for name, result in results.items()
        ),
    ]
    return "\n".join(lines) + "\n"


def _trim(result: dict) -> dict | None:
    """The EER untrimmed vs trimmed; None for a retrained model, only evaluated trimmed."""
    return result["eer"] if isinstance(result["eer"], dict) else None


def _change(before: float, after: float, names=("before", "after")) -> dict[str, float]:
    # The audit's ROC AUCs are rounded as its rates (%) and their changes (points) are.
    return {
        names[0]: rounded(before, PERCENT_DECIMALS),
        names[1]: rounded(after, PERCENT_DECIMALS),
        "change": rounded(after - before, PERCENT_DECIMALS),
    }
