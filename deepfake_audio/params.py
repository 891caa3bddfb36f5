"""Typed pipeline parameters, loaded once from ``params.yaml``.

Every section of ``params.yaml`` maps to a model below. Unknown keys, values of the wrong
type and values beyond what the libraries or a 2-core, 24 GB machine can take are refused
with a one-line message that names the offending key, so a typo never silently falls back
to a default and no stage ends in a traceback.

``params.yaml`` is the source of the defaults: the defaults below repeat its values, so a
section left out of it means the same as the committed one, and tests/test_params.py fails
when the two drift apart.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator
from pydantic_core import ErrorDetails

from deepfake_audio import paths
from deepfake_audio.errors import InputError
from deepfake_audio.io import file_type

DEFAULT_PARAMS_FILE = Path("params.yaml")
MAX_FILE_BYTES = 1_000_000  # the committed file is under 10 kB
MAX_DEPTH = 32  # nesting levels; the committed file uses 5

Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]  # NumPy's limit
Files = Annotated[int, Field(ge=1, le=100_000)]  # a count of synthetic files or groups
Decibels = Annotated[float, Field(ge=-50.0, le=150.0)]


class ParamsError(InputError):
    """params.yaml is missing, unreadable or does not match the schema."""


class Section(BaseModel):
    # allow_inf_nan: YAML's .inf and .nan are refused wherever a float is expected.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


# Corpora used where they lie: data.root names the folder of the local copy (docs/corpora.md).
LocalSource = Literal[
    "asvspoof2019_la", "asvspoof2019_pa", "asvspoof2021_la", "asvspoof2021_df", "in_the_wild", "asvspoof5"
]
LOCAL_SOURCES: tuple[str, ...] = get_args(LocalSource)


class SpeakerSplit(Section):
    """A speaker-disjoint split of a corpus that publishes none (In-the-Wild): the share of the
    files that goes to dev and to eval, whole speakers at a time; the rest is train."""

    dev: float = Field(gt=0.0, lt=1.0)
    eval: float = Field(gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _leaves_a_train_split(self) -> SpeakerSplit:
        if self.dev + self.eval >= 1.0:
            raise ValueError(
                f"dev + eval ({self.dev:g} + {self.eval:g}) must leave files for train (below 1)"
            )
        return self


class DataParams(Section):
    source: Literal["synthetic", "asvspoof2017", "custom", LocalSource] = "synthetic"
    # Where the corpus lives; by default data/raw/<source>. Required for the LOCAL_SOURCES.
    root: str | None = None
    # Custom datasets only: the CSV listing path, label and split of each file.
    protocol: str | None = None
    sample_rate: int = Field(16000, ge=8000, le=48000)
    # in_the_wild only: null (every file is eval: a cross corpus) or {dev: 0.2, eval: 0.2}.
    speaker_split: SpeakerSplit | None = None

    @property
    def corpus_dir(self) -> Path:
        return Path(self.root) if self.root else paths.RAW / self.source

    @model_validator(mode="after")
    def _paths_fit_the_source(self) -> DataParams:
        if self.source == "synthetic" and self.root is not None:
            raise ValueError(
                "root must be null for the synthetic corpus, which is generated under data/raw/synthetic"
            )
        if (self.source == "custom") != (self.protocol is not None):
            raise ValueError(
                "protocol (a CSV of path, label, split) is required for source custom and only used there"
            )
        if self.source in LOCAL_SOURCES and self.root is None:
            raise ValueError(
                f"root is required for source {self.source}: set data.root to the folder of the "
                "local copy (docs/corpora.md)"
            )
        if self.speaker_split is not None and self.source != "in_the_wild":
            raise ValueError("speaker_split is used with source in_the_wild only; set it to null")
        return self


SyntheticAttack = Literal["replay", "vocoded"]  # the kinds of spoof the embedded corpus can hold
SYNTHETIC_ATTACKS: tuple[SyntheticAttack, ...] = ("replay", "vocoded")


class SyntheticSplit(Section):
    """Size of one split of the embedded corpus."""

    speakers: Files
    genuine: Files
    spoof: Files
    environments: Files
    playback_devices: Files
    recorders: Files
    # Distinct (environment, playback, recorder) triples the spoofs are drawn from.
    replay_configs: Files

    @model_validator(mode="after")
    def _every_speaker_has_both_classes(self) -> SyntheticSplit:
        for label in ("genuine", "spoof"):
            if self.speakers > getattr(self, label):
                raise ValueError(
                    f"speakers ({self.speakers}) exceeds {label} ({getattr(self, label)}): "
                    "every speaker needs at least one genuine and one spoofed file"
                )
        return self


class SyntheticParams(Section):
    phrases: int = Field(10, ge=1, le=10)
    train: SyntheticSplit
    dev: SyntheticSplit
    eval: SyntheticSplit
    snr_db: tuple[Decibels, Decibels] = (15.0, 35.0)
    # Quality range of the playback loudspeakers: 0 is a cheap phone speaker, 1 studio grade.
    playback_quality: tuple[float, float] = (0.2, 0.95)
    # Plant the ASVspoof 2017 artefact: a click at the start of genuine files and a tone
    # in the leading silence of spoofed ones.
    artefact: bool = False
    # The kinds of spoof: replayed through a loudspeaker, or a take passed through one of
    # the split's vocoders (A01...). With both, each split's spoofs are half of each.
    attacks: tuple[SyntheticAttack, ...] = SYNTHETIC_ATTACKS

    def split(self, name: str) -> SyntheticSplit:
        return getattr(self, name)

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> SyntheticParams:
        for key in ("snr_db", "playback_quality"):
            low, high = getattr(self, key)
            if low > high:
                raise ValueError(f"{key} must be [low, high], got [{low}, {high}]")
        if not 0.0 <= self.playback_quality[0] <= self.playback_quality[1] <= 1.0:
            raise ValueError("playback_quality must lie within [0, 1]")
        return self

    @model_validator(mode="after")
    def _attacks_are_named_once(self) -> SyntheticParams:
        if not self.attacks:
            raise ValueError(f"attacks must name at least one of {', '.join(SYNTHETIC_ATTACKS)}")
        if len(set(self.attacks)) != len(self.attacks):
            raise ValueError(f"attacks lists an attack twice: {list(self.attacks)}")
        return self


ASVSPOOF2017_URLS = {
    "protocol": "https://datashare.ed.ac.uk/bitstreams/dbf267c4-517e-4193-9cdf-c8eadc82ec78/download",
    "train": "https://datashare.ed.ac.uk/bitstreams/4c7e2262-fe78-497e-839f-0ceabbbf2d1e/download",
    "dev": "https://datashare.ed.ac.uk/bitstreams/4daef0d3-f9e8-49e4-9ffc-a7362842a8f2/download",
    "eval": "https://datashare.ed.ac.uk/bitstreams/77c52086-76ed-4517-a72a-cc94e54a2c0a/download",
}


class DownloadUrls(Section):
    """Where the four ASVspoof 2017 V2 archives come from (Edinburgh DataShare 10283/3055)."""

    protocol: str = ASVSPOOF2017_URLS["protocol"]
    train: str = ASVSPOOF2017_URLS["train"]
    dev: str = ASVSPOOF2017_URLS["dev"]
    eval: str = ASVSPOOF2017_URLS["eval"]


class DownloadParams(Section):
    urls: DownloadUrls = DownloadUrls()
    # Where archives are kept between runs (outside DVC's outputs, so a rerun does not refetch).
    archive_dir: str = "data/downloads"
    # The committed record of each archive's SHA-256 and size, written at first verification.
    checksums: str = "data/asvspoof2017.sha256"
    skip_eval: bool = False
    retries: int = Field(4, ge=0, le=100)
    timeout_s: float = Field(60.0, gt=0.0, le=3600.0)


class PrepareParams(Section):
    # What to do with unreadable, empty, too short, non-finite or silent audio.
    on_bad_audio: Literal["fail", "skip"] = "fail"
    min_duration_s: float = Field(0.5, ge=0.0, le=3600.0)


class HandcraftedParams(Section):
    """Named utterance features for the SVC; each family can be switched off."""

    mfcc: bool = True
    lfcc: bool = True
    cqcc: bool = True
    spectral: bool = True  # centroid, bandwidth, roll-off, flatness, contrast, zero-crossing rate, RMS
    band_energy: bool = True  # log energy of each band relative to the whole spectrum
    n_cepstra: int = Field(20, ge=1, le=1024)  # coefficients per cepstral family
    deltas: bool = True  # add delta and delta-delta tracks of the cepstra
    n_mels: int = Field(64, ge=8, le=1024)  # MFCC filterbank
    n_linear: int = Field(64, ge=8, le=1024)  # LFCC filterbank (triangular, linearly spaced)
    cqt_fmin: float = Field(
        62.5, gt=0.0, le=24_000.0
    )  # CQCC: lowest constant-Q bin; whole octaves up to Nyquist
    # Todisco et al. use 96; 12 keeps the transform affordable (24 doubles its cost).
    cqt_bins_per_octave: int = Field(12, ge=2, le=96)
    band_edges_hz: tuple[float, ...] = Field(
        (0.0, 500.0, 1000.0, 2000.0, 4000.0, 6000.0, 8000.0), min_length=2, max_length=256
    )

    @model_validator(mode="after")
    def _families_fit(self) -> HandcraftedParams:
        edges = self.band_edges_hz
        if edges[0] < 0 or any(high <= low for low, high in pairwise(edges)):
            raise ValueError(f"band_edges_hz must be non-negative and strictly increasing, got {list(edges)}")
        if not (self.mfcc or self.lfcc or self.cqcc or self.spectral or self.band_energy):
            raise ValueError("switch on at least one of mfcc, lfcc, cqcc, spectral, band_energy")
        for family, filters in (("mfcc", "n_mels"), ("lfcc", "n_linear")):
            if getattr(self, family) and self.n_cepstra > getattr(self, filters):
                raise ValueError(
                    f"n_cepstra ({self.n_cepstra}) must not exceed {filters} ({getattr(self, filters)})"
                )
        return self


class SpectrogramParams(Section):
    """The time-frequency input of the CNN."""

    kind: Literal["mel", "linear"] = "mel"  # log-Mel, or log power of every FFT bin
    n_mels: int = Field(64, ge=8, le=1024)  # kind mel only
    n_frames: int = Field(400, ge=8, le=10_000)
    # Shorter utterances: repeated, or followed by silence, to n_frames; none: the CNN sees
    # only the utterance's own frames (stored followed by zero columns).
    pad: Literal["repeat", "zeros", "none"] = "none"
    # utterance: one mean and scale per utterance; global: per frequency bin, from the train split
    normalize: Literal["utterance", "global", "none"] = "utterance"
    # null, or dB: the rows above a source's bandwidth (the last FFT bin whose mean power is
    # within this many dB of the loudest) take the utterance's mean, so that the empty band
    # of a file recorded at a lower rate (8 kHz) is not read as a replay cue.
    mask_empty_band_db: float | None = Field(70.0, gt=0.0, le=200.0)


class VadParams(Section):
    """Energy voice activity detection: where the speech of a file starts and ends.

    Frames (features.win_length, hop features.hop_length) whose energy lies within
    ``top_db`` of the file's loudest stretch of ``min_speech_ms`` are voiced; voiced runs
    shorter than ``min_speech_ms`` (clicks, bursts) are not speech.
    """

    top_db: float = Field(15.0, gt=0.0, le=200.0)
    min_speech_ms: float = Field(60.0, ge=0.0, le=60_000.0)


class FeaturesParams(Section):
    n_fft: int = Field(512, ge=64, le=65_536)
    win_length: int = Field(400, ge=16, le=65_536)
    hop_length: int = Field(160, ge=1, le=65_536)
    # null, or the speech detector (as audit.vad) that cuts every file to its speech (first
    # to last voiced frame) before any feature, in every stage and in predict, so that no
    # model can learn the non-speech.
    trim: VadParams | None = None
    handcrafted: HandcraftedParams = HandcraftedParams()
    spectrogram: SpectrogramParams = SpectrogramParams()

    @model_validator(mode="after")
    def _window_fits(self) -> FeaturesParams:
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length ({self.win_length}) must not exceed n_fft ({self.n_fft})")
        if self.hop_length > self.n_fft:
            raise ValueError(f"hop_length ({self.hop_length}) must not exceed n_fft ({self.n_fft})")
        # More filters than FFT bins leaves some filters empty.
        bins = self.n_fft // 2 + 1
        for used, key, filters in (
            (self.handcrafted.mfcc, "handcrafted.n_mels", self.handcrafted.n_mels),
            (self.handcrafted.lfcc, "handcrafted.n_linear", self.handcrafted.n_linear),
            (self.spectrogram.kind == "mel", "spectrogram.n_mels", self.spectrogram.n_mels),
        ):
            if used and filters > bins:
                raise ValueError(
                    f"{key} ({filters}) must not exceed the {bins} FFT bins of n_fft ({self.n_fft})"
                )
        return self


@dataclass(frozen=True)
class AnalysisSettings:
    """What decides an utterance's features: ``data.sample_rate`` and the ``features`` section."""

    sample_rate: int  # Hz; the audio is resampled to it before analysis
    features: FeaturesParams


MAX_PCA_COMPONENTS = 100_000


class SvcSettings(Section):
    """One setting of the SVC pipeline; the grid search tries variations of it."""

    # PCA after scaling: null keeps every feature, an int keeps that many components,
    # a fraction keeps the components explaining that share of the variance.
    pca_components: PositiveInt | float | None = None
    kernel: Literal["rbf", "linear", "poly", "sigmoid"] = "rbf"
    C: float = Field(1.0, gt=0.0, le=1e6)
    gamma: Literal["scale", "auto"] | Annotated[float, Field(gt=0.0, le=1e6)] = "scale"
    class_weight: Literal["balanced"] | None = "balanced"

    @model_validator(mode="after")
    def _pca_fraction_is_a_fraction(self) -> SvcSettings:
        if isinstance(self.pca_components, float) and not 0.0 < self.pca_components < 1.0:
            raise ValueError(
                f"pca_components must be an integer or a fraction in (0, 1), got {self.pca_components}"
            )
        # Checked here: a bound on the integer would let a large one through as a float.
        if isinstance(self.pca_components, int) and self.pca_components > MAX_PCA_COMPONENTS:
            raise ValueError(f"pca_components ({self.pca_components}) must not exceed {MAX_PCA_COMPONENTS}")
        return self


class SvcSearch(Section):
    # none: train the setting above; dev: pick from the grid by EER on the dev split;
    # cv: by mean EER over cross-validation folds of the training split, grouped by speaker.
    method: Literal["none", "dev", "cv"] = "dev"
    cv_folds: int = Field(4, ge=2, le=100)
    # Values to try for any SvcSettings key; keys left out keep the value set above.
    # Ignored with method none, so switching the search off needs no other edit.
    grid: dict[str, tuple[int | float | str | None, ...]] = {
        "C": (0.1, 1.0, 10.0, 100.0),
        "gamma": ("scale", 0.0003, 0.001, 0.003),
    }


Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class AugmentParams(Section):
    """Channel augmentation of the training audio (``deepfake_audio/augment.py``).

    ``copies`` distorted copies of each training file of ``classes`` join the training
    split (0: off); each copy gets each degradation with its probability.
    """

    copies: int = Field(0, ge=0, le=20)
    classes: Literal["both", "bonafide"] = "both"
    convolutive: Probability = 0.5  # RawBoost 1: random multi-band filters of the signal and its powers
    impulsive: Probability = 0.3  # RawBoost 2: signal-dependent impulses
    stationary: Probability = 0.5  # RawBoost 3: coloured noise at an SNR in snr_db
    narrowband: Probability = 0.3  # resampled to 8 kHz and back
    mulaw: Probability = 0.1  # 8-bit mu-law
    snr_db: tuple[Decibels, Decibels] = (10.0, 40.0)

    @model_validator(mode="after")
    def _snr_range(self) -> AugmentParams:
        if self.snr_db[0] > self.snr_db[1]:
            raise ValueError(f"snr_db must be [low, high], got [{self.snr_db[0]}, {self.snr_db[1]}]")
        return self


class TrainSvcParams(SvcSettings):
    search: SvcSearch = SvcSearch()
    # Chosen by the robustness benchmark (docs/robustness.md); the CNN's is off.
    augment: AugmentParams = AugmentParams(copies=1, classes="bonafide")

    @model_validator(mode="after")
    def _grid_values_are_valid_settings(self) -> TrainSvcParams:
        for key, values in self.search.grid.items():
            if key not in SvcSettings.model_fields:
                raise ValueError(
                    f"search.grid.{key}: not an SVC setting (one of {', '.join(SvcSettings.model_fields)})"
                )
            if not values:
                raise ValueError(f"search.grid.{key}: give at least one value")
            for value in values:
                try:
                    self.setting(**{key: value})
                except ValidationError as err:
                    raise ValueError(
                        f"search.grid.{key}: {value!r} is not valid: {_own_message(err.errors()[0])}"
                    ) from None
        return self

    def setting(self, **changes) -> SvcSettings:
        """The base setting, with ``changes`` applied and validated."""
        return SvcSettings.model_validate({**self.model_dump(exclude={"search", "augment"}), **changes})


class SpecAugmentParams(Section):
    """Random frequency and time masks on training spectrograms (Park et al., 2019)."""

    freq_masks: int = Field(2, ge=0, le=100)
    max_freq_width: int = Field(16, ge=1, le=1024)  # in frequency bins
    time_masks: int = Field(2, ge=0, le=100)
    max_time_width: int = Field(40, ge=1, le=10_000)  # in frames
    # Probability that an example's top rows (1 to max_top_width of them) are masked, as
    # features.spectrogram.mask_empty_band_db masks the empty band of a narrowband source.
    top_band: float = Field(0.3, ge=0.0, le=1.0)
    max_top_width: int = Field(24, ge=1, le=1024)  # in frequency bins


LCNN_POOLS = 4  # the max-pools of LCNN_LAYERS in deepfake_audio/models/cnn.py


class TrainCnnParams(Section):
    # simple: a small conv net; lcnn: Light CNN with Max-Feature-Map (Lavrentyeva et al., 2019).
    arch: Literal["simple", "lcnn"] = "lcnn"
    # simple: channels per block
    filters: tuple[Annotated[int, Field(gt=0, le=1024)], ...] = Field(
        (16, 32, 64), min_length=1, max_length=16
    )
    # lcnn: multiple of the published channel counts (1.0 = 32-48-64-32-32 after MFM).
    lcnn_width: float = Field(0.5, gt=0.0, le=4.0)
    # Regularisers: the training split has few devices, and an unregularised CNN learns them.
    input_noise: float = Field(0.3, ge=0.0, le=100.0)  # std of Gaussian noise added to the input in training
    spatial_dropout: float = Field(0.2, ge=0.0, lt=1.0)  # simple: drops whole feature maps per block
    dropout: float = Field(0.3, ge=0.0, lt=1.0)  # before the output layer
    spec_augment: SpecAugmentParams = SpecAugmentParams()
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    learning_rate: float = Field(1e-3, gt=0.0, le=10.0)
    epochs: int = Field(30, ge=1, le=10_000)
    batch_size: int = Field(32, ge=1, le=4096)
    # Training examples: random crops of this many frames of each utterance's own frames
    # (shorter ones repeated to fill it); null: features.spectrogram.n_frames. Scoring always
    # reads an utterance's own frames whole.
    # 200 (2 s): half the training arithmetic of whole 4 s inputs, the same EER over 3 seeds
    # (docs/speed.md).
    crop_frames: int | None = Field(200, ge=8, le=10_000)
    # Early stopping: stop when this dev figure has not improved for `patience` epochs,
    # then keep the best epoch's weights.
    monitor: Literal["dev_eer", "dev_loss"] = "dev_eer"
    patience: int = Field(8, ge=1, le=10_000)
    # One network per seed, trained alike; the model is the average of their logits, and
    # metrics/train_cnn.json gives each seed's dev EER with their mean and std.
    seeds: tuple[Seed, ...] = Field((2017,), min_length=1, max_length=100)
    augment: AugmentParams = AugmentParams()

    @model_validator(mode="after")
    def _distinct_seeds(self) -> TrainCnnParams:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must differ from each other (got {list(self.seeds)})")
        return self


class FramesParams(Section):
    """The GMM's input: frame-level cepstra (``deepfake_audio/features/frames.py``).

    The coefficients, filterbanks and constant-Q range are ``features.handcrafted``'s
    (``n_cepstra``, ``n_linear``, ``cqt_fmin``, ``cqt_bins_per_octave``), the frames
    ``features``' (``n_fft``, ``win_length``, ``hop_length``, ``trim``).
    """

    # lfcc: the 2019 baseline's, chosen by the robustness benchmark; cqcc: the 2017 baseline's
    kind: Literal["lfcc", "cqcc"] = "lfcc"
    deltas: bool = True  # append the delta and delta-delta of each coefficient
    cmvn: bool = True  # per-utterance cepstral mean and variance normalisation


class TrainGmmParams(Section):
    """Two Gaussian mixtures, bona fide and spoof; the score is their mean log-likelihood ratio."""

    frames: FramesParams = FramesParams()
    # The ASVspoof 2017 baseline: 512 components; fewer fit the embedded corpus in seconds.
    components: int = Field(64, ge=1, le=4096)
    covariance: Literal["diag", "full", "tied", "spherical"] = "diag"
    max_iter: int = Field(100, ge=1, le=10_000)  # EM iterations
    # Training frames per class, drawn at random (seeded) from every file of the class.
    max_frames: int = Field(100_000, ge=100, le=100_000_000)


class MinDcfParams(Section):
    """Costs and prior of the detection cost function (ASVspoof 2019 countermeasure values)."""

    p_spoof: float = Field(0.05, gt=0.0, lt=1.0)  # prior probability of a spoofing attack
    c_miss: float = Field(1.0, gt=0.0, le=1e6)  # cost of rejecting a bona fide utterance
    c_fa: float = Field(10.0, gt=0.0, le=1e6)  # cost of accepting a spoofed utterance


class BootstrapParams(Section):
    resamples: int = Field(1000, ge=10, le=100_000)  # resamples per class for the 95 % intervals
    seed: Seed = 0


STRESS_SOURCE = (
    "stress"  # a cross corpus that is a stress variant of the embedded one (deepfake_audio/stress.py)
)


class CrossCorpusParams(Section):
    """A further corpus that the models trained on the main corpus score (``evaluate.cross``):
    a local copy of any source ``data.source`` names but the embedded one, or a stress variant
    of the embedded corpus (``source: stress``)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)  # metrics/cross/<name>.json
    source: str
    variant: str | None = (
        None  # stress only: unseen | short | narrowband | hifi_playback | noisy | loud | quiet
    )
    seed: Seed = 7  # stress only: the variant's corpus seed, never the main seed (other speakers and devices)
    root: str | None = None  # every other source: where its local copy lives
    protocol: str | None = None  # custom only: the CSV
    splits: tuple[Literal["train", "dev", "eval"], ...] = Field(("eval",), min_length=1)  # the splits scored

    def data_params(self, sample_rate: int) -> DataParams:
        """The corpus as a ``data`` section (not for stress variants)."""
        return DataParams(source=self.source, root=self.root, protocol=self.protocol, sample_rate=sample_rate)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _fits_the_source(self) -> CrossCorpusParams:
        if self.source == STRESS_SOURCE:
            if self.variant is None:
                raise ValueError("variant is required for source stress (e.g. unseen, narrowband)")
            if self.splits != ("eval",):
                raise ValueError("a stress variant has an eval split only: splits must be [eval]")
            return self
        if self.variant is not None:
            raise ValueError("variant is for source stress only")
        if self.source == "synthetic":
            raise ValueError(
                "the embedded corpus is the main corpus; a cross corpus drawn from it is a stress variant "
                "(source: stress, variant: unseen)"
            )
        if self.root is None and self.source != "custom":
            raise ValueError(f"root (the folder of the local copy) is required for source {self.source}")
        self.data_params(16000)  # the source and its paths, checked as data's
        return self


class EvaluateParams(Section):
    min_dcf: MinDcfParams = MinDcfParams()
    bootstrap: BootstrapParams = BootstrapParams()
    plot_points: int = Field(200, ge=10, le=100_000)  # points kept per curve in the plot data files
    # Further corpora the trained models score with their main-dev thresholds (metrics/cross/).
    cross: tuple[CrossCorpusParams, ...] = (
        CrossCorpusParams(name="unseen", source=STRESS_SOURCE, variant="unseen"),
        CrossCorpusParams(name="narrowband", source=STRESS_SOURCE, variant="narrowband"),
    )

    @model_validator(mode="after")
    def _names_are_unique(self) -> EvaluateParams:
        names = [corpus.name for corpus in self.cross]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"cross: each corpus needs its own name; repeated: {', '.join(repeated)}")
        return self


class PermutationParams(Section):
    repeats: int = Field(5, ge=1, le=1000)  # shuffles of each feature; the importance is their mean


class ShapParams(Section):
    background: int = Field(20, ge=1, le=1000)  # k-means centres summarising the training features
    utterances: int = Field(40, ge=2, le=10_000)  # explained, half of each class, drawn from explain.split
    samples: int = Field(1000, ge=10, le=100_000)  # model evaluations per explained utterance


class LimeParams(Section):
    features: int = Field(10, ge=1, le=1000)  # features in each local explanation
    samples: int = Field(2000, ge=10, le=100_000)  # perturbed copies of each explained utterance


class GradcamParams(Section):
    # The regions whose share of the Grad-CAM mass metrics/explain.json reports: the start
    # of the file (where ASVspoof 2017's artefacts sit) and the top of the spectrum.
    first_ms: float = Field(300.0, gt=0.0, le=60_000.0)
    above_hz: float = Field(4000.0, gt=0.0, le=24_000.0)


class ExplainParams(Section):
    split: Literal["dev", "eval"] = "eval"  # utterances explained (permutation importance uses dev)
    per_case: int = Field(1, ge=1, le=1000)  # utterances per case: most confident and worst of each class
    top_features: int = Field(15, ge=1, le=1000)  # features shown in the plots and listed in the metrics
    seed: Seed = 0
    permutation: PermutationParams = PermutationParams()
    shap: ShapParams = ShapParams()
    lime: LimeParams = LimeParams()
    gradcam: GradcamParams = GradcamParams()


class TransplantParams(Section):
    # The first head_ms of a file of the other class is put in front of each audited file.
    head_ms: float = Field(100.0, gt=0.0, le=60_000.0)
    seed: Seed = 0  # which donor each file gets


class RiskParams(Section):
    """When ``shortcut_risk`` is high: changes beyond these, in percentage points."""

    max_rate_change: float = Field(
        10.0, gt=0.0, le=100.0
    )  # of FAR or FRR at the dev threshold, after the transplant
    max_eer_rise: float = Field(10.0, gt=0.0, le=100.0)  # of the EER, after trimming


class AuditParams(Section):
    split: Literal["dev", "eval"] = "eval"  # the utterances audited
    # CSV of utt_id, start_s, end_s: where each file's speech lies (others fall back to the VAD).
    annotations: str | None = None
    vad: VadParams = VadParams()
    transplant: TransplantParams = TransplantParams()
    # Models retrained and evaluated on trimmed audio (written to models/trimmed/<model>/).
    retrain: tuple[Literal["svc", "cnn"], ...] = ("svc",)
    risk: RiskParams = RiskParams()

    @model_validator(mode="after")
    def _retrain_each_once(self) -> AuditParams:
        if len(set(self.retrain)) != len(self.retrain):
            raise ValueError(f"retrain lists a model twice: {list(self.retrain)}")
        return self


class ComputeParams(Section):
    n_jobs: int = Field(2, ge=1, le=256)  # local processes, or the workers of a local Dask cluster
    # Where per-file work runs: local processes, or Dask (results are the same bit for bit).
    backend: Literal["local", "dask"] = "local"
    # With dask: a scheduler address (tcp://host:8786) or scheduler file (.json); null starts
    # a local cluster of n_jobs single-threaded worker processes on 127.0.0.1.
    scheduler: str | None = None

    @model_validator(mode="after")
    def _scheduler_needs_dask(self) -> ComputeParams:
        if self.scheduler is not None and self.backend != "dask":
            raise ValueError("scheduler is used with backend dask only")
        return self


class Params(Section):
    seed: Seed = 2017
    data: DataParams = DataParams()
    synthetic: SyntheticParams
    download: DownloadParams = DownloadParams()
    prepare: PrepareParams = PrepareParams()
    features: FeaturesParams = FeaturesParams()
    train_svc: TrainSvcParams = TrainSvcParams()
    train_cnn: TrainCnnParams = TrainCnnParams()
    train_gmm: TrainGmmParams = TrainGmmParams()
    evaluate: EvaluateParams = EvaluateParams()
    explain: ExplainParams = ExplainParams()
    audit: AuditParams = AuditParams()
    compute: ComputeParams = ComputeParams()

    @property
    def analysis_settings(self) -> AnalysisSettings:
        return AnalysisSettings(self.data.sample_rate, self.features)

    @model_validator(mode="after")
    def _cnn_input_survives_pooling(self) -> Params:
        cnn, spectrogram = self.train_cnn, self.features.spectrogram
        pools = LCNN_POOLS if cnn.arch == "lcnn" else len(cnn.filters)
        rows = (
            ("features.spectrogram.n_mels", spectrogram.n_mels)
            if spectrogram.kind == "mel"
            else ("the n_fft // 2 + 1 bins of features.n_fft", self.features.n_fft // 2 + 1)
        )
        sizes = [rows, ("features.spectrogram.n_frames", spectrogram.n_frames)]
        if cnn.crop_frames is not None:
            sizes.append(("train_cnn.crop_frames", cnn.crop_frames))
        for key, size in sizes:
            if size < 2**pools:
                raise ValueError(
                    f"train_cnn: the {cnn.arch} net halves its input {pools} times, so {key} "
                    f"({size}) must be at least {2**pools}"
                )
        if cnn.crop_frames is not None and cnn.crop_frames > spectrogram.n_frames:
            raise ValueError(
                f"train_cnn.crop_frames ({cnn.crop_frames}) must not exceed "
                f"features.spectrogram.n_frames ({spectrogram.n_frames}), the stored input "
                "(null: crops of the stored width)"
            )
        return self

    @model_validator(mode="after")
    def _stress_variants_draw_another_corpus(self) -> Params:
        for corpus in self.evaluate.cross:
            if corpus.source == STRESS_SOURCE and corpus.seed == self.seed:
                raise ValueError(
                    f"evaluate.cross ({corpus.name}): seed must differ from the main seed ({self.seed}), "
                    "or the variant says the training corpus's takes"
                )
        return self

    @model_validator(mode="after")
    def _frequencies_fit_the_sample_rate(self) -> Params:
        # The feature code says what fits. Imported here: it imports this module, and librosa.
        from deepfake_audio.features.cepstra import cqt_octaves, uniform_cq_frequencies

        sample_rate, nyquist = self.data.sample_rate, self.data.sample_rate / 2
        handcrafted = self.features.handcrafted
        if handcrafted.band_energy:
            _check_bands(handcrafted.band_edges_hz, sample_rate, self.features.n_fft)
        if handcrafted.cqcc:
            if cqt_octaves(sample_rate, handcrafted.cqt_fmin) < 1:
                raise ValueError(
                    f"features.handcrafted.cqt_fmin ({handcrafted.cqt_fmin:g}) leaves no whole "
                    f"octave below half of data.sample_rate ({nyquist:g} Hz)"
                )
            points = uniform_cq_frequencies(
                sample_rate, handcrafted.cqt_fmin, handcrafted.cqt_bins_per_octave
            ).size
            if points < handcrafted.n_cepstra:
                raise ValueError(
                    f"features.handcrafted.cqt_fmin ({handcrafted.cqt_fmin:g}): the constant-Q "
                    f"range up to {nyquist:g} Hz resamples to {points} points, fewer than "
                    f"n_cepstra ({handcrafted.n_cepstra}); lower cqt_fmin"
                )
        if self.explain.gradcam.above_hz >= nyquist:
            raise ValueError(
                f"explain.gradcam.above_hz ({self.explain.gradcam.above_hz:g}) must be below half "
                f"of data.sample_rate ({nyquist:g} Hz)"
            )
        return self


def _check_bands(edges: tuple[float, ...], sample_rate: int, n_fft: int) -> None:
    from deepfake_audio.features.filterbanks import band_masks  # here: only these checks need librosa

    nyquist = sample_rate / 2
    if edges[-1] > nyquist:
        raise ValueError(
            f"features.handcrafted.band_edges_hz: the top edge ({edges[-1]:g}) exceeds half of "
            f"data.sample_rate ({nyquist:g} Hz)"
        )
    for (low, high), mask in zip(pairwise(edges), band_masks(sample_rate, n_fft, edges), strict=True):
        if not mask.any():
            raise ValueError(
                f"features.handcrafted.band_edges_hz: the band {low:g}-{high:g} Hz holds no FFT bin "
                f"(bins are {sample_rate / n_fft:g} Hz apart with features.n_fft)"
            )


def load_params(path: str | Path = DEFAULT_PARAMS_FILE) -> Params:
    path = Path(path)
    text = _read_text(path)
    try:
        _check_events(text)
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: builds plain data only
    except _Refused as err:
        raise ParamsError(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: {_yaml_problem(err, text)}") from None
    if raw is None:
        raise ParamsError(f"{path}: the file is empty; expected a mapping of sections")
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    return parse_params(raw, source=str(path))


def _read_text(path: Path) -> str:
    try:
        if not stat.S_ISREG(mode := os.stat(path).st_mode):  # a FIFO would block, a device never end
            raise ParamsError(f"{path}: is {file_type(mode)}, not a file")
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # bounded: the file may be huge
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except OSError as err:
        raise ParamsError(f"{path}: cannot be read: {err.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ParamsError(f"{path}: larger than {MAX_FILE_BYTES} bytes; a params file is a few kB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ParamsError(f"{path}: not UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})") from None


class _Refused(Exception):
    """YAML that parses but that params.yaml must not use; the message starts with its line."""


def _check_events(text: str) -> None:
    """Refuse anchors, aliases, deep nesting and NUL characters before anything is built.

    Checked on the event stream, which PyYAML produces without recursion and without
    expanding aliases: an alias bomb or a 5000-deep list costs nothing here.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        assert event.start_mark is not None  # the parser marks every event it emits
        line = event.start_mark.line + 1
        if (anchor := getattr(event, "anchor", None)) is not None:
            raise _Refused(
                f"line {line}: anchors and aliases are not allowed (found '{anchor}'); write each value out"
            )
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(f"line {line}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent) and "\x00" in event.value:
            raise _Refused(f"line {line}: a value holds a NUL character (\\0)")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice in one mapping instead of keeping the last.

    Merge keys (<<) are refused too: what they merge in would hide a duplicate.
    """

    def construct_mapping(self, node, deep=False):
        lines = {}
        for key_node, _ in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(f"line {line}: merge keys (<<) are not allowed")
            if isinstance(key_node, yaml.ScalarNode):
                key = self.construct_object(key_node)
                if key in lines:
                    raise _Refused(f"line {line}: duplicate key {key!r} (also on line {lines[key]})")
                lines[key] = line
        return super().construct_mapping(node, deep)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as err:  # a date like 2020-13-45, a 5000-digit integer
            raise yaml.constructor.ConstructorError(None, None, str(err), node.start_mark) from None


def _yaml_problem(err: yaml.YAMLError, text: str) -> str:
    """One line: where PyYAML stopped and why (its own message spans several lines)."""
    if isinstance(err, yaml.reader.ReaderError):
        line = text.count("\n", 0, err.position) + 1
        return f"line {line}: not valid YAML: unacceptable character #x{err.character:04x} ({err.reason})"
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        reason = ", ".join(part for part in (err.context, err.problem) if part)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return f"{where}not valid YAML: {reason}"
    return f"not valid YAML: {' '.join(str(err).split())}"


def parse_params(raw: dict, source: str = "params") -> Params:
    try:
        return Params.model_validate(_lists_to_tuples(raw))
    except ValidationError as err:
        raise ParamsError(_describe(err, source)) from None


def _lists_to_tuples(value):
    # YAML has no tuples; strict mode would refuse a list where a tuple is declared.
    if isinstance(value, dict):
        return {key: _lists_to_tuples(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(_lists_to_tuples(item) for item in value)
    return value


def _describe(err: ValidationError, source: str) -> str:
    lines = []
    for problem in err.errors():
        # Union members add their type name to the location; keep only the user's keys.
        key = ".".join(str(part) for part in problem["loc"] if not _is_type_tag(part))
        if problem["type"] == "extra_forbidden":
            reason = "unknown key"
        elif problem["type"] == "missing":
            reason = "required key is missing"
        elif problem["type"] == "value_error":  # our own checks: the message says it all
            reason = _own_message(problem)
        else:
            reason = f"{problem['msg']} (got {_shorten(repr(problem.get('input')))})"
        lines.append(f"{source}: {key}: {reason}" if key else f"{source}: {reason}")
    return "\n".join(dict.fromkeys(lines))


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _own_message(problem: ErrorDetails) -> str:
    return problem["msg"].removeprefix("Value error, ")


def _is_type_tag(part) -> bool:
    return isinstance(part, str) and (
        part.startswith(("literal[", "function-", "constrained-"))
        or part in {"float", "int", "str", "bool", "none"}
    )
