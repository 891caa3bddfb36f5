import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from deepfake_audio.params import Params, ParamsError, load_params, parse_params

PROJECT = Path(__file__).resolve().parents[1]
PROJECT_PARAMS = PROJECT / "params.yaml"


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
    assert str(err.value) == ("params.yaml: train_cnn.epochs: Input should be a valid integer (got 'ten')")


def test_int_where_float_expected_is_accepted(raw):
    raw["train_svc"]["C"] = 10
    assert parse_params(raw).train_svc.C == 10.0


def test_out_of_range_and_bad_choice(raw):
    raw["train_cnn"]["dropout"] = 1.5
    raw["data"]["source"] = "asvspoof2019"
    message = str(pytest.raises(ParamsError, parse_params, raw, "p").value).splitlines()
    assert message[0].startswith(
        "p: data.source: Input should be 'synthetic', 'asvspoof2017', 'custom', 'asvspoof2019_la', "
        "'asvspoof2019_pa', 'asvspoof2021_la', 'asvspoof2021_df', 'in_the_wild' or 'asvspoof5' (got 'asvspoof2019')"
    )
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
    with pytest.raises(
        ParamsError,
        match=r"^p: features.handcrafted.band_edges_hz: the top edge "
        r"\(8000\) exceeds half of data.sample_rate \(6000 Hz\)$",
    ):
        parse_params(raw, "p")
    raw["features"]["handcrafted"]["band_energy"] = False  # the edges matter only for band energies
    assert parse_params(raw).data.sample_rate == 12000


@pytest.mark.parametrize("edges", [[0, 500, 500, 1000], [1000, 500], [-100, 500]])
def test_band_edges_must_increase(raw, edges):
    raw["features"]["handcrafted"]["band_edges_hz"] = edges
    with pytest.raises(
        ParamsError,
        match=r"^p: features.handcrafted: band_edges_hz must be "
        r"non-negative and strictly increasing, got \[",
    ):
        parse_params(raw, "p")


def test_the_gradcam_band_must_lie_below_nyquist(raw):
    raw["explain"]["gradcam"]["above_hz"] = 8000
    with pytest.raises(
        ParamsError,
        match=r"^p: explain.gradcam.above_hz \(8000\) must be below half of "
        r"data.sample_rate \(8000 Hz\)$",
    ):
        parse_params(raw, "p")


def test_explain_params_are_checked_by_key(raw):
    raw["explain"]["shap"]["backgrounds"] = 10
    raw["explain"]["split"] = "train"
    message = str(pytest.raises(ParamsError, parse_params, raw, "p").value).splitlines()
    assert "p: explain.shap.backgrounds: unknown key" in message
    assert any(line.startswith("p: explain.split: Input should be 'dev' or 'eval'") for line in message)


def test_the_cqt_needs_an_octave_below_nyquist(raw):
    raw["features"]["handcrafted"]["cqt_fmin"] = 5000.0
    with pytest.raises(
        ParamsError,
        match=r"^p: features.handcrafted.cqt_fmin \(5000\) leaves no "
        r"whole octave below half of data.sample_rate \(8000 Hz\)$",
    ):
        parse_params(raw, "p")


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"mfcc": False, "lfcc": False, "cqcc": False, "spectral": False, "band_energy": False},
            r"switch on at least one of mfcc, lfcc, cqcc, spectral, band_energy",
        ),
        ({"n_cepstra": 80}, r"n_cepstra \(80\) must not exceed n_mels \(64\)"),
        (
            {"n_cepstra": 30, "n_mels": 40, "n_linear": 24},
            r"n_cepstra \(30\) must not exceed n_linear \(24\)",
        ),
    ],
)
def test_handcrafted_families_are_checked(raw, changes, message):
    raw["features"]["handcrafted"].update(changes)
    with pytest.raises(ParamsError, match=rf"^p: features.handcrafted: {message}$"):
        parse_params(raw, "p")


def test_feature_window_and_choices_are_checked(raw):
    raw["features"]["win_length"] = 600
    with pytest.raises(
        ParamsError,
        match=r"^p: features: win_length \(600\) must not exceed "
        r"n_fft \(512\)$",
    ):
        parse_params(raw, "p")
    raw["features"]["win_length"] = 400
    raw["features"]["spectrogram"]["normalize"] = "per_bin"
    with pytest.raises(
        ParamsError,
        match=r"^p: features.spectrogram.normalize: Input should be 'utterance', "
        r"'global' or 'none'",
    ):
        parse_params(raw, "p")


def test_cnn_filters_must_be_positive(raw):
    raw["train_cnn"]["filters"] = [16, 0]
    with pytest.raises(ParamsError, match=r"^p: train_cnn.filters.1: Input should be greater than 0"):
        parse_params(raw, "p")


def test_custom_source_needs_its_csv(raw):
    raw["data"]["source"] = "custom"
    with pytest.raises(
        ParamsError,
        match=r"^p: data: protocol \(a CSV of path, label, split\) "
        r"is required for source custom and only used there$",
    ):
        parse_params(raw, "p")
    raw["data"]["protocol"] = "mine.csv"
    assert parse_params(raw).data.protocol == "mine.csv"


@pytest.mark.parametrize(
    "grid, method, reason",
    [
        (
            {"Cee": [1.0]},
            "dev",
            "search.grid.Cee: not an SVC setting (one of pca_components, kernel, C, gamma, class_weight)",
        ),
        ({"C": [1.0, -2.0]}, "dev", "search.grid.C: -2.0 is not valid: Input should be greater than 0"),
        (
            {"pca_components": [1.5]},
            "cv",
            "search.grid.pca_components: 1.5 is not valid: "
            "pca_components must be an integer or a fraction in (0, 1), got 1.5",
        ),
        ({"C": []}, "dev", "search.grid.C: give at least one value"),
    ],
)
def test_svc_grid_is_checked_value_by_value(raw, grid, method, reason):
    raw["train_svc"]["search"] = {"method": method, "grid": grid}
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "params.yaml")
    assert str(err.value) == f"params.yaml: train_svc: {reason}"


def test_svc_grid_values_keep_their_types(raw):
    raw["train_svc"]["search"] = {"method": "dev", "grid": {"gamma": ["scale", 0.01], "C": [1, 10]}}
    params = parse_params(raw).train_svc
    assert params.setting(gamma=0.01, C=10).model_dump() == {
        "pca_components": None,
        "kernel": "rbf",
        "C": 10.0,
        "gamma": 0.01,
        "class_weight": "balanced",
    }


def test_each_band_must_hold_an_fft_bin(raw):
    raw["features"]["handcrafted"]["band_edges_hz"] = [0, 4010, 4020, 8000]  # bins are 31.25 Hz apart
    with pytest.raises(
        ParamsError,
        match=r"^p: features.handcrafted.band_edges_hz: the band 4010-4020 Hz "
        r"holds no FFT bin \(bins are 31.25 Hz apart with features.n_fft\)$",
    ):
        parse_params(raw, "p")
    raw["features"]["handcrafted"]["band_edges_hz"] = [0, 4000, 4010, 8000]  # the bin at 4000 Hz
    assert parse_params(raw).features.handcrafted.band_edges_hz[2] == 4010.0


def test_cqcc_needs_enough_resampled_points_for_its_coefficients(raw):
    raw["features"]["handcrafted"]["cqt_fmin"] = 4000.0  # one octave: 15 points for 20 coefficients
    with pytest.raises(
        ParamsError,
        match=r"^p: features.handcrafted.cqt_fmin \(4000\): the constant-Q range up "
        r"to 8000 Hz resamples to 15 points, fewer than n_cepstra \(20\)",
    ):
        parse_params(raw, "p")
    raw["features"]["handcrafted"]["n_cepstra"] = 15
    assert parse_params(raw).features.handcrafted.n_cepstra == 15


def test_the_code_defaults_are_the_committed_params():
    # params.yaml is the source; a section left out of it must mean the same as the committed one.
    committed = load_params(PROJECT_PARAMS)
    defaults = Params(synthetic=committed.synthetic)  # the corpus sizes have no defaults
    for section in Params.model_fields:
        assert getattr(defaults, section) == getattr(committed, section), section


def set_key(raw, key, value):
    *sections, last = key.split(".")
    for section in sections:
        raw = raw[section]
    raw[last] = value


@pytest.mark.parametrize(
    "key, value, reason",
    [
        ("seed", 2**70, "Input should be less than or equal to 4294967295 (got 1180591620717411303424)"),
        ("evaluate.bootstrap.seed", -1, "Input should be greater than or equal to 0 (got -1)"),
        ("features.n_fft", 10**9, "Input should be less than or equal to 65536 (got 1000000000)"),
        ("features.spectrogram.n_frames", 10**5, "Input should be less than or equal to 10000 (got 100000)"),
        ("features.handcrafted.n_mels", 2048, "Input should be less than or equal to 1024 (got 2048)"),
        ("synthetic.train.genuine", 10**6, "Input should be less than or equal to 100000 (got 1000000)"),
        ("train_cnn.batch_size", 5000, "Input should be less than or equal to 4096 (got 5000)"),
        ("train_cnn.epochs", 10**5, "Input should be less than or equal to 10000 (got 100000)"),
        ("train_cnn.learning_rate", 100.0, "Input should be less than or equal to 10 (got 100.0)"),
        ("evaluate.bootstrap.resamples", 10**6, "Input should be less than or equal to 100000 (got 1000000)"),
        ("explain.lime.samples", 10**6, "Input should be less than or equal to 100000 (got 1000000)"),
        ("compute.n_jobs", 1000, "Input should be less than or equal to 256 (got 1000)"),
        ("download.timeout_s", 1e9, "Input should be less than or equal to 3600 (got 1000000000.0)"),
        ("train_svc.C", float("inf"), "Input should be a finite number (got inf)"),
        ("audit.vad.top_db", float("nan"), "Input should be a finite number (got nan)"),
    ],
)
def test_every_number_is_bounded(raw, key, value, reason):
    set_key(raw, key, value)
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "params.yaml")
    assert str(err.value) == f"params.yaml: {key}: {reason}"


@pytest.mark.parametrize(
    "key, value, message",
    [
        (
            "train_cnn.seeds",
            [1, 2**32],
            "train_cnn.seeds.1: Input should be less than or equal to 4294967295 (got 4294967296)",
        ),
        (
            "train_cnn.filters",
            [16, 2000],
            "train_cnn.filters.1: Input should be less than or equal to 1024 (got 2000)",
        ),
        (
            "synthetic.snr_db",
            [15.0, float("inf")],
            "synthetic.snr_db.1: Input should be a finite number (got inf)",
        ),
        ("train_svc.pca_components", 10**6, "train_svc: pca_components (1000000) must not exceed 100000"),
        ("features.hop_length", 1024, "features: hop_length (1024) must not exceed n_fft (512)"),
        (
            "features.handcrafted.n_linear",
            300,
            "features: handcrafted.n_linear (300) must not exceed the 257 FFT bins of n_fft (512)",
        ),
        (
            "features.spectrogram.n_frames",
            12,
            "train_cnn: the lcnn net halves its input 4 times, so "
            "features.spectrogram.n_frames (12) must be at least 16",
        ),
        (
            "features.spectrogram.n_frames",
            150,
            "train_cnn.crop_frames (200) must not exceed features.spectrogram.n_frames (150), "
            "the stored input (null: crops of the stored width)",
        ),
        (
            "train_cnn.crop_frames",
            12,
            "train_cnn: the lcnn net halves its input 4 times, so train_cnn.crop_frames (12) must be at least 16",
        ),
        (
            "train_cnn.crop_frames",
            500,
            "train_cnn.crop_frames (500) must not exceed features.spectrogram.n_frames (400), "
            "the stored input (null: crops of the stored width)",
        ),
        ("seed", "x" * 200, "seed: Input should be a valid integer (got '" + "x" * 76 + "...)"),
    ],
)
def test_values_beyond_what_the_code_takes_are_refused(raw, key, value, message):
    set_key(raw, key, value)
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "params.yaml")
    assert str(err.value) == f"params.yaml: {message}"


def test_the_simple_cnn_needs_a_row_per_pooling(raw):
    raw["train_cnn"].update(arch="simple", filters=[8, 8, 8, 8])
    raw["features"]["spectrogram"]["n_mels"] = 8
    with pytest.raises(ParamsError) as err:
        parse_params(raw, "p")
    assert str(err.value) == (
        "p: train_cnn: the simple net halves its input 4 times, so features.spectrogram.n_mels "
        "(8) must be at least 16"
    )


PROJECT_TEXT = PROJECT_PARAMS.read_text()


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "the file is empty; expected a mapping of sections"),
        (b"# only a comment\n", "the file is empty; expected a mapping of sections"),
        (b"seed: 1\nroot: caf\xe9\n", "not UTF-8 (byte 0xe9 at offset 17)"),
        (b"seed: 1\n  data: 2\n", "line 2, column 7: not valid YAML: mapping values are not allowed here"),
        (
            b"seed: [1, 2\n",
            "line 2, column 1: not valid YAML: while parsing a flow sequence, expected ',' or ']', "
            "but got '<stream end>'",
        ),
        (
            b"seed: 1\n---\nseed: 2\n",
            "line 2, column 1: not valid YAML: expected a single document in the stream, "
            "but found another document",
        ),
        (
            b"seed: \x01\n",
            "line 1: not valid YAML: unacceptable character #x0001 (special characters are not allowed)",
        ),
        (b"seed: 2020-13-45\n", "line 1, column 7: not valid YAML: month must be in 1..12"),
        (
            b"seed: !!python/name:os.system\n",
            "line 1, column 7: not valid YAML: could not determine a constructor "
            "for the tag 'tag:yaml.org,2002:python/name:os.system'",
        ),
        (b"seed: 1\ndata: {}\nseed: 2\n", "line 3: duplicate key 'seed' (also on line 1)"),
        (
            b"data:\n  source: custom\n  root: a\n  source: synthetic\n",
            "line 4: duplicate key 'source' (also on line 2)",
        ),
        (
            b"train_cnn: {spec_augment: {freq_masks: 1, freq_masks: 2}}\n",
            "line 1: duplicate key 'freq_masks' (also on line 1)",
        ),
        (b"<<: {seed: 3}\nseed: 1\n", "line 1: merge keys (<<) are not allowed"),
        (
            b"a: &x [1]\nb: *x\n",
            "line 1: anchors and aliases are not allowed (found 'x'); write each value out",
        ),
        (b"a: 1\nb: *x\n", "line 2: anchors and aliases are not allowed (found 'x'); write each value out"),
        (b'data: {root: "a\\0b"}\n', "line 1: a value holds a NUL character (\\0)"),
        (b"- a list\n", "expected a mapping of sections, got list"),
    ],
)
def test_a_malformed_file_is_refused_in_one_line(tmp_path, content, reason):
    path = tmp_path / "params.yaml"
    path.write_bytes(content)
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert str(err.value) == f"{path}: {reason}"


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    rows = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    path = tmp_path / "params.yaml"
    path.write_text("\n".join(rows) + "\n")  # 9**9 strings once expanded
    with pytest.raises(
        ParamsError,
        match=r"params.yaml: line 1: anchors and aliases are not allowed \(found 'a'\); "
        r"write each value out$",
    ):
        load_params(path)


@pytest.mark.parametrize(
    "content", ["[" * 5000 + "]" * 5000, "{a: " * 5000 + "}" * 5000, "seed: " + "[" * 33 + "]" * 33]
)
def test_deep_nesting_is_refused_fast(tmp_path, content):
    path = tmp_path / "params.yaml"
    path.write_text(content + "\n")
    start = time.perf_counter()
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert str(err.value) == f"{path}: line 1: nested deeper than 32 levels"
    assert time.perf_counter() - start < 5.0


def test_an_integer_yaml_cannot_hold_is_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(PROJECT_TEXT.replace("seed: 2017", "seed: " + "9" * 5000))
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert str(err.value).startswith(
        f"{path}: line 2, column 7: not valid YAML: Exceeds the limit (4300 digits) "
        "for integer string conversion"
    )
    path.write_text(PROJECT_TEXT.replace("seed: 2017", "seed: 1180591620717411303424"))
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert str(err.value) == (
        f"{path}: seed: Input should be less than or equal to 4294967295 (got 1180591620717411303424)"
    )


def test_a_folder_a_fifo_or_a_huge_file_is_refused(tmp_path):
    with pytest.raises(ParamsError) as err:
        load_params(tmp_path)
    assert str(err.value) == f"{tmp_path}: is a folder, not a file"
    os.mkfifo(tmp_path / "fifo.yaml")  # never opened: that would wait for a writer
    with pytest.raises(ParamsError, match=r"fifo.yaml: is a FIFO, not a file$"):
        load_params(tmp_path / "fifo.yaml")
    huge = tmp_path / "params.yaml"
    huge.write_text(PROJECT_TEXT + "#" * 1_000_000 + "\n")
    with pytest.raises(ParamsError) as err:
        load_params(huge)
    assert str(err.value) == f"{huge}: larger than 1000000 bytes; a params file is a few kB"


def run_check_params(folder):
    return subprocess.run(
        [sys.executable, str(PROJECT / "stages" / "check_params.py")],
        cwd=folder,
        capture_output=True,
        text=True,
    )


def test_the_check_stage_writes_a_stamp_that_does_not_depend_on_the_params(tmp_path):
    (tmp_path / "params.yaml").write_text(PROJECT_TEXT)
    done = run_check_params(tmp_path)
    assert done.returncode == 0, done.stderr
    stamp = (tmp_path / "data" / "params.checked").read_text()
    assert stamp == "params.yaml matches the schema in deepfake_audio/params.py\n"
    (tmp_path / "params.yaml").write_text(PROJECT_TEXT.replace("seed: 2017", "seed: 8"))
    assert run_check_params(tmp_path).returncode == 0
    assert (tmp_path / "data" / "params.checked").read_text() == stamp
    assert sorted(path.name for path in (tmp_path / "data").iterdir()) == ["params.checked"]


def test_the_check_stage_stops_on_a_bad_value_with_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text(PROJECT_TEXT.replace("n_fft: 512", "n_fft: 1000000000"))
    done = run_check_params(tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "error: params.yaml: features.n_fft: Input should be less than or equal to 65536 (got 1000000000)\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["params.yaml"]


def test_the_check_stage_refuses_an_evaluation_only_main_corpus(tmp_path):
    (tmp_path / "params.yaml").write_text(
        PROJECT_TEXT.replace("source: synthetic ", "source: asvspoof2021_la").replace(
            "root: null ", "root: /data/LA"
        )
    )
    done = run_check_params(tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "error: data.source: asvspoof2021_la is evaluation data only (no train or dev split), so it "
        "cannot be the main corpus: train on asvspoof2019_la and list asvspoof2021_la in evaluate.cross "
        "for cross-corpus evaluation\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["params.yaml"]


def test_the_lcnn_pool_count_the_params_check_matches_the_network():
    from deepfake_audio.models.cnn import LCNN_LAYERS
    from deepfake_audio.params import LCNN_POOLS

    assert LCNN_POOLS == sum(pool for _, _, pool, _ in LCNN_LAYERS)
