from pathlib import Path

import pytest
import yaml

from deepfake_audio.params import ParamsError, load_params, parse_params

PROJECT_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


@pytest.fixture
def raw():
    return yaml.safe_load(PROJECT_PARAMS.read_text())


def test_project_params_load_into_typed_sections():
    params = load_params(PROJECT_PARAMS)
    assert params.data.source == "synthetic"
    assert params.data.corpus_dir == Path("data/raw/synthetic")
    assert params.train_cnn.filters == (16, 32, 64)
    assert params.synthetic.split("eval").spoof > 0
    assert isinstance(params.train_svc.C, float)


def test_unknown_key_is_named(raw):
    raw["train_svc"]["gama"] = 0.1
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "params.yaml")
    assert str(err.value) == "params.yaml: train_svc.gama: unknown key"


def test_unknown_section_is_named(raw):
    raw["trian_cnn"] = {}
    with pytest.raises(ParamsError, match=r"^params.yaml: trian_cnn: unknown key$"):
        parse_params(raw, "params.yaml")


def test_wrong_type_names_key_and_value(raw):
    raw["train_cnn"]["epochs"] = "ten"
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "params.yaml")
    assert str(err.value) == (
        "params.yaml: train_cnn.epochs: Input should be a valid integer (got 'ten')")


def test_int_where_float_expected_is_accepted(raw):
    raw["train_svc"]["C"] = 10
    assert parse_params(raw).train_svc.C == 10.0


def test_out_of_range_and_bad_choice(raw):
    raw["train_cnn"]["dropout"] = 1.5
    raw["data"]["source"] = "asvspoof2019"
    message = str(pytest.raises(ParamsError, parse_params, raw, "p").value).splitlines()
    assert message[0].startswith("p: data.source: Input should be 'synthetic', 'asvspoof2017' or 'custom'")
    assert message[1].startswith("p: train_cnn.dropout: Input should be less than 1")


def test_missing_required_section(raw):
    del raw["synthetic"]
    with pytest.raises(ParamsError, match=r"^p: synthetic: required key is missing$"):
        parse_params(raw, "p")


def test_reversed_range_is_refused(raw):
    raw["synthetic"]["snr_db"] = [30, 10]
    with pytest.raises(ParamsError, match=r"synthetic: Value error, snr_db must be \[low, high\]"):
        parse_params(raw, "p")


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ParamsError, match=r"nope.yaml: file not found$"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ParamsError, match=r"bad.yaml: expected a mapping of sections, got list"):
        load_params(bad)


def test_a_split_with_more_speakers_than_files_is_refused(raw):
    raw["synthetic"]["dev"].update(speakers=6, genuine=5, spoof=20)
    with pytest.raises(ParamsError, match=r"^p: synthetic.dev: Value error, speakers \(6\) exceeds genuine \(5\)"):
        parse_params(raw, "p")


def test_the_synthetic_corpus_has_no_root(raw):
    raw["data"]["root"] = "/data/ASVspoof2017"
    with pytest.raises(ParamsError, match=r"^p: data: Value error, root must be null for the synthetic corpus"):
        parse_params(raw, "p")


def test_mel_range_must_fit_the_sample_rate(raw):
    raw["features"]["fmax"] = 9000.0
    raw["data"]["sample_rate"] = 16000
    with pytest.raises(ParamsError, match=r"^p: Value error, features.fmax \(9000.0\) exceeds half of "
                                          r"data.sample_rate \(8000 Hz\)$"):
        parse_params(raw, "p")
    raw["features"].update(fmin=4000.0, fmax=3000.0)
    with pytest.raises(ParamsError, match=r"^p: features: Value error, fmax \(3000.0\) must exceed fmin"):
        parse_params(raw, "p")


def test_cnn_filters_must_be_positive(raw):
    raw["train_cnn"]["filters"] = [16, 0]
    with pytest.raises(ParamsError, match=r"^p: train_cnn.filters.1: Input should be greater than 0"):
        parse_params(raw, "p")


def test_custom_source_needs_its_csv(raw):
    raw["data"]["source"] = "custom"
    with pytest.raises(ParamsError, match=r"^p: data: Value error, protocol \(a CSV of path, label, split\) "
                                          r"is required for source custom and only used there$"):
        parse_params(raw, "p")
    raw["data"]["protocol"] = "mine.csv"
    assert parse_params(raw).data.protocol == "mine.csv"
