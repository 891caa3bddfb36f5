"""The stress variants of the embedded corpus that the robustness benchmark scores."""

import numpy as np
import pytest
import soundfile as sf

from deepfake_audio.corpus.asvspoof2017 import audio_dir, parse_protocol, protocol_path
from deepfake_audio.errors import InputError
from deepfake_audio.params import SyntheticParams, SyntheticSplit
from deepfake_audio.stress import STRESS_VARIANTS, write_stress_variant

SPLIT = SyntheticSplit(
    speakers=2, genuine=3, spoof=3, environments=1, playback_devices=2, recorders=1, replay_configs=2
)
SYNTHETIC = SyntheticParams(phrases=2, train=SPLIT, dev=SPLIT, eval=SPLIT)
RATE = 16000


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """Every variant of one tiny corpus: name -> (manifest, {file name: (samples, rate)})."""
    root = tmp_path_factory.mktemp("stress")
    written = {}
    for name in STRESS_VARIANTS:
        manifest = write_stress_variant(root / name, name, SYNTHETIC, sample_rate=RATE, seed=7)
        files = {}
        for path in sorted(audio_dir(root / name, "eval").iterdir()):
            samples, rate = sf.read(path, dtype="int16")
            files[path.name] = (samples, rate)
        written[name] = (manifest, files, parse_protocol(protocol_path(root / name, "eval")))
    return written


def test_every_variant_says_the_same_takes_as_unseen(variants):
    manifest, files, protocol = variants["unseen"]
    assert len(manifest) == 6 and set(manifest["split"]) == {"eval"}
    assert manifest["label"].value_counts().to_dict() == {"bonafide": 3, "spoof": 3}
    for name, (other, other_files, other_protocol) in variants.items():
        assert other_protocol == protocol, name
        assert other["utt_id"].tolist() == manifest["utt_id"].tolist(), name
        assert other_files.keys() == files.keys(), name


def test_short_files_are_a_span_of_the_speech_of_03_to_1_s(variants):
    unseen, short = variants["unseen"][1], variants["short"][1]
    durations = []
    for name, (samples, rate) in short.items():
        whole = unseen[name][0]
        assert rate == RATE
        durations.append(len(samples) / rate)
        windows = np.lib.stride_tricks.sliding_window_view(whole, len(samples))
        assert (windows == samples).all(axis=1).any(), name  # cut from the same take, not re-rendered
    assert 0.3 <= min(durations) and max(durations) <= 1.0
    assert len(set(durations)) > 1


def test_narrowband_files_are_written_at_8_khz_for_as_long(variants):
    for name, (samples, rate) in variants["narrowband"][1].items():
        assert rate == 8000
        assert len(samples) == pytest.approx(len(variants["unseen"][1][name][0]) / 2, abs=1)


@pytest.mark.parametrize(("name", "gain_db"), [("loud", 15.0), ("quiet", -25.0)])
def test_level_variants_scale_the_unseen_files_and_clip_at_full_scale(variants, name, gain_db):
    clipped = 0
    for file, (samples, _) in variants[name][1].items():
        expected = np.clip(np.round(variants["unseen"][1][file][0] * 10 ** (gain_db / 20)), -32768, 32767)
        assert np.abs(samples.astype(float) - expected).max() <= 1, file
        clipped += int((np.abs(samples) >= 32767).sum())
    assert (clipped > 0) == (gain_db > 0)


@pytest.mark.parametrize("name", ["hifi_playback", "noisy"])
def test_chain_variants_change_the_recordings(variants, name):
    changed = [
        not np.array_equal(samples, variants["unseen"][1][file][0])
        for file, (samples, _) in variants[name][1].items()
    ]
    assert all(changed) if name == "noisy" else any(changed)


def test_a_variant_is_the_same_bytes_for_the_same_seed_and_differs_with_another(tmp_path, variants):
    write_stress_variant(tmp_path / "again", "short", SYNTHETIC, sample_rate=RATE, seed=7)
    write_stress_variant(tmp_path / "other", "short", SYNTHETIC, sample_rate=RATE, seed=8, n_jobs=2)
    again = {p.name: p.read_bytes() for p in audio_dir(tmp_path / "again", "eval").iterdir()}
    other = {p.name: p.read_bytes() for p in audio_dir(tmp_path / "other", "eval").iterdir()}
    for file, (samples, _) in variants["short"][1].items():
        assert np.array_equal(
            sf.read(audio_dir(tmp_path / "again", "eval") / file, dtype="int16")[0], samples
        )
    assert again != other


def test_unknown_variants_and_used_folders_are_refused(tmp_path):
    with pytest.raises(InputError, match="unknown stress variant 'tiny'; known: unseen, short, narrowband"):
        write_stress_variant(tmp_path / "x", "tiny", SYNTHETIC, sample_rate=RATE, seed=7)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("x")
    with pytest.raises(InputError, match="used: the variant's folder must be absent or empty"):
        write_stress_variant(tmp_path / "used", "unseen", SYNTHETIC, sample_rate=RATE, seed=7)
