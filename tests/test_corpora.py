"""The local copies of real corpora (ASVspoof 2019 LA/PA, 2021 LA/DF, In-the-Wild, ASVspoof 5):
verified in place at ``download``, parsed into the manifest at ``prepare``; tiny copies of each
layout stand in for the real ones, their counts put in place of the published ones."""

import json
import runpy
import typing

import pandas as pd
import pytest
import yaml
from corpus_fixtures import (
    write_asvspoof5,
    write_asvspoof2019,
    write_asvspoof2021,
    write_audio,
    write_in_the_wild,
)
from helpers import PROJECT

from deepfake_audio.corpus import asvspoof5, asvspoof2019, asvspoof2021, in_the_wild, local_copy
from deepfake_audio.corpus.asvspoof2017 import ProtocolError
from deepfake_audio.corpus.manifest import COLUMNS, CorpusError, screen_audio
from deepfake_audio.corpus.sources import (
    SOURCES,
    acquire_corpus,
    check_main_source,
    corpus_location,
    list_corpus,
    splits_of,
)
from deepfake_audio.errors import InputError
from deepfake_audio.params import DataParams, ParamsError, SpeakerSplit, load_params, parse_params


def params_for(source, root, speaker_split=None):
    """The project's params with ``data`` naming a local copy (as cross-corpus evaluation builds them)."""
    params = load_params(PROJECT / "params.yaml")
    return params.model_copy(
        update={
            "data": DataParams(source=source, root=str(root), speaker_split=speaker_split),
            "compute": params.compute.model_copy(update={"n_jobs": 1}),
        }
    )


def prepared(params):
    """What ``prepare`` makes of the corpus: checked, listed and screened."""
    acquire_corpus(params)
    manifest, rejected = screen_audio(list_corpus(params), 0.1, "fail", n_jobs=1)
    assert rejected == []
    return manifest


def run_stages(folder, monkeypatch, data, *stages):
    """Run stages in ``folder`` in this process (so the tests' published counts hold), with
    params.yaml's ``data`` section updated."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["data"].update(data)
    params["compute"]["n_jobs"] = 1
    params["prepare"]["min_duration_s"] = 0.1  # the fixtures' files are short
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(folder)
    for stage in stages:
        runpy.run_path(str(PROJECT / "stages" / f"{stage}.py"), run_name="stage")["main"]()


# -- the registry and params ----------------------------------------------------------------


def test_every_source_params_accept_has_one_registry_entry():
    sources = typing.get_args(DataParams.model_fields["source"].annotation)
    assert set(sources) == set(SOURCES)


@pytest.mark.parametrize("source", ["asvspoof2019_la", "asvspoof2021_df", "in_the_wild", "asvspoof5"])
def test_a_local_copy_needs_its_root(source):
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    raw["data"]["source"] = source
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "params.yaml")
    assert str(err.value) == (
        f"params.yaml: data: root is required for source {source}: set data.root to the folder "
        "of the local copy (docs/corpora.md)"
    )


def test_a_root_that_is_no_folder_is_named(tmp_path):
    params = params_for("asvspoof2019_la", tmp_path / "nowhere")
    with pytest.raises(
        CorpusError, match=r"nowhere: data.root is not a folder \(the local copy of asvspoof2019_la\)$"
    ):
        acquire_corpus(params)


def test_the_speaker_split_is_for_in_the_wild_and_leaves_a_train_split():
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    raw["data"].update(source="asvspoof5", root="/data/asvspoof5", speaker_split={"dev": 0.2, "eval": 0.2})
    with pytest.raises(ParamsError, match=r"^p: data: speaker_split is used with source in_the_wild only"):
        parse_params(raw, "p")
    raw["data"].update(source="in_the_wild", speaker_split={"dev": 0.5, "eval": 0.5})
    with pytest.raises(ParamsError, match=r"^p: data.speaker_split: dev \+ eval \(0.5 \+ 0.5\) must leave"):
        parse_params(raw, "p")
    raw["data"]["speaker_split"] = {"dev": 0.2, "eval": 0.25}
    assert parse_params(raw, "p").data.speaker_split == SpeakerSplit(dev=0.2, eval=0.25)


# -- ASVspoof 2019 ----------------------------------------------------------------------------


@pytest.fixture
def la2019(tmp_path, monkeypatch):
    root = tmp_path / "LA"
    monkeypatch.setitem(asvspoof2019.PUBLISHED_COUNTS, "LA", write_asvspoof2019(root, "LA"))
    return root


@pytest.mark.parametrize("track", ["LA", "PA"])
def test_asvspoof2019_goes_through_download_and_prepare(tmp_path, monkeypatch, track):
    root = tmp_path / track
    monkeypatch.setitem(asvspoof2019.PUBLISHED_COUNTS, track, write_asvspoof2019(root, track))
    run_stages(
        tmp_path,
        monkeypatch,
        {"source": f"asvspoof2019_{track.lower()}", "root": str(root)},
        "download",
        "prepare",
    )
    assert json.loads((tmp_path / "data" / "raw" / "source.json").read_text())["splits"] == [
        "train",
        "dev",
        "eval",
    ]
    manifest = pd.read_csv(tmp_path / "data" / "prepared" / "manifest.csv", dtype=str, keep_default_na=False)
    assert list(manifest.columns) == COLUMNS
    assert len(manifest) == 15  # the enrolment files are not CM trials
    assert not manifest["utt_id"].str.contains("_A2").any()
    first, spoof = manifest.iloc[0], manifest.iloc[2]
    assert first["utt_id"] == f"{track}_T_1000001" and first["label"] == "bonafide"
    assert first["condition"] == first["attack"] == "-" and first["speaker"] == f"{track}_0010"
    assert first["path"].endswith(f"ASVspoof2019_{track}_train/flac/{track}_T_1000001.flac")
    assert spoof["label"] == "spoof" and spoof["condition"] == spoof["attack"]
    expected_attacks = {"LA": ["A01", "A02", "A07", "A19"], "PA": ["AA", "AB", "BA", "BC", "CA", "CC"]}
    assert sorted(set(manifest["attack"]) - {"-"}) == expected_attacks[track]
    assert set(manifest["environment"]) == ({"aaa", "abc", "cba"} if track == "PA" else {"-"})
    assert set(manifest[["phrase", "playback", "recorder"]].stack()) == {"-"}
    assert manifest["sample_rate"].eq("16000").all()
    data = json.loads((tmp_path / "metrics" / "data.json").read_text())
    assert data["eval"]["n_bonafide"] == 2 and data["eval"]["n_spoof"] == 3


def test_asvspoof2019_counts_are_checked_against_the_published_ones(tmp_path):
    root = tmp_path / "LA"
    write_asvspoof2019(root, "LA")
    with pytest.raises(CorpusError) as err:
        acquire_corpus(params_for("asvspoof2019_la", root))
    assert str(err.value) == (
        f"{root}: train has 2 bona fide and 3 spoof files; the published ASVspoof 2019 LA train "
        "has 2,580 and 22,800 (Wang et al., ASVspoof 2019 database, Computer Speech & Language 64, 2020)"
    )


def test_the_published_tables_hold_the_organisers_numbers():
    assert asvspoof2019.PUBLISHED_COUNTS == {
        "LA": {"train": (2580, 22800), "dev": (2548, 22296), "eval": (7355, 63882)},
        "PA": {"train": (5400, 48600), "dev": (5400, 24300), "eval": (18090, 116640)},
    }
    assert asvspoof5.PUBLISHED_COUNTS == {
        "train": (18797, 163560),
        "dev": (31334, 109616),
        "eval": (138688, 542086),
    }
    # the ASVspoof 5 README's line counts of the three protocols
    assert [sum(counts) for counts in asvspoof5.PUBLISHED_COUNTS.values()] == [182357, 140950, 680774]
    assert asvspoof2021.PUBLISHED_COUNTS == {"LA": {"eval": (18452, 163114)}, "DF": {"eval": (22617, 589212)}}
    assert in_the_wild.PUBLISHED_COUNTS == {"release": (19963, 11816)}


def protocol(root, split="train"):
    return asvspoof2019.protocol_path(root, "LA", split)


def spoil_line(path, number, text):
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "LA_0010 LA_T_1000002 - bonafide",
            "expected 5 space-separated fields (SPEAKER_ID AUDIO_FILE_NAME - SYSTEM_ID KEY), "
            "got 4: 'LA_0010 LA_T_1000002 - bonafide'",
        ),
        ("LA_0010 LA_T_1000002 - - genuine", "KEY must be one of bonafide, spoof, got 'genuine'"),
        ("LA_0010 LA_T_1000002 - A01 bonafide", "SYSTEM_ID must be '-' for a bonafide row, got 'A01'"),
        ("LA_0010 LA_T_1000002 - A20 spoof", "SYSTEM_ID must be A01-A19 for a spoof row, got 'A20'"),
        ("LA_0010 LA_T_1000002 aaa - bonafide", "the third field is '-' in LA protocols, got 'aaa'"),
        ("LA_0010 LA_T_1000001 - - bonafide", "LA_T_1000001 already listed on line 1"),
    ],
)
def test_a_malformed_protocol_line_is_named_with_its_line(la2019, line, message):
    spoil_line(protocol(la2019), 2, line)
    with pytest.raises(ProtocolError) as err:
        asvspoof2019.manifest(la2019, ("train",), track="LA")
    assert str(err.value) == f"{protocol(la2019)}:2: {message}"
    assert isinstance(err.value, InputError)


def test_a_pa_protocol_line_is_checked_as_pa(tmp_path):
    root = tmp_path / "PA"
    write_asvspoof2019(root, "PA")
    path = asvspoof2019.protocol_path(root, "PA", "dev")
    spoil_line(path, 4, "PA_0010 PA_D_1000004 abd AB spoof")
    with pytest.raises(
        ProtocolError, match=r"PA.cm.dev.trl.txt:4: ENVIRONMENT_ID must be three letters a-c, got 'abd'$"
    ):
        asvspoof2019.manifest(root, ("dev",), track="PA")
    spoil_line(path, 4, "PA_0010 PA_D_1000004 abc A01 spoof")
    with pytest.raises(ProtocolError, match=r":4: ATTACK_ID must be AA-CC for a spoof row, got 'A01'$"):
        asvspoof2019.manifest(root, ("dev",), track="PA")


def test_missing_and_unlisted_audio_files_are_named(la2019):
    folder = asvspoof2019.audio_dir(la2019, "LA", "dev")
    (folder / "LA_D_1000003.flac").unlink()
    with pytest.raises(CorpusError) as err:
        acquire_corpus(params_for("asvspoof2019_la", la2019))
    assert str(err.value) == f"{folder}: protocol rows without an audio file (1): LA_D_1000003.flac"
    write_audio(folder / "LA_D_1000003.flac", 0)
    write_audio(folder / "LA_D_1000099.flac", 0)
    write_audio(folder / "LA_D_1000098.flac", 0)
    with pytest.raises(CorpusError) as err:
        list_corpus(params_for("asvspoof2019_la", la2019))
    assert (
        str(err.value)
        == f"{folder}: audio files not in the protocol (2): LA_D_1000098.flac, LA_D_1000099.flac"
    )


def test_enrolment_files_are_accepted_only_when_listed(la2019):
    listed = la2019 / "ASVspoof2019_LA_asv_protocols" / "ASVspoof2019.LA.asv.eval.female.trn.txt"
    listed.unlink()
    folder = asvspoof2019.audio_dir(la2019, "LA", "eval")
    with pytest.raises(
        CorpusError, match=rf"^{folder}: audio files not in the protocol \(1\): LA_E_A2000001.flac$"
    ):
        acquire_corpus(params_for("asvspoof2019_la", la2019))


def test_an_unreadable_header_is_named(la2019):
    bad = asvspoof2019.audio_dir(la2019, "LA", "eval") / "LA_E_1000004.flac"
    bad.write_bytes(b"fLaC but not really")
    (asvspoof2019.audio_dir(la2019, "LA", "train") / "LA_T_1000001.flac").write_bytes(b"")
    with pytest.raises(CorpusError) as err:
        acquire_corpus(params_for("asvspoof2019_la", la2019))
    message = str(err.value)
    assert message.startswith(f"{la2019}: unreadable audio (2): LA_T_1000001.flac (")
    assert ", LA_E_1000004.flac (" in message


# -- ASVspoof 2021: evaluation data only ------------------------------------------------------


@pytest.mark.parametrize("track", ["LA", "DF"])
def test_asvspoof2021_is_listed_for_cross_corpus_evaluation(tmp_path, monkeypatch, track):
    root = tmp_path / "2021"
    monkeypatch.setitem(asvspoof2021.PUBLISHED_COUNTS, track, write_asvspoof2021(root, track))
    params = params_for(f"asvspoof2021_{track.lower()}", root)
    assert splits_of(params) == ("eval",) and corpus_location(params) == str(root)
    manifest = prepared(params)
    # the whole release is checked; the eval subset is what is scored
    assert manifest["utt_id"].tolist() == [f"{track}_E_300000{n}" for n in (1, 2, 3, 4)]
    assert manifest["split"].unique().tolist() == ["eval"]
    assert manifest["label"].tolist() == ["bonafide", "bonafide", "spoof", "spoof"]
    assert manifest["attack"].tolist() == manifest["condition"].tolist() == ["-", "-", "A07", "A19"]
    environments = {"LA": ["none_loc_tx", "alaw_ita_tx"] * 2, "DF": ["nocodec", "low_mp3"] * 2}
    assert manifest["environment"].tolist() == environments[track]


@pytest.mark.parametrize("track", ["LA", "DF"])
def test_asvspoof2021_cannot_be_the_main_corpus(tmp_path, monkeypatch, track):
    root = tmp_path / "2021"
    monkeypatch.setitem(asvspoof2021.PUBLISHED_COUNTS, track, write_asvspoof2021(root, track))
    source = f"asvspoof2021_{track.lower()}"
    expected = (
        f"data.source: {source} is evaluation data only (no train or dev split), so it cannot be the "
        f"main corpus: train on asvspoof2019_la and list {source} in evaluate.cross for cross-corpus evaluation"
    )
    with pytest.raises(ParamsError) as err:
        check_main_source(params_for(source, root))
    assert str(err.value) == expected
    with pytest.raises(ParamsError) as err:
        run_stages(tmp_path, monkeypatch, {"source": source, "root": str(root)}, "download")
    assert str(err.value) == expected
    assert not (tmp_path / "data").exists()


def test_asvspoof2021_counts_cover_the_whole_release(tmp_path):
    root = tmp_path / "2021"
    write_asvspoof2021(root, "DF")
    with pytest.raises(CorpusError) as err:
        acquire_corpus(params_for("asvspoof2021_df", root))
    assert str(err.value) == (
        f"{root}: eval has 3 bona fide and 3 spoof files; the published ASVspoof 2021 DF eval has "
        "22,617 and 589,212 (ASVspoof 2021 keys, trial_metadata.txt (all subsets))"
    )


def test_asvspoof2021_key_lines_are_checked(tmp_path):
    root = tmp_path / "2021"
    write_asvspoof2021(root, "LA")
    keys = asvspoof2021.keys_path(root, "LA")
    spoil_line(keys, 3, "LA_0020 LA_E_3000003 none loc_tx A07 spoof notrim final")
    with pytest.raises(
        ProtocolError,
        match=r"trial_metadata.txt:3: SUBSET must be one of progress, eval, hidden, got 'final'$",
    ):
        list_corpus(params_for("asvspoof2021_la", root))
    spoil_line(keys, 3, "LA_0020 LA_E_3000003 none A07 spoof notrim eval")
    with pytest.raises(ProtocolError) as err:
        list_corpus(params_for("asvspoof2021_la", root))
    assert str(err.value) == (
        f"{keys}:3: expected 8 space-separated fields (SPEAKER TRIAL CODEC TRANSMISSION ATTACK KEY TRIM "
        "SUBSET), got 7: 'LA_0020 LA_E_3000003 none A07 spoof notrim eval'"
    )
    spoil_line(keys, 3, "LA_0020 LA_E_3000003 none loc_tx - spoof notrim eval")
    with pytest.raises(ProtocolError, match=r":3: ATTACK must name the attack of a spoof row, got '-'$"):
        list_corpus(params_for("asvspoof2021_la", root))


# -- In-the-Wild ------------------------------------------------------------------------------


@pytest.fixture
def wild(tmp_path, monkeypatch):
    counts = write_in_the_wild(tmp_path)
    monkeypatch.setattr(in_the_wild, "PUBLISHED_COUNTS", counts)
    return tmp_path  # data.root may be the folder holding release_in_the_wild


def test_in_the_wild_without_a_split_is_all_eval_and_no_main_corpus(wild):
    params = params_for("in_the_wild", wild)
    manifest = prepared(params)
    assert splits_of(params) == ("eval",)
    assert len(manifest) == 28 and set(manifest["split"]) == {"eval"}
    assert manifest.iloc[0][["utt_id", "speaker", "label", "attack"]].tolist() == [
        "0",
        "Alec Guinness",
        "bonafide",
        "-",
    ]
    assert manifest.iloc[3]["label"] == "spoof"
    assert manifest["path"].iloc[-1].endswith("release_in_the_wild/27.wav")
    with pytest.raises(ParamsError) as err:
        check_main_source(params)
    assert str(err.value) == (
        "data.speaker_split: in_the_wild publishes no split; set data.speaker_split (e.g. {dev: 0.2, "
        "eval: 0.2}) to train on it, or list it in evaluate.cross for cross-corpus evaluation"
    )


def test_in_the_wild_speaker_split_is_speaker_disjoint_and_deterministic(wild, monkeypatch):
    speaker_split = SpeakerSplit(dev=0.2, eval=0.25)
    params = params_for("in_the_wild", wild / "release_in_the_wild", speaker_split)
    check_main_source(params)  # a split corpus can be the main one
    assert splits_of(params) == ("train", "dev", "eval")
    first = prepared(params)
    speakers = first.groupby("split")["speaker"].unique()
    assert set(speakers["train"]).isdisjoint(speakers["dev"])
    assert set(speakers["train"]).isdisjoint(speakers["eval"])
    assert set(speakers["dev"]).isdisjoint(speakers["eval"])
    share = first["split"].value_counts() / len(first)
    assert share["eval"] >= 0.25 and share["dev"] >= 0.2 and share["train"] > 0
    assert first.equals(prepared(params))
    # the split depends on the speakers' names, not on the order of meta.csv
    rows = in_the_wild.parse_meta(wild / "release_in_the_wild" / "meta.csv")
    assert in_the_wild.split_speakers(rows[::-1], speaker_split) == in_the_wild.split_speakers(
        rows, speaker_split
    )
    assert first.set_index("utt_id")["split"].to_dict() == {
        row["utt_id"]: in_the_wild.split_speakers(rows, speaker_split)[row["speaker"]] for row in rows
    }


def test_in_the_wild_goes_through_download_and_prepare(wild, monkeypatch):
    data = {"source": "in_the_wild", "root": str(wild), "speaker_split": {"dev": 0.2, "eval": 0.2}}
    run_stages(wild, monkeypatch, data, "download", "prepare")
    summary = json.loads((wild / "metrics" / "data.json").read_text())
    assert sum(summary[split]["n_utterances"] for split in ("train", "dev", "eval")) == 28


def test_in_the_wild_counts_and_meta_lines_are_checked(wild, monkeypatch):
    monkeypatch.setattr(in_the_wild, "PUBLISHED_COUNTS", {"release": (19963, 11816)})
    with pytest.raises(CorpusError) as err:
        acquire_corpus(params_for("in_the_wild", wild))
    assert str(err.value) == (
        f"{wild}: release has 15 bona fide and 13 spoof files; the published In-the-Wild release has "
        "19,963 and 11,816 (Müller et al., Interspeech 2022, In-the-Wild release)"
    )
    meta = wild / "release_in_the_wild" / "meta.csv"
    spoil_line(meta, 3, "1.wav,Alec Guinness,fake")
    with pytest.raises(
        ProtocolError, match=r"meta.csv:3: label must be one of bona-fide, spoof, got 'fake'$"
    ):
        list_corpus(params_for("in_the_wild", wild))
    spoil_line(meta, 3, "1.wav,Alec Guinness")
    with pytest.raises(ProtocolError) as err:
        list_corpus(params_for("in_the_wild", wild))
    assert (
        str(err.value)
        == f"{meta}:3: expected 3 comma-separated fields (file speaker label), got 2: '1.wav,Alec Guinness'"
    )
    spoil_line(meta, 3, "0.wav,Alec Guinness,bona-fide")
    with pytest.raises(ProtocolError, match=r"meta.csv:3: 0.wav already listed on line 2$"):
        list_corpus(params_for("in_the_wild", wild))


# -- ASVspoof 5 -------------------------------------------------------------------------------


@pytest.fixture
def five(tmp_path, monkeypatch):
    root = tmp_path / "asvspoof5"
    monkeypatch.setattr(asvspoof5, "PUBLISHED_COUNTS", write_asvspoof5(root))
    return root


def test_asvspoof5_is_verified_and_listed(five):
    manifest = prepared(params_for("asvspoof5", five))
    assert len(manifest) == 12  # the enrolment files are not track-1 trials
    assert manifest["split"].tolist() == ["train"] * 4 + ["dev"] * 4 + ["eval"] * 4
    dev = manifest[manifest["split"] == "dev"]
    assert dev["utt_id"].tolist() == [f"D_{n:010d}" for n in range(4)]
    assert dev["attack"].tolist() == dev["condition"].tolist() == ["-", "-", "A13", "A14"]
    assert dev["environment"].tolist() == ["-", "C05", "-", "C05"]
    assert dev["speaker"].tolist() == ["D_4850", "D_4851"] * 2
    assert manifest["path"].iloc[-1].endswith("flac_E_eval/E_0000000003.flac")


def test_asvspoof5_protocol_lines_are_checked(five):
    path = asvspoof5.protocol_path(five, "eval")
    spoil_line(path, 2, "E_4851 E_0000000001 M - - - - bonafide bonafide")
    with pytest.raises(ProtocolError) as err:
        list_corpus(params_for("asvspoof5", five))
    assert str(err.value) == (
        f"{path}:2: expected 10 space-separated fields (SPEAKER_ID FLAC_FILE_NAME SPEAKER_GENDER CODEC "
        "CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP), got 9: "
        "'E_4851 E_0000000001 M - - - - bonafide bonafide'"
    )
    spoil_line(path, 2, "E_4851 E_0000000001 M - - - AC1 A11 bonafide -")
    with pytest.raises(
        ProtocolError,
        match=r":2: ATTACK_LABEL must be bonafide for a bonafide row .* got 'A11' with KEY bonafide$",
    ):
        list_corpus(params_for("asvspoof5", five))


def test_asvspoof5_counts_name_the_published_numbers(five, monkeypatch):
    counts = dict(asvspoof5.PUBLISHED_COUNTS, dev=(31334, 109616))
    monkeypatch.setattr(asvspoof5, "PUBLISHED_COUNTS", counts)
    with pytest.raises(CorpusError) as err:
        acquire_corpus(params_for("asvspoof5", five))
    assert str(err.value) == (
        f"{five}: dev has 2 bona fide and 2 spoof files; the published ASVspoof 5 dev has 31,334 and "
        "109,616 (ASVspoof 5 README.txt (totals) and Wang et al., arXiv:2502.08857)"
    )


def test_a_protocol_lists_something(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ProtocolError, match=r"empty.txt: protocol file lists no utterances$"):
        local_copy.protocol_lines(empty, ("A", "B"))
    with pytest.raises(ProtocolError, match=r"absent.txt: protocol file not found$"):
        local_copy.protocol_lines(tmp_path / "absent.txt", ("A", "B"))
