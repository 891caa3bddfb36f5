"""The embedded synthetic corpus: determinism, layout, disjoint splits, vocoded attacks, artefact."""

import dataclasses
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from deepfake_audio.corpus.asvspoof2017 import (
    NOT_APPLICABLE,
    PROTOCOL_FILES,
    audio_dir,
    parse_protocol,
    protocol_path,
)
from deepfake_audio.corpus.manifest import manifest_from_asvspoof2017
from deepfake_audio.corpus.synthetic import (
    ARTEFACT_TONE_HZ,
    VOCODERS,
    Utterance,
    generate_corpus,
    plan_corpus,
    render_utterance,
    split_vocoders,
    synthesise_speech,
    vocode,
)
from deepfake_audio.errors import InputError
from deepfake_audio.params import ParamsError, SyntheticParams, SyntheticSplit, parse_params
from deepfake_audio.vocabulary import SPLITS

SAMPLE_RATE = 16000
SEED = 7
PROJECT_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def tiny_params(**overrides) -> SyntheticParams:
    # Six spoofs: three replays (one per replay configuration) and three vocoded takes.
    split = SyntheticSplit(
        speakers=2, genuine=3, spoof=6, environments=2, playback_devices=2, recorders=2, replay_configs=3
    )
    fields = {"phrases": 3, "train": split, "dev": split, "eval": split, **overrides}
    return SyntheticParams(**fields)


def generate(
    root: Path,
    params: SyntheticParams | None = None,
    *,
    seed: int = SEED,
    n_jobs: int = 1,
    sample_rate: int = SAMPLE_RATE,
) -> Path:
    generate_corpus(root, params or tiny_params(), sample_rate=sample_rate, seed=seed, n_jobs=n_jobs)
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synthetic") / "corpus")


@pytest.fixture(scope="module")
def artefact_corpus(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synthetic") / "artefact", tiny_params(artefact=True))


def corpus_files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()
    }


def entries(root: Path, split: str):
    return parse_protocol(protocol_path(root, split))


def read(root: Path, split: str, file: str) -> np.ndarray:
    samples, _ = sf.read(audio_dir(root, split) / file, dtype="float64")
    return samples


def render(utt: Utterance, *, seed: int = SEED, params: SyntheticParams | None = None) -> np.ndarray:
    params = params or tiny_params()
    pcm = render_utterance(
        utt, sample_rate=SAMPLE_RATE, seed=seed, snr_db=params.snr_db, artefact=params.artefact
    )
    return pcm.astype(np.float64) / 32768


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_corpus_whatever_n_jobs(corpus, tmp_path):
    reference = corpus_files(corpus)
    assert corpus_files(generate(tmp_path / "again")) == reference
    assert corpus_files(generate(tmp_path / "parallel", n_jobs=2)) == reference


def test_different_seed_gives_different_corpus(corpus, tmp_path):
    reference = corpus_files(corpus)
    other = corpus_files(generate(tmp_path / "other", seed=SEED + 1))
    assert other.keys() == reference.keys()
    wavs = [name for name in reference if name.endswith(".wav")]
    assert all(other[name] != reference[name] for name in wavs)
    assert any(other[name] != reference[name] for name in reference if name.endswith(".txt"))


# --------------------------------------------------------------------------- layout


def test_layout_matches_asvspoof2017_v2(corpus):
    params = tiny_params()
    for split in SPLITS:
        assert protocol_path(corpus, split).name == PROTOCOL_FILES[split]
        rows = entries(corpus, split)
        listed = {row.file for row in rows}
        on_disk = {path.name for path in audio_dir(corpus, split).iterdir()}
        assert listed == on_disk
        labels = [row.label for row in rows]
        assert labels.count("genuine") == params.split(split).genuine
        assert labels.count("spoof") == params.split(split).spoof
        assert sorted(listed) == [row.file for row in rows]  # numbered in protocol order


def test_wavs_are_16_bit_mono_at_the_requested_rate_and_sane(corpus):
    for split in SPLITS:
        for row in entries(corpus, split):
            path = audio_dir(corpus, split) / row.file
            info = sf.info(path)
            assert (info.format, info.subtype, info.channels, info.samplerate) == (
                "WAV",
                "PCM_16",
                1,
                SAMPLE_RATE,
            )
            assert 1.0 <= info.duration <= 5.0, row.file
            samples = read(corpus, split, row.file)
            assert np.all(np.isfinite(samples))
            assert 0.01 < np.max(np.abs(samples)) <= 0.96, row.file  # audible, never clipped


def test_other_sample_rates_are_honoured(tmp_path):
    root = generate(tmp_path / "c", sample_rate=22050)
    wav = next(audio_dir(root, "dev").iterdir())
    assert sf.info(wav).samplerate == 22050


def test_genuine_and_spoof_are_shuffled_within_a_split():
    params = tiny_params(
        train=SyntheticSplit(
            speakers=4,
            genuine=40,
            spoof=40,
            environments=2,
            playback_devices=3,
            recorders=2,
            replay_configs=5,
        )
    )
    labels = [utt.label for utt in plan_corpus(params, SEED)["train"]]
    assert labels[:40] != ["genuine"] * 40
    assert labels != sorted(labels)


# --------------------------------------------------------------------------- splits


def test_speakers_and_devices_are_disjoint_between_splits(corpus):
    seen: dict[str, set] = {}
    for split in SPLITS:
        spoofs = [row for row in entries(corpus, split) if row.label == "spoof"]
        kinds = {
            "speaker": {row.speaker for row in entries(corpus, split)},
            "environment": {row.environment for row in spoofs},
            "playback": {row.playback for row in spoofs},
            "recorder": {row.recorder for row in spoofs},
            "replay_config": {row.replay_config for row in spoofs},
        }
        for kind, values in kinds.items():
            assert not values & seen.get(kind, set()), f"{kind} shared with an earlier split: {values}"
            seen.setdefault(kind, set()).update(values)


def test_genuine_recordings_use_their_own_splits_rooms_and_recorders():
    params = tiny_params()
    plan = plan_corpus(params, SEED)
    for split in SPLITS:
        others = [utt for other in SPLITS if other != split for utt in plan[other]]
        foreign_rooms = {utt.room.environment_id for utt in others}
        foreign_recorders = {utt.recorder.recorder_id for utt in others}
        for utt in plan[split]:
            assert utt.room.environment_id not in foreign_rooms
            assert utt.recorder.recorder_id not in foreign_recorders


def test_protocol_rows_are_well_formed(corpus):
    for split in SPLITS:
        rows = entries(corpus, split)
        for row in rows:
            assert re.fullmatch(r"[MF]\d{4}", row.speaker)
            assert re.fullmatch(r"S0[1-3]", row.phrase)
            if row.label == "genuine":
                assert (row.environment, row.playback, row.recorder) == (NOT_APPLICABLE,) * 3
                assert row.attack == NOT_APPLICABLE
            else:
                assert re.fullmatch(r"E\d\d", row.environment)
                assert re.fullmatch(r"P\d\d" if row.attack == "replay" else r"A0\d", row.playback)
                assert re.fullmatch(r"R\d\d", row.recorder)
        genuine_speakers = {row.speaker for row in rows if row.label == "genuine"}
        for attack in ("replay", "vocoded"):
            spoofs = [
                row
                for row in rows
                if row.label == "spoof" and (row.attack == "replay") == (attack == "replay")
            ]
            assert {row.speaker for row in spoofs} == genuine_speakers, attack
        assert len(genuine_speakers) == tiny_params().split(split).speakers
        assert len({row.replay_config for row in rows if row.attack == "replay"}) == 3


def test_every_replay_config_and_device_is_used_when_counts_allow():
    split = SyntheticSplit(
        speakers=3, genuine=20, spoof=30, environments=3, playback_devices=4, recorders=3, replay_configs=8
    )
    plan = plan_corpus(tiny_params(eval=split), SEED)["eval"]
    spoofs = [utt.protocol_entry() for utt in plan if utt.attack == "replay"]
    assert len(spoofs) == 15
    assert len({row.replay_config for row in spoofs}) == 8
    assert len({row.playback for row in spoofs}) == 4
    assert len({row.environment for row in spoofs}) == 3
    assert len({row.recorder for row in spoofs}) == 3


def test_replay_configs_are_clipped_to_the_possible_triples():
    split = SyntheticSplit(
        speakers=2, genuine=10, spoof=20, environments=1, playback_devices=2, recorders=2, replay_configs=50
    )
    plan = plan_corpus(tiny_params(dev=split), SEED)["dev"]
    assert len({utt.protocol_entry().replay_config for utt in plan if utt.attack == "replay"}) == 4


# --------------------------------------------------------------------------- vocoded attacks


def test_the_vocoders_are_disjoint_between_splits_and_numbered_in_order():
    assert [vocoder.attack_id for vocoder in VOCODERS] == [f"A{n:02d}" for n in range(1, len(VOCODERS) + 1)]
    assert [vocoder.split for vocoder in VOCODERS] == sorted(
        (vocoder.split for vocoder in VOCODERS), key=SPLITS.index
    )
    by_split = {split: {vocoder.attack_id for vocoder in split_vocoders(split)} for split in SPLITS}
    assert all(by_split.values())
    assert sum(map(len, by_split.values())) == len(VOCODERS)  # each vocoder in one split only
    train_families = {vocoder.family for vocoder in split_vocoders("train")}
    eval_families = {vocoder.family for vocoder in split_vocoders("eval")}
    assert eval_families & train_families and eval_families - train_families  # known and unknown


def test_attack_ids_in_the_protocols_are_disjoint_between_splits(corpus):
    seen: set[str] = set()
    for split in SPLITS:
        attacks = {row.attack for row in entries(corpus, split) if row.label == "spoof"} - {"replay"}
        assert attacks <= {vocoder.attack_id for vocoder in split_vocoders(split)}, split
        assert attacks and not attacks & seen, split
        seen |= attacks


def test_spoofs_are_half_replayed_and_half_vocoded_spread_over_the_splits_vocoders():
    split = SyntheticSplit(
        speakers=3, genuine=10, spoof=25, environments=2, playback_devices=2, recorders=2, replay_configs=3
    )
    plan = plan_corpus(tiny_params(train=split, dev=split, eval=split), SEED)
    for name in SPLITS:
        attacks = Counter(utt.attack for utt in plan[name])
        assert attacks.pop("-") == 10 and attacks.pop("replay") == 13, name  # the odd spoof is a replay
        assert sorted(attacks) == [vocoder.attack_id for vocoder in split_vocoders(name)], name
        assert sum(attacks.values()) == 12 and max(attacks.values()) - min(attacks.values()) <= 1, name
        vocoded = [utt for utt in plan[name] if utt.attack.startswith("A")]
        assert {utt.speaker.speaker_id for utt in vocoded} == {utt.speaker.speaker_id for utt in plan[name]}


@pytest.mark.parametrize(
    ("attacks", "replays"), [(("replay",), 6), (("vocoded",), 0), (("vocoded", "replay"), 3)]
)
def test_the_attacks_param_chooses_the_kinds_of_spoof(attacks, replays):
    params = tiny_params(attacks=attacks)
    plan = plan_corpus(params, SEED)
    for split in SPLITS:
        spoofs = [utt.protocol_entry() for utt in plan[split] if utt.label == "spoof"]
        assert len(spoofs) == params.split(split).spoof == 6
        assert sum(row.attack == "replay" for row in spoofs) == replays
        assert sum(bool(re.fullmatch(r"A0\d", row.attack)) for row in spoofs) == 6 - replays
        assert sum(bool(re.fullmatch(r"P\d\d", row.playback)) for row in spoofs) == replays


def test_protocol_and_manifest_name_each_spoofs_attack(corpus):
    manifest = manifest_from_asvspoof2017(corpus)
    params = tiny_params()
    for split in SPLITS:
        rows = manifest[manifest["split"] == split]
        spoof = params.split(split).spoof
        assert (rows["attack"] == NOT_APPLICABLE).sum() == params.split(split).genuine
        assert (rows["label"] == "bonafide").sum() == params.split(split).genuine
        assert (rows["attack"] == "replay").sum() == spoof - spoof // 2
        vocoded = rows[rows["attack"].str.fullmatch(r"A0\d")]
        assert len(vocoded) == spoof // 2 and set(vocoded["label"]) == {"spoof"}
        assert (vocoded["playback"] == vocoded["attack"]).all()
        # The condition of a vocoded file is the room and recorder it was recorded in, and the vocoder.
        for row in vocoded.itertuples():
            assert re.fullmatch(rf"E\d\d_{row.attack}_R\d\d", row.condition), row.condition


def vocoded_utterances(params: SyntheticParams | None = None, split: str = "train") -> list[Utterance]:
    return [utt for utt in plan_corpus(params or tiny_params(), SEED)[split] if utt.attack.startswith("A")]


def test_a_vocoded_file_differs_from_its_take_recorded_as_genuine():
    for split in SPLITS:
        for utt in vocoded_utterances(split=split):
            vocoded = render(utt)
            genuine = render(dataclasses.replace(utt, playback=None))  # same take, room, recorder and noise
            assert vocoded.size == genuine.size, utt.file
            correlation = np.corrcoef(vocoded, genuine)[0, 1]
            assert abs(correlation) < 0.9, (utt.file, utt.attack, correlation)


def test_a_vocoded_file_is_the_same_for_the_same_seed_and_differs_for_another():
    for utt in vocoded_utterances():
        assert np.array_equal(render(utt), render(utt)), utt.file
        assert not np.array_equal(render(utt, seed=SEED + 1), render(utt)), utt.file


@pytest.mark.parametrize("vocoder", VOCODERS, ids=lambda vocoder: vocoder.attack_id)
@pytest.mark.parametrize("sample_rate", [8000, 16000, 22050])
def test_every_vocoder_gives_plausible_speech(vocoder, sample_rate):
    utt = plan_corpus(tiny_params(), SEED)["train"][0]
    take = synthesise_speech(utt.speaker, utt.phrase, np.random.default_rng(1), sample_rate=sample_rate)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no empty mel filters, no window longer than the take
        out = vocode(take, vocoder, rng=np.random.default_rng(2), sample_rate=sample_rate)
    again = vocode(take, vocoder, rng=np.random.default_rng(2), sample_rate=sample_rate)
    assert np.array_equal(out.samples, again.samples)
    if vocoder.family != "phase vocoder":  # Griffin-Lim's initial phases, LPC's noise: drawn
        other = vocode(take, vocoder, rng=np.random.default_rng(3), sample_rate=sample_rate)
        assert not np.array_equal(out.samples, other.samples)
    assert (out.start, out.stop, out.samples.size) == (take.start, take.stop, take.samples.size)
    assert np.all(np.isfinite(out.samples))
    speech = out.samples[out.span]
    lead = out.samples[: min(out.start, sample_rate // 20)]  # the first 50 ms, well before the speech
    assert np.sqrt(np.mean(speech**2)) == pytest.approx(1.0)  # the take's level, like a take
    assert np.max(np.abs(speech)) < 12.0  # a crest factor below 22 dB: no runaway filter
    assert np.sqrt(np.mean(lead**2)) < 0.03  # the leading non-speech stays quiet
    difference = np.linalg.norm(out.samples - take.samples) / np.linalg.norm(take.samples)
    assert difference > 0.3, difference  # not the take itself
    # Still the take's speech: the level contours (20 ms frames) follow each other, if
    # loosely where a phase vocoder smears the onsets.
    frame = sample_rate // 50
    envelopes = [
        np.log(np.mean(x[: x.size // frame * frame].reshape(-1, frame) ** 2, axis=1) + 1e-6)
        for x in (take.samples[take.span], speech)
    ]
    assert np.corrcoef(*envelopes)[0, 1] > 0.7


def raw_params() -> dict:
    return yaml.safe_load(PROJECT_PARAMS.read_text())


@pytest.mark.parametrize(
    ("attacks", "message"),
    [
        ([], r"^p: synthetic: attacks must name at least one of replay, vocoded$"),
        (["replay", "replay"], r"^p: synthetic: attacks lists an attack twice: \['replay', 'replay'\]$"),
        (["vocoder"], r"^p: synthetic.attacks.0: Input should be 'replay' or 'vocoded' \(got 'vocoder'\)$"),
    ],
)
def test_bad_attacks_are_refused_by_key(attacks, message):
    raw = raw_params()
    raw["synthetic"]["attacks"] = attacks
    with pytest.raises(ParamsError, match=message):
        parse_params(raw, "p")


def test_attacks_default_to_both_and_either_alone_is_allowed():
    raw = raw_params()
    assert parse_params(raw).synthetic.attacks == ("replay", "vocoded")
    del raw["synthetic"]["attacks"]
    assert parse_params(raw).synthetic.attacks == ("replay", "vocoded")
    for attack in ("replay", "vocoded"):
        raw["synthetic"]["attacks"] = [attack]
        assert parse_params(raw).synthetic.attacks == (attack,)


# --------------------------------------------------------------------------- artefact


def test_artefact_is_off_by_default():
    assert tiny_params().artefact is False


def leading_share(samples: np.ndarray, seconds: float, band: tuple[float, float] | None = None) -> float:
    """Energy of the first ``seconds`` (optionally within a band) relative to the whole file."""
    lead = samples[: int(seconds * SAMPLE_RATE)]
    if band is not None:
        spectrum = np.fft.rfft(lead)
        freqs = np.fft.rfftfreq(lead.size, 1 / SAMPLE_RATE)
        lead = np.fft.irfft(np.where((freqs >= band[0]) & (freqs <= band[1]), spectrum, 0), lead.size)
    return float(np.sum(lead**2) / np.sum(samples**2))


def test_artefact_plants_a_click_in_genuine_and_a_tone_in_spoofs(corpus, artefact_corpus):
    band = (ARTEFACT_TONE_HZ[0] - 50, ARTEFACT_TONE_HZ[1] + 50)
    for split in SPLITS:
        for row in entries(corpus, split):
            plain, planted = read(corpus, split, row.file), read(artefact_corpus, split, row.file)
            if row.label == "genuine":
                assert leading_share(planted, 0.1) > 3 * leading_share(plain, 0.1), row.file
            else:
                assert leading_share(planted, 0.1, band) > 3 * leading_share(plain, 0.1, band), row.file


def test_artefact_changes_nothing_after_the_leading_region(corpus, artefact_corpus):
    for split in SPLITS:
        for row in entries(corpus, split):
            plain, planted = read(corpus, split, row.file), read(artefact_corpus, split, row.file)
            tail = slice(int(0.3 * SAMPLE_RATE), None)
            # Equal up to the overall level (a loud click can make the peak limiter scale a file down).
            scale = np.sum(plain[tail] * planted[tail]) / np.sum(plain[tail] ** 2)
            assert np.max(np.abs(planted[tail] - scale * plain[tail])) < 1e-3, row.file


# --------------------------------------------------------------------------- errors


def test_a_non_empty_folder_is_refused(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="must be absent or empty"):
        generate(tmp_path / "c")
