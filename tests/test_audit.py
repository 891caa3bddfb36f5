"""The artefact audit: speech detection, the transplant, the report, the verdict on real models, and
its three steps (edited audio, each model's scores, the report) against the audit computed at once."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from helpers import PROJECT, SAMPLE_RATE, tone

from deepfake_audio.audit.annotations import read_annotations
from deepfake_audio.audit.edited import Auditor
from deepfake_audio.audit.edits import EditedFile
from deepfake_audio.audit.transplant import pick_donors, prepend_head
from deepfake_audio.audit.verdicts import (
    audit_models,
    audit_retrained,
    error_rates,
    shortcut_risk,
    speech_summary,
    transplant_shift,
    verdict,
    verdicts_markdown,
)
from deepfake_audio.errors import InputError
from deepfake_audio.params import AuditParams, ParamsError, RiskParams, VadParams, parse_params
from deepfake_audio.speech import Vad

FRAME, HOP = 400, 160  # the features' STFT frames: 25 ms, 10 ms at 16 kHz


def vad(**changes) -> Vad:
    return Vad(VadParams(**changes), SAMPLE_RATE, FRAME, HOP)


def silence_tone_silence(lead_s=0.5, tone_s=0.8, trail_s=0.4, noise=1e-4, seed=0):
    """A 1 kHz tone between two stretches of faint noise; returns the signal and the tone's edges."""
    rng = np.random.default_rng(seed)
    lead, body = round(lead_s * SAMPLE_RATE), round(tone_s * SAMPLE_RATE)
    signal = (noise * rng.standard_normal(lead + body + round(trail_s * SAMPLE_RATE))).astype(np.float32)
    signal[lead : lead + body] += tone(1000.0, tone_s)
    return signal, (lead, lead + body)


@pytest.mark.parametrize("lead_s, tone_s", [(0.5, 0.8), (0.137, 1.21), (0.0213, 0.4)])
def test_vad_finds_the_edges_of_a_tone_between_silences_within_a_frame(lead_s, tone_s):
    signal, (start, stop) = silence_tone_silence(lead_s, tone_s)
    found = vad().speech_bounds(signal)
    assert abs(found[0] - start) <= FRAME and abs(found[1] - stop) <= FRAME
    trimmed = vad().trim(signal)
    assert trimmed.size == found[1] - found[0] and np.array_equal(trimmed, signal[found[0] : found[1]])


def test_vad_ignores_a_click_shorter_than_min_speech_but_not_a_longer_burst():
    signal, (start, stop) = silence_tone_silence()
    click = round(0.1 * SAMPLE_RATE)
    signal[click : click + 160] += 0.8 * np.hanning(160).astype(np.float32)  # 10 ms, louder than the tone
    assert abs(vad().speech_bounds(signal)[0] - start) <= FRAME
    assert vad(min_speech_ms=0.0).speech_bounds(signal)[0] <= click + FRAME


def test_vad_threshold_decides_whether_a_faint_lead_tone_is_speech():
    signal, (start, stop) = silence_tone_silence()
    faint = tone(700.0, 0.3, amplitude=0.3 * 10 ** (-20 / 20))  # 20 dB below the main tone
    signal[: faint.size] += faint
    assert abs(vad(top_db=15.0).speech_bounds(signal)[0] - start) <= FRAME
    assert vad(top_db=30.0).speech_bounds(signal)[0] <= FRAME


def test_vad_finds_no_speech_in_a_lone_click_and_keeps_the_whole_file():
    signal = np.zeros(SAMPLE_RATE, dtype=np.float32)
    signal[8000:8080] = 0.5
    assert vad().speech_bounds(signal) is None
    assert np.array_equal(vad().trim(signal), signal)


def test_vad_removes_the_planted_artefact_and_keeps_the_speech_of_synthetic_files(raw):
    from deepfake_audio.corpus import synthetic

    params = parse_params(raw)
    plan = synthetic.plan_corpus(params.synthetic, params.seed)["eval"]
    genuine = [utt for utt in plan if utt.playback is None][:4]
    spoofed = [utt for utt in plan if utt.playback is not None][:4]
    for utt in genuine + spoofed:
        pcm = synthetic.render_utterance(
            utt, sample_rate=SAMPLE_RATE, seed=params.seed, snr_db=params.synthetic.snr_db, artefact=True
        )
        start, stop = synthetic.speech_span(utt, sample_rate=SAMPLE_RATE, seed=params.seed)
        found = vad().speech_bounds(pcm.astype(np.float32) / 32768)
        cue_end = 0.1 if utt.playback is None else min(0.25, start / SAMPLE_RATE)  # click or tone
        assert found[0] >= (cue_end - 0.03) * SAMPLE_RATE, utt.file
        assert (
            -0.05 <= (found[0] - start) / SAMPLE_RATE <= 0.3 and abs(found[1] - stop) / SAMPLE_RATE <= 0.3
        ), utt.file


def test_prepend_head_puts_exactly_the_donors_first_samples_in_front():
    signal, donor = np.arange(5000, dtype=np.float32), -np.arange(3000, dtype=np.float32)
    out = prepend_head(signal, donor, 1600)
    assert out.size == 6600
    assert np.array_equal(out[:1600], donor[:1600]) and np.array_equal(out[1600:], signal)
    with pytest.raises(ValueError, match="the donor has 3000 samples, fewer than the 3200 to transplant"):
        prepend_head(signal, donor, 3200)


def test_an_edited_file_holds_exactly_n_ms_of_the_donor_then_the_file(tmp_path):
    target, donor = tone(300.0, 0.7), tone(2000.0, 0.4, amplitude=0.5)
    for name, samples in (("target.wav", target), ("donor.wav", donor)):
        sf.write(tmp_path / name, samples, SAMPLE_RATE, subtype="FLOAT")
    for head_ms in (100.0, 37.5):
        edited = EditedFile(
            str(tmp_path / "target.wav"), donor=str(tmp_path / "donor.wav"), head_s=head_ms / 1000
        )
        out, head = edited.load(SAMPLE_RATE), round(head_ms / 1000 * SAMPLE_RATE)
        assert out.size == target.size + head
        assert np.array_equal(out[:head], donor[:head]) and np.array_equal(out[head:], target)
    cut = EditedFile(
        str(tmp_path / "target.wav"), donor=str(tmp_path / "donor.wav"), head_s=0.1, speech=(0.1, 0.5)
    )
    assert np.array_equal(cut.load(SAMPLE_RATE), target[:6400])


def test_donors_come_from_the_other_class_and_follow_the_seed():
    labels = np.array(["bonafide"] * 3 + ["spoof"] * 7)
    donors = pick_donors(labels, seed=1)
    assert all(labels[donor] != label for donor, label in zip(donors, labels, strict=True))
    assert np.array_equal(donors, pick_donors(labels, seed=1))
    assert not np.array_equal(donors, pick_donors(labels, seed=2))
    with pytest.raises(ValueError, match="every file is spoof"):
        pick_donors(["spoof", "spoof"], seed=0)


def write_annotations(tmp_path, text: str) -> Path:
    path = tmp_path / "speech.csv"
    path.write_text(text)
    return path


def test_annotations_are_read_by_utterance(tmp_path):
    table = read_annotations(
        write_annotations(tmp_path, "utt_id,start_s,end_s,note\nE_01,0.25,2.5,x\nE_02,0,1.75,\n")
    )
    assert table.loc["E_01"].tolist() == [0.25, 2.5] and table.loc["E_02"].tolist() == [0.0, 1.75]


@pytest.mark.parametrize(
    "text, message",
    [
        ("utt_id,start_s\nE_01,0.2\n", "missing column(s) end_s; expected utt_id, start_s, end_s"),
        (
            "utt_id,start_s,end_s\nE_01,0.2,x\nE_02,0.1,1\n",
            "start_s and end_s must be numbers (1): line 2: '0.2,x'",
        ),
        (
            "utt_id,start_s,end_s\nE_01,0.2,1\nE_02,1.5,1.5\n",
            "need 0 <= start_s < end_s (1): line 3: '1.5,1.5'",
        ),
        (
            "utt_id,start_s,end_s\nE_01,0.2,1\nE_01,0.3,1\n",
            "utt_id listed more than once (1): line 3: 'E_01'",
        ),
    ],
)
def test_bad_annotations_name_the_file_line_and_reason(tmp_path, text, message):
    path = write_annotations(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_annotations(path)
    assert str(err.value) == f"{path}: {message}"


def test_missing_annotation_file_names_the_key(tmp_path):
    with pytest.raises(InputError, match=r"nope.csv: annotation file not found \(audit.annotations\)$"):
        read_annotations(tmp_path / "nope.csv")


def test_error_rates_at_the_threshold_on_hand_made_scores():
    labels = ["bonafide"] * 4 + ["spoof"] * 5
    scores = [2.0, 1.0, 0.5, -1.0, 0.6, 0.5, -1.0, -2.0, -3.0]
    # spoof accepted when above 0.5: one of five; bona fide rejected at or below it: two of four
    assert error_rates(labels, scores, 0.5) == {"far": 20.0, "frr": 50.0}


def test_transplant_shift_and_verdict_on_hand_made_scores():
    labels = ["bonafide"] * 2 + ["spoof"] * 4
    before = [1.0, 1.0, -1.0, -1.0, -1.0, -1.0]
    after = [1.0, -1.0, 1.0, 1.0, 1.0, -1.0]  # three spoofs accepted, one bona fide rejected
    shift = transplant_shift(labels, before, after, threshold=0.0)
    assert shift == {
        "far": {"before": 0.0, "after": 75.0, "change": 75.0},
        "frr": {"before": 0.0, "after": 50.0, "change": 50.0},
    }
    result = {"eer": {"untrimmed": 2.0, "trimmed": 3.5, "change": 1.5}, **shift}
    assert shortcut_risk(result, RiskParams()) == "high"
    assert verdict(result, RiskParams(), 100.0) == (
        "high: 100 ms transplant moves FAR 0.0 -> 75.0 %, FRR 0.0 -> 50.0 %; "
        "trimming moves EER 2.0 -> 3.5 % (beyond the limits: FAR, FRR)"
    )
    calm = transplant_shift(labels, before, before, threshold=0.0)
    trimming_hurts = {"eer": {"untrimmed": 2.0, "trimmed": 14.0, "change": 12.0}, **calm}
    assert shortcut_risk(trimming_hurts, RiskParams()) == "high"
    assert verdict(trimming_hurts, RiskParams(), 50.0).endswith("(beyond the limits: EER)")
    retrained = {"eer": 3.0, "roc_auc": 0.9, **calm}  # a retrained model: no untrimmed EER to compare
    assert shortcut_risk(retrained, RiskParams(max_rate_change=5.0)) == "low"
    assert verdict(retrained, RiskParams(max_rate_change=5.0), 50.0) == (
        "low: 50 ms transplant moves FAR 0.0 -> 0.0 %, FRR 0.0 -> 0.0 % (within the limits: +-5 points FAR/FRR)"
    )


def test_the_report_holds_numbers_and_the_risk_and_the_verdicts_go_to_markdown():
    labels = pd.Series(["bonafide"] * 2 + ["spoof"] * 4)
    untrimmed = pd.DataFrame(
        {"svc": [1.0, 0.9, -1.0, -1.1, -1.2, -1.3], "cnn": [1.0, 0.9, -1.0, -1.1, -1.2, -1.3]}
    )
    trimmed = untrimmed.copy()
    # The svc accepts three spoofs once a bona fide start is put in front; the cnn does not move.
    transplanted = untrimmed.assign(svc=[1.0, 0.9, 1.0, 1.0, 1.0, -1.3])
    settings = AuditParams()
    report = audit_models(
        labels,
        untrimmed,
        trimmed,
        transplanted=transplanted,
        thresholds={"svc": 0.0, "cnn": 0.0},
        settings=settings,
    )
    retrained = audit_retrained(
        labels, trimmed[["svc"]], transplanted=trimmed[["svc"]], thresholds={"svc": 0.0}, settings=settings
    )
    assert {model: result["shortcut_risk"] for model, result in report.items()} == {
        "svc": "high",
        "cnn": "low",
    }
    for result in (*report.values(), *retrained.values()):
        assert set(result) <= {"shortcut_risk", "eer", "roc_auc", "far", "frr"}  # no sentence in the metrics
    assert report["svc"]["far"] == {"before": 0.0, "after": 75.0, "change": 75.0}

    markdown = verdicts_markdown(report, retrained, settings)
    assert markdown.splitlines()[0] == f"# Artefact audit on {settings.split}: shortcut verdicts"
    items = [line for line in markdown.splitlines() if line.startswith("- ")]
    head_ms = settings.transplant.head_ms
    assert items == [
        f"- svc: {verdict(report['svc'], settings.risk, head_ms)}",
        f"- cnn: {verdict(report['cnn'], settings.risk, head_ms)}",
        f"- retrained.svc: {verdict(retrained['svc'], settings.risk, head_ms)}",
    ]
    assert items[0].startswith(f"- svc: high: {head_ms:g} ms transplant moves FAR 0.0 -> 75.0 %")
    assert items[2].startswith("- retrained.svc: low:") and "trimming" not in items[2]


def test_speech_summary_counts_sources_and_takes_medians_per_class():
    speech = pd.DataFrame(
        {
            "label": ["bonafide", "bonafide", "spoof", "spoof", "spoof"],
            "duration_s": [2.0, 2.0, 1.0, 1.0, 4.0],
            "start_s": [0.1, 0.3, 0.0, 0.2, 0.4],
            "end_s": [1.9, 1.5, 1.0, 0.9, 3.6],
            "found_by": ["vad", "annotation", "none", "vad", "vad"],
        }
    )
    assert speech_summary(speech) == {
        "n_files": 5,
        "found_by_vad": 3,
        "found_by_annotation": 1,
        "found_by_none": 1,
        "speech_share": round((0.9 + 0.6 + 1.0 + 0.7 + 0.8) / 5, 4),
        "leading_ms_median_bonafide": 200.0,
        "leading_ms_median_spoof": 200.0,
        "trailing_ms_median_bonafide": 300.0,
        "trailing_ms_median_spoof": 100.0,
    }


@pytest.fixture
def raw():
    return yaml.safe_load((PROJECT / "params.yaml").read_text())


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("retrain", ["svc", "svc"], "audit: retrain lists a model twice: ['svc', 'svc']"),
        ("retrain", ["fusion"], "audit.retrain.0: Input should be 'svc' or 'cnn' (got 'fusion')"),
        ("split", "train", "audit.split: Input should be 'dev' or 'eval' (got 'train')"),
        ("vad", {"top_db": 0}, "audit.vad.top_db: Input should be greater than 0 (got 0)"),
        ("transplant", {"head_ms": 100.0, "sed": 1}, "audit.transplant.sed: unknown key"),
    ],
)
def test_audit_params_are_checked_by_key(raw, key, value, message):
    raw["audit"][key] = value
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "p")
    assert str(err.value) == f"p: {message}"


SMALL_SPLIT = {
    "speakers": 4,
    "genuine": 60,
    "spoof": 60,
    "environments": 2,
    "playback_devices": 3,
    "recorders": 2,
    "replay_configs": 6,
}


def audit_svc_on_synthetic(root: Path, raw: dict, artefact: bool) -> dict:
    """Generate a small corpus, train the SVC on it as train_svc does, and audit it on eval."""
    from deepfake_audio.corpus.manifest import manifest_from_asvspoof2017, screen_audio
    from deepfake_audio.corpus.synthetic import generate_corpus
    from deepfake_audio.features.extract import extract_features
    from deepfake_audio.features.store import read_feature_table
    from deepfake_audio.metrics import dev_threshold
    from deepfake_audio.models.svc import LabelledFeatures, fit_svc_setting, svc_scores
    from deepfake_audio.models.trained import model_scores

    raw["synthetic"].update(
        train=SMALL_SPLIT,
        dev={**SMALL_SPLIT, "genuine": 30, "spoof": 30},
        eval=SMALL_SPLIT,
        phrases=4,
        artefact=artefact,
    )
    params = parse_params(raw)
    generate_corpus(root / "corpus", params.synthetic, sample_rate=SAMPLE_RATE, seed=params.seed, n_jobs=2)
    manifest, _ = screen_audio(manifest_from_asvspoof2017(root / "corpus"), 0.5, "fail", n_jobs=2)
    extract_features(manifest, root / "features", params.analysis_settings, compute=params.compute)
    table = read_feature_table(root / "features")
    train, dev, test = (
        LabelledFeatures.from_table(table[table["split"] == split]) for split in ("train", "dev", "eval")
    )
    model = fit_svc_setting(train, params.train_svc.setting(), params.seed)
    threshold = dev_threshold(dev.labels, svc_scores(model, dev.features))

    audited = manifest[manifest["split"] == "eval"].reset_index(drop=True)
    auditor = Auditor(params)
    speech = auditor.find_speech(audited, None)
    trimmed, transplanted = auditor.trimmed(audited, speech), auditor.transplanted(audited)
    models = {"svc": model}
    return audit_models(
        audited["label"],
        model_scores(models, test.features, None),
        model_scores(models, trimmed.table, None),
        transplanted=model_scores(models, transplanted.table, None),
        thresholds={"svc": threshold},
        settings=params.audit,
    )["svc"]


@pytest.mark.slow
@pytest.mark.parametrize("artefact, risk", [(True, "high"), (False, "low")])
def test_a_model_trained_on_the_planted_artefact_is_flagged_and_one_without_it_is_not(
    tmp_path, raw, artefact, risk
):
    result = audit_svc_on_synthetic(tmp_path, raw, artefact)
    reason = verdict(result, RiskParams(**raw["audit"]["risk"]), raw["audit"]["transplant"]["head_ms"])
    print(reason)
    assert result["shortcut_risk"] == risk, reason


def small_manifest(tmp_path, seconds=(1.2, 1.0, 0.9, 1.1)) -> pd.DataFrame:
    """Files of faint noise with a tone from 0.3 s to 0.3 s before the end, alternately bona fide and spoof."""
    rows = []
    for index, duration in enumerate(seconds):
        signal, _ = silence_tone_silence(0.3, duration - 0.6, 0.3, seed=index)
        path = tmp_path / f"E_{index:02d}.wav"
        sf.write(path, signal, SAMPLE_RATE, subtype="FLOAT")
        rows.append(
            {
                "utt_id": f"E_{index:02d}",
                "path": str(path),
                "split": "eval",
                "label": ("bonafide", "spoof")[index % 2],
                "speaker": "S1",
                "duration_s": duration,
            }
        )
    return pd.DataFrame(rows)


def test_speech_comes_from_annotations_where_given_and_the_vad_elsewhere(tmp_path, raw):
    manifest = small_manifest(tmp_path)
    annotations = pd.DataFrame(
        {"start_s": [0.5, 0.0], "end_s": [0.8, 1.12]}, index=pd.Index(["E_01", "E_03"])
    )
    speech = Auditor(parse_params(raw)).find_speech(manifest, annotations)
    assert speech["found_by"].tolist() == ["vad", "annotation", "vad", "annotation"]
    assert speech.loc[1, ["start_s", "end_s"]].tolist() == [0.5, 0.8]
    assert speech.loc[3, ["start_s", "end_s"]].tolist() == [
        0.0,
        1.1,
    ]  # a little past the end: cut to the file
    for row in (0, 2):
        assert abs(speech.loc[row, "start_s"] - 0.3) <= FRAME / SAMPLE_RATE
        assert abs(speech.loc[row, "end_s"] - (speech.loc[row, "duration_s"] - 0.3)) <= FRAME / SAMPLE_RATE


def test_every_file_may_be_annotated(tmp_path, raw):
    manifest = small_manifest(tmp_path)
    annotations = pd.DataFrame({"start_s": [0.1] * 4, "end_s": [0.7] * 4}, index=pd.Index(manifest["utt_id"]))
    speech = Auditor(parse_params(raw)).find_speech(manifest, annotations)
    assert (speech["found_by"] == "annotation").all() and speech["end_s"].tolist() == [0.7] * 4


@pytest.mark.parametrize(
    "spans, message",
    [
        ({"E_02": (0.1, 1.2)}, "1 annotation(s) end more than 0.05 s after their file, first 'E_02'"),
        (
            {"E_00": (0.5, 0.51), "E_02": (0.88, 0.9)},
            "2 annotation(s) span less than one analysis window (0.025 s) of the file, first 'E_00'",
        ),
        (
            {"X_01": (0.1, 0.5)},
            "none of its 1 utt_ids is a file the audit reads (first 'X_01'); "
            "the ids must be the manifest's utt_id",
        ),
    ],
)
def test_annotations_that_do_not_fit_their_files_are_refused(tmp_path, raw, spans, message):
    raw["audit"]["annotations"] = "speech.csv"
    annotations = pd.DataFrame(spans.values(), columns=["start_s", "end_s"], index=pd.Index(list(spans)))
    with pytest.raises(InputError) as err:
        Auditor(parse_params(raw)).find_speech(small_manifest(tmp_path), annotations)
    assert str(err.value) == f"speech.csv: {message}"


def test_a_transplant_then_trimmed_to_annotated_speech_is_the_trimmed_file(tmp_path, raw):
    """The head lies before the annotated speech, so cutting to the moved span removes exactly it."""
    auditor, manifest = Auditor(parse_params(raw)), small_manifest(tmp_path)
    annotations = pd.DataFrame(
        {"start_s": [0.3, 0.25], "end_s": [0.9, 0.6]}, index=pd.Index(["E_00", "E_01"])
    )
    speech = auditor.find_speech(manifest, annotations)
    trimmed, transplanted = auditor.trimmed(manifest, speech), auditor.transplanted(manifest, speech)
    columns = trimmed.table.columns[4:]
    np.testing.assert_array_equal(trimmed.table.loc[:1, columns], transplanted.table.loc[:1, columns])
    np.testing.assert_array_equal(trimmed.spectrograms[:2], transplanted.spectrograms[:2])


def test_a_split_with_one_class_cannot_be_transplanted(tmp_path, raw):
    manifest = small_manifest(tmp_path).assign(label="spoof")
    with pytest.raises(
        InputError,
        match=r"^audit.split \(eval\): every file is spoof: a transplant needs files "
        r"of both classes$",
    ):
        Auditor(parse_params(raw)).transplanted(manifest)


def test_a_transplant_longer_than_a_file_is_refused_naming_the_key(tmp_path, raw):
    raw["audit"]["transplant"]["head_ms"] = 950.0
    manifest = small_manifest(tmp_path)
    with pytest.raises(InputError) as err:
        Auditor(parse_params(raw)).transplanted(manifest)
    assert str(err.value) == (
        f"audit.transplant.head_ms (950) is longer than {manifest.loc[2, 'path']} (0.9 s); lower it"
    )


def split_corpus(root: Path, per_split: int = 6) -> pd.DataFrame:
    """Train, dev and eval files as ``small_manifest`` makes them, ``per_split`` of each split."""
    seconds = [(1.2, 1.0, 0.9, 1.1)[index % 4] for index in range(per_split)]
    parts = []
    for offset, (split, prefix) in enumerate((("train", "T"), ("dev", "D"), ("eval", "E"))):
        folder = root / split
        folder.mkdir(parents=True)
        part = small_manifest(folder, seconds)
        rename = {f"E_{index:02d}": f"{prefix}_{offset}{index:02d}" for index in range(per_split)}
        parts.append(part.assign(utt_id=part["utt_id"].map(rename), split=split))
    return pd.concat(parts, ignore_index=True)


def audit_project(root: Path, raw: dict, models_dir: Path, *, retrain=("svc", "cnn")) -> tuple:
    """A project at ``root`` (the working directory): manifest, models and evaluate's score files;
    its params retrain ``retrain``, with a CNN small enough to train in seconds."""
    import shutil

    from deepfake_audio import paths

    raw["audit"]["retrain"] = list(retrain)
    raw["train_cnn"].update(arch="simple", filters=[4, 8], epochs=1, batch_size=4, seeds=[1])
    raw["compute"]["n_jobs"] = 1
    params = parse_params(raw)
    manifest = split_corpus(root / "audio")
    paths.MANIFEST.parent.mkdir(parents=True)
    manifest.to_csv(paths.MANIFEST, index=False)
    shutil.copytree(models_dir, paths.MODELS)
    rng = np.random.default_rng(1)
    scored = manifest[manifest["split"].isin(["dev", "eval"])][["utt_id", "split", "label"]]
    paths.SCORES.mkdir(parents=True)
    for name in ("svc", "cnn", "gmm", "fusion"):
        scored.assign(score=rng.standard_normal(len(scored)).round(6)).to_csv(
            paths.scores_file(name), index=False
        )
    return params, manifest


def audit_at_once(params, manifest: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    """The audit as one process computed it before its split into stages: every edit in memory,
    every model scored on it, the models retrained and scored; the speech, the scores of the
    trimmed files (a column per model) and the two reports."""
    from deepfake_audio import paths
    from deepfake_audio.audit.edits import EditedFile
    from deepfake_audio.audit.run import _score_files
    from deepfake_audio.audit.scores import retrain_on_trimmed
    from deepfake_audio.features.frames import card_frames
    from deepfake_audio.models.files import read_card
    from deepfake_audio.models.trained import decision_threshold, load_models, model_path, model_scores
    from deepfake_audio.vocabulary import MODEL_NAMES

    gmm_card = read_card(model_path(paths.MODELS, "gmm"), "gmm")

    def scores(models, extracted, stats, edits=None):
        frames = None
        if "gmm" in models:  # the GMM hears the edited audio as frames
            edited, durations = edits
            frames = card_frames(edited, durations, gmm_card, compute=params.compute, load=EditedFile.load)
        return model_scores(models, extracted.table, extracted.normalized_spectrograms(stats), frames=frames)

    settings = params.audit
    audited = manifest[manifest["split"] == settings.split].reset_index(drop=True)
    models = load_models(paths.MODELS, MODEL_NAMES)
    auditor = Auditor(params)
    speech = auditor.find_speech(manifest, None)
    trimmed = auditor.trimmed(manifest, speech)
    split_speech = speech[speech["split"] == settings.split].reset_index(drop=True)
    assert split_speech["utt_id"].tolist() == audited["utt_id"].tolist()
    cnn_stats = read_card(model_path(paths.MODELS, "cnn"), "cnn").stats
    trimmed_scores = scores(
        models, trimmed.rows(settings.split), cnn_stats, auditor.trimmed_edits(audited, split_speech)
    )
    report = audit_models(
        audited["label"],
        _score_files(audited["utt_id"], settings.split),
        trimmed_scores,
        transplanted=scores(
            models, auditor.transplanted(audited), cnn_stats, auditor.transplanted_edits(audited)
        ),
        thresholds={name: decision_threshold(paths.MODELS, name) for name in MODEL_NAMES},
        settings=settings,
    )
    retrained = {name: retrain_on_trimmed(trimmed, params, name) for name in settings.retrain}
    chosen, stats = {name: model.model for name, model in retrained.items()}, retrained["cnn"].card.stats
    retrained_report = audit_retrained(
        audited["label"],
        scores(chosen, trimmed.rows(settings.split), stats),
        transplanted=scores(chosen, auditor.transplanted(audited, split_speech), stats),
        thresholds={name: model.card.threshold for name, model in retrained.items()},
        settings=settings,
    )
    return speech, trimmed_scores, report, retrained_report


def test_the_three_audit_stages_give_the_numbers_of_the_audit_computed_at_once(
    tmp_path, raw, models_dir, monkeypatch
):
    from deepfake_audio import paths
    from deepfake_audio.audit import figures
    from deepfake_audio.audit.edited import edit_audio, read_extracted
    from deepfake_audio.audit.run import _with_fusion, audit_report
    from deepfake_audio.audit.scores import audit_model
    from deepfake_audio.io import read_json
    from deepfake_audio.models.trained import MODEL_FILES, load_models
    from deepfake_audio.tables import read_table
    from deepfake_audio.vocabulary import FRACTION_DECIMALS

    monkeypatch.chdir(tmp_path)
    params, manifest = audit_project(tmp_path, raw, models_dir)
    edit_audio(params)
    for name in ("svc", "cnn", "gmm"):
        audit_model(name, params)
    audit_report(params)

    speech, trimmed_scores, report, retrained = audit_at_once(params, manifest)
    split_speech = speech[speech["split"] == "eval"].reset_index(drop=True)
    labels = split_speech["label"]
    assert read_json(paths.metrics_file("audit")) == {
        "split": "eval",
        "trim": speech_summary(split_speech),
        "transplant": {
            "head_ms": 100.0,
            "n_bonafide": int((labels == "bonafide").sum()),
            "n_spoof": int((labels == "spoof").sum()),
        },
        **report,
        "retrained": retrained,
    }
    assert list(report) == ["svc", "cnn", "gmm", "fusion"] and list(retrained) == ["svc", "cnn"]
    plots = paths.AUDIT_PLOTS
    expected = {
        "eer.csv": figures.eer_frame(report, retrained).round(FRACTION_DECIMALS),
        "transplant.csv": figures.transplant_frame(report, retrained).round(FRACTION_DECIMALS),
        "speech.csv": speech.round(3),
    }
    for name, frame in expected.items():
        assert (plots / name).read_text() == frame.to_csv(index=False), name
    assert {path.name for path in (plots / "images").iterdir()} == {"audit.png", "speech.png"}
    assert (plots / "verdicts.md").read_text().startswith("# Artefact audit on eval")

    # The edited features are those extracted in memory, and the speech reads back exactly.
    pd.testing.assert_frame_equal(read_table(paths.AUDIT_EDITED / "speech.csv"), speech)
    trimmed = read_extracted("trimmed")
    again = Auditor(params).trimmed(manifest, speech)
    pd.testing.assert_frame_equal(trimmed.table, again.table)
    assert trimmed.spectrograms.dtype == np.float16
    np.testing.assert_array_equal(trimmed.spectrograms, again.spectrograms)
    for name in ("svc", "cnn"):
        assert (paths.trimmed_models_dir(name) / MODEL_FILES[name]).is_file()
        scores = read_table(paths.audit_scores_file(name))
        assert list(scores.columns) == [
            "utt_id",
            "label",
            "trimmed",
            "transplanted",
            "retrained_trimmed",
            "retrained_transplanted",
        ]
        assert scores["utt_id"].tolist() == split_speech["utt_id"].tolist()
        assert scores["trimmed"].tolist() == trimmed_scores[name].tolist()  # exactly, through the CSV
    gmm_scores = read_table(paths.audit_scores_file("gmm"))
    assert list(gmm_scores.columns) == ["utt_id", "label", "trimmed", "transplanted"]
    assert gmm_scores["trimmed"].tolist() == trimmed_scores["gmm"].tolist()
    fused = _with_fusion(
        trimmed_scores[["svc", "cnn", "gmm"]], load_models(paths.MODELS, ["fusion"])["fusion"]
    )
    assert fused["fusion"].tolist() == trimmed_scores["fusion"].tolist()


def test_a_model_not_retrained_gets_an_empty_folder_and_no_retrained_scores(
    tmp_path, raw, models_dir, monkeypatch
):
    from deepfake_audio import paths
    from deepfake_audio.audit.edited import edit_audio
    from deepfake_audio.audit.scores import audit_model
    from deepfake_audio.tables import read_table

    monkeypatch.chdir(tmp_path)
    params, _ = audit_project(tmp_path, raw, models_dir, retrain=())
    edit_audio(params)
    assert sorted(path.name for path in paths.AUDIT_EDITED.iterdir()) == [
        "speech.csv",
        "transplanted",
        "trimmed",
    ]
    assert set(read_table(paths.AUDIT_EDITED / "speech.csv")["split"]) == {"eval"}
    audit_model("svc", params)
    assert list(paths.trimmed_models_dir("svc").iterdir()) == []
    assert list(read_table(paths.audit_scores_file("svc")).columns) == [
        "utt_id",
        "label",
        "trimmed",
        "transplanted",
    ]


def test_an_unknown_model_is_refused_naming_it_and_the_models_audited(raw):
    from deepfake_audio.audit.scores import audit_model

    with pytest.raises(InputError) as err:
        audit_model("fusion", parse_params(raw))
    assert (
        str(err.value)
        == "audit: unknown model 'fusion'; each single model is audited on its own: svc, cnn, gmm"
    )


def test_missing_or_stale_audit_inputs_are_refused_naming_the_file(tmp_path, raw, monkeypatch):
    from deepfake_audio import paths
    from deepfake_audio.audit.edited import read_extracted
    from deepfake_audio.audit.run import audit_report
    from deepfake_audio.audit.scores import audit_model

    monkeypatch.chdir(tmp_path)
    params = parse_params(raw)
    with pytest.raises(InputError) as err:
        audit_model("svc", params)
    assert str(err.value) == (
        "data/audit/edited/trimmed/utterances.csv: not found; "
        "rerun the audit_audio stage (dvc repro audit_audio)"
    )
    edited = paths.AUDIT_EDITED
    (edited / "trimmed").mkdir(parents=True)
    pd.DataFrame(
        {"utt_id": ["E_00", "E_01"], "split": "eval", "label": ["bonafide", "spoof"], "speaker": "S1"}
    ).to_csv(edited / "trimmed" / "utterances.csv", index=False)
    np.save(edited / "trimmed" / "spectrogram.npy", np.zeros((3, 2, 2), dtype=np.float16))
    with pytest.raises(
        InputError,
        match=r"^data/audit/edited/trimmed: spectrogram.npy has 3 rows but "
        r"utterances.csv has 2; rerun the audit_audio stage \(dvc repro audit_audio\)$",
    ):
        read_extracted("trimmed")

    speech = "utt_id,split,label,duration_s,start_s,end_s,found_by\nE_00,eval,bonafide,1.0,0.1,0.9,vad\n"
    (edited / "speech.csv").write_text(speech)
    paths.audit_scores_file("svc").parent.mkdir(parents=True)
    paths.audit_scores_file("svc").write_text("utt_id,label,trimmed,transplanted\nE_01,bonafide,0.5,0.5\n")
    with pytest.raises(InputError) as err:
        audit_report(params)
    assert str(err.value) == (
        "data/audit/scores/svc.csv: missing column(s) retrained_trimmed, retrained_transplanted; "
        "rerun the audit@svc stage (dvc repro audit@svc)"
    )
    raw["audit"]["retrain"] = []
    with pytest.raises(InputError) as err:
        audit_report(parse_params(raw))
    assert str(err.value) == (
        "data/audit/scores/svc.csv: its utterances are not the audited ones of data/audit/edited; "
        "rerun the audit@svc stage (dvc repro audit@svc)"
    )
