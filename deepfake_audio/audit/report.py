"""From audit scores to metrics and a verdict: does a model lean on the non-speech?

All rates are percentages. FAR is the share of spoofs accepted (score above the dev EER
threshold), FRR the share of bona fide files rejected (at or below it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from deepfake_audio.metrics import eer_percent, roc_auc
from deepfake_audio.params import AuditParams, RiskParams

FOUND_BY = ("vad", "annotation", "none")  # none: the VAD found no speech, and the file is kept whole

DECIMALS = 4


def audit_models(labels, untrimmed: pd.DataFrame, trimmed: pd.DataFrame, transplanted: pd.DataFrame,
                 thresholds: dict[str, float], settings: AuditParams) -> dict[str, dict]:
    """Per model (a column of each score frame): trimmed vs untrimmed, the transplant, the verdict."""
    report = {}
    for model in untrimmed.columns:
        trim = trim_shift(labels, untrimmed[model], trimmed[model])
        transplant = transplant_shift(labels, untrimmed[model], transplanted[model], thresholds[model])
        report[model] = {**verdict(transplant, trim, settings.risk, settings.transplant.head_ms), **trim, **transplant}
    return report


def audit_retrained(labels, trimmed: pd.DataFrame, transplanted: pd.DataFrame, thresholds: dict[str, float],
                    settings: AuditParams) -> dict[str, dict]:
    """Per retrained model: its EER and ROC AUC on trimmed audio, the transplant (then trimmed), the verdict."""
    report = {}
    for model in trimmed.columns:
        transplant = transplant_shift(labels, trimmed[model], transplanted[model], thresholds[model])
        scores = {key: round(value, DECIMALS) for key, value in separation(labels, trimmed[model]).items()}
        report[model] = {**verdict(transplant, None, settings.risk, settings.transplant.head_ms), **scores,
                         **transplant}
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
        "speech_share": round(float(((speech["end_s"] - speech["start_s"]) / speech["duration_s"]).mean()), 4),
        **{f"leading_ms_median_{label}": round(1000 * float(lead[speech["label"] == label].median()), 1)
           for label in ("bonafide", "spoof")},
        **{f"trailing_ms_median_{label}": round(1000 * float(trail[speech["label"] == label].median()), 1)
           for label in ("bonafide", "spoof")},
    }


def error_rates(labels, scores, threshold: float) -> dict[str, float]:
    """FAR and FRR (%) of ``scores`` at ``threshold``."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    return {"far": 100 * float(np.mean(scores[labels == "spoof"] > threshold)),
            "frr": 100 * float(np.mean(scores[labels == "bonafide"] <= threshold))}


def separation(labels, scores) -> dict[str, float]:
    """EER (%) and ROC AUC of a labelled score set."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    bonafide, spoof = scores[labels == "bonafide"], scores[labels == "spoof"]
    return {"eer": eer_percent(bonafide, spoof), "roc_auc": roc_auc(bonafide, spoof)}


def transplant_shift(labels, before, after, threshold: float) -> dict[str, dict[str, float]]:
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


def verdict(transplant: dict, trim: dict | None, risk: RiskParams, head_ms: float) -> dict[str, str]:
    """``shortcut_risk`` (high | low) and a one-line reason.

    High when the transplant moves FAR or FRR by more than ``risk.max_rate_change``
    points, or trimming raises the EER by more than ``risk.max_eer_rise`` points.
    """
    far, frr = transplant["far"], transplant["frr"]
    findings = [f"{head_ms:g} ms transplant moves FAR {far['before']:.1f} -> {far['after']:.1f} %, "
                f"FRR {frr['before']:.1f} -> {frr['after']:.1f} %"]
    beyond = [name.upper() for name, rate in (("far", far), ("frr", frr))
              if abs(rate["change"]) > risk.max_rate_change]
    if trim is not None:
        eer = trim["eer"]
        findings.append(f"trimming moves EER {eer['untrimmed']:.1f} -> {eer['trimmed']:.1f} %")
        if eer["change"] > risk.max_eer_rise:
            beyond.append("EER")
    level = "high" if beyond else "low"
    limits = f"+-{risk.max_rate_change:g} points FAR/FRR" + ("" if trim is None else f", +{risk.max_eer_rise:g} EER")
    judged = f"beyond the limits: {', '.join(beyond)}" if beyond else f"within the limits: {limits}"
    return {"shortcut_risk": level, "verdict": f"{level}: {'; '.join(findings)} ({judged})"}


def _change(before: float, after: float, names=("before", "after")) -> dict[str, float]:
    return {names[0]: round(before, DECIMALS), names[1]: round(after, DECIMALS),
            "change": round(after - before, DECIMALS)}
