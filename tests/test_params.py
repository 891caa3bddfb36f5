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
    with pytest.raises(ParamsError, match=r"synthetic: snr_db must be \[low, high\]"):
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
    with pytest.raises(ParamsError, match=r"^p: synthetic.dev: speakers \(6\) exceeds genuine \(5\)"):
        parse_params(raw, "p")


def test_the_synthetic_corpus_has_no_root(raw):
    raw["data"]["root"] = "/data/ASVspoof2017"
    with pytest.raises(ParamsError, match=r"^p: data: root must be null for the synthetic corpus"):
        parse_params(raw, "p")


def test_project_feature_params_load(raw):
    features = load_params(PROJECT_PARAMS).features
    assert features.handcrafted.band_edges_hz == (0.0, 500.0, 1000.0, 2000.0, 4000.0, 6000.0, 8000.0)
    assert features.spectrogram.kind in ("mel", "linear")
    raw["features"]["n_mfcc"] = 20  # the flat layout before handcrafted/spectrogram
    with pytest.raises(ParamsError, match=r"^p: features.n_mfcc: unknown key$"):
        parse_params(raw, "p")


def test_band_edges_must_fit_the_sample_rate(raw):
    raw["data"]["sample_rate"] = 12000
    with pytest.raises(ParamsError, match=r"^p: features.handcrafted.band_edges_hz: the top edge "
                                          r"\(8000\) exceeds half of data.sample_rate \(6000 Hz\)$"):
        parse_params(raw, "p")
    raw["features"]["handcrafted"]["band_energy"] = False  # the edges matter only for band energies
    assert parse_params(raw).data.sample_rate == 12000


@pytest.mark.parametrize("edges", [[0, 500, 500, 1000], [1000, 500], [-100, 500]])
def test_band_edges_must_increase(raw, edges):
    raw["features"]["handcrafted"]["band_edges_hz"] = edges
    with pytest.raises(ParamsError, match=r"^p: features.handcrafted: band_edges_hz must be "
                                          r"non-negative and strictly increasing, got \["):
        parse_params(raw, "p")


def test_the_gradcam_band_must_lie_below_nyquist(raw):
    raw["explain"]["gradcam"]["above_hz"] = 8000
    with pytest.raises(ParamsError, match=r"^p: explain.gradcam.above_hz \(8000\) must be below half of "
                                          r"data.sample_rate \(8000 Hz\)$"):
        parse_params(raw, "p")


def test_explain_params_are_checked_by_key(raw):
    raw["explain"]["shap"]["backgrounds"] = 10
    raw["explain"]["split"] = "train"
    message = str(pytest.raises(ParamsError, parse_params, raw, "p").value).splitlines()
    assert "p: explain.shap.backgrounds: unknown key" in message
    assert any(line.startswith("p: explain.split: Input should be 'dev' or 'eval'") for line in message)


def test_the_cqt_needs_an_octave_below_nyquist(raw):
    raw["features"]["handcrafted"]["cqt_fmin"] = 5000.0
    with pytest.raises(ParamsError, match=r"^p: features.handcrafted.cqt_fmin \(5000\) leaves no "
                                          r"whole octave below half of data.sample_rate \(8000 Hz\)$"):
        parse_params(raw, "p")


@pytest.mark.parametrize("changes, message", [
    ({"mfcc": False, "lfcc": False, "cqcc": False, "spectral": False, "band_energy": False},
     r"switch on at least one of mfcc, lfcc, cqcc, spectral, band_energy"),
    ({"n_cepstra": 80}, r"n_cepstra \(80\) must not exceed n_mels \(64\)"),
    ({"n_cepstra": 30, "n_mels": 40, "n_linear": 24}, r"n_cepstra \(30\) must not exceed n_linear \(24\)"),
])
def test_handcrafted_families_are_checked(raw, changes, message):
    raw["features"]["handcrafted"].update(changes)
    with pytest.raises(ParamsError, match=rf"^p: features.handcrafted: {message}$"):
        parse_params(raw, "p")


def test_feature_window_and_choices_are_checked(raw):
    raw["features"]["win_length"] = 600
    with pytest.raises(ParamsError, match=r"^p: features: win_length \(600\) must not exceed "
                                          r"n_fft \(512\)$"):
        parse_params(raw, "p")
    raw["features"]["win_length"] = 400
    raw["features"]["spectrogram"]["normalize"] = "per_bin"
    with pytest.raises(ParamsError, match=r"^p: features.spectrogram.normalize: Input should be 'utterance', "
                                          r"'global' or 'none'"):
        parse_params(raw, "p")


def test_cnn_filters_must_be_positive(raw):
    raw["train_cnn"]["filters"] = [16, 0]
    with pytest.raises(ParamsError, match=r"^p: train_cnn.filters.1: Input should be greater than 0"):
        parse_params(raw, "p")


def test_custom_source_needs_its_csv(raw):
    raw["data"]["source"] = "custom"
    with pytest.raises(ParamsError, match=r"^p: data: protocol \(a CSV of path, label, split\) "
                                          r"is required for source custom and only used there$"):
        parse_params(raw, "p")
    raw["data"]["protocol"] = "mine.csv"
    assert parse_params(raw).data.protocol == "mine.csv"


@pytest.mark.parametrize("grid, method, reason", [
    ({"Cee": [1.0]}, "dev", "search.grid.Cee: not an SVC setting (one of pca_components, kernel, C, gamma, "
                            "class_weight)"),
    ({"C": [1.0, -2.0]}, "dev", "search.grid.C: -2.0 is not valid: Input should be greater than 0"),
    ({"pca_components": [1.5]}, "cv", "search.grid.pca_components: 1.5 is not valid: "
                                      "pca_components must be an integer or a fraction in (0, 1), got 1.5"),
    ({"C": []}, "dev", "search.grid.C: give at least one value"),
])
def test_svc_grid_is_checked_value_by_value(raw, grid, method, reason):
    raw["train_svc"]["search"] = {"method": method, "grid": grid}
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "params.yaml")
    assert str(err.value) == f"params.yaml: train_svc: {reason}"


def test_svc_grid_values_keep_their_types(raw):
    raw["train_svc"]["search"] = {"method": "dev", "grid": {"gamma": ["scale", 0.01], "C": [1, 10]}}
    params = parse_params(raw).train_svc
    assert params.setting(gamma=0.01, C=10).model_dump() == {
        "pca_components": None, "kernel": "rbf", "C": 10.0, "gamma": 0.01, "class_weight": "balanced"}


def test_each_band_must_hold_an_fft_bin(raw):
    raw["features"]["handcrafted"]["band_edges_hz"] = [0, 4010, 4020, 8000]  # bins are 31.25 Hz apart
    with pytest.raises(ParamsError, match=r"^p: features.handcrafted.band_edges_hz: the band 4010-4020 Hz "
                                          r"holds no FFT bin \(bins are 31.25 Hz apart with features.n_fft\)$"):
        parse_params(raw, "p")
    raw["features"]["handcrafted"]["band_edges_hz"] = [0, 4000, 4010, 8000]  # the bin at 4000 Hz
    assert parse_params(raw).features.handcrafted.band_edges_hz[2] == 4010.0


def test_cqcc_needs_enough_resampled_points_for_its_coefficients(raw):
    raw["features"]["handcrafted"]["cqt_fmin"] = 4000.0  # one octave: 15 points for 20 coefficients
    with pytest.raises(ParamsError, match=r"^p: features.handcrafted.cqt_fmin \(4000\): the constant-Q range up "
                                          r"to 8000 Hz resamples to 15 points, fewer than n_cepstra \(20\)"):
        parse_params(raw, "p")
    raw["features"]["handcrafted"]["n_cepstra"] = 15
    assert parse_params(raw).features.handcrafted.n_cepstra == 15
