"""Typed pipeline parameters, loaded once from ``params.yaml``.

Every section of ``params.yaml`` maps to a model below. Unknown keys and values of the
wrong type are refused with a message that names the offending key, so a typo never
silently falls back to a default.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from deepfake_audio import paths
from deepfake_audio.errors import InputError

DEFAULT_PARAMS_FILE = Path("params.yaml")
SPLITS = ("train", "dev", "eval")


class ParamsError(InputError):
    """params.yaml is missing, unreadable or does not match the schema."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DataParams(Section):
    source: Literal["synthetic", "asvspoof2017", "custom"] = "synthetic"
    # Where the corpus lives; by default data/raw/<source>.
    root: str | None = None
    # Custom datasets only: the CSV listing path, label and split of each file.
    protocol: str | None = None
    sample_rate: int = Field(16000, ge=8000, le=48000)

    @property
    def corpus_dir(self) -> Path:
        return Path(self.root) if self.root else paths.RAW / self.source

    @model_validator(mode="after")
    def _paths_fit_the_source(self) -> DataParams:
        if self.source == "synthetic" and self.root is not None:
            raise ValueError("root must be null for the synthetic corpus, which is generated "
                             "under data/raw/synthetic")
        if (self.source == "custom") != (self.protocol is not None):
            raise ValueError("protocol (a CSV of path, label, split) is required for source custom "
                             "and only used there")
        return self


class SyntheticSplit(Section):
    """Size of one split of the embedded corpus."""

    speakers: int = Field(ge=1)
    genuine: int = Field(ge=1)
    spoof: int = Field(ge=1)
    environments: int = Field(ge=1)
    playback_devices: int = Field(ge=1)
    recorders: int = Field(ge=1)
    # Distinct (environment, playback, recorder) triples the spoofs are drawn from.
    replay_configs: int = Field(ge=1)

    @model_validator(mode="after")
    def _every_speaker_has_both_classes(self) -> SyntheticSplit:
        for label in ("genuine", "spoof"):
            if self.speakers > getattr(self, label):
                raise ValueError(f"speakers ({self.speakers}) exceeds {label} ({getattr(self, label)}): "
                                 "every speaker needs at least one genuine and one spoofed file")
        return self


class SyntheticParams(Section):
    phrases: int = Field(10, ge=1, le=10)
    train: SyntheticSplit
    dev: SyntheticSplit
    eval: SyntheticSplit
    snr_db: tuple[float, float] = (15.0, 35.0)
    # Quality range of the playback loudspeakers: 0 is a cheap phone speaker, 1 studio grade.
    playback_quality: tuple[float, float] = (0.2, 0.95)
    # Plant the ASVspoof 2017 artefact: a click at the start of genuine files and a tone
    # in the leading silence of spoofed ones.
    artefact: bool = False

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
    retries: int = Field(4, ge=0)
    timeout_s: float = Field(60.0, gt=0.0)


class PrepareParams(Section):
    # What to do with unreadable, empty, too short, non-finite or silent audio.
    on_bad_audio: Literal["fail", "skip"] = "fail"
    min_duration_s: float = Field(0.5, ge=0.0)


class HandcraftedParams(Section):
    """Named utterance features for the SVC; each family can be switched off."""

    mfcc: bool = True
    lfcc: bool = True
    cqcc: bool = True
    spectral: bool = True  # centroid, bandwidth, roll-off, flatness, contrast, zero-crossing rate, RMS
    band_energy: bool = True  # log energy of each band relative to the whole spectrum
    n_cepstra: int = Field(20, ge=1)  # coefficients per cepstral family
    deltas: bool = True  # add delta and delta-delta tracks of the cepstra
    n_mels: int = Field(64, ge=8)  # MFCC filterbank
    n_linear: int = Field(64, ge=8)  # LFCC filterbank (triangular, linearly spaced)
    cqt_fmin: float = Field(62.5, gt=0.0)  # CQCC: lowest constant-Q bin; whole octaves up to Nyquist
    # Todisco et al. use 96; 12 keeps the transform affordable (24 doubles its cost).
    cqt_bins_per_octave: int = Field(12, ge=2)
    band_edges_hz: tuple[float, ...] = Field((0.0, 500.0, 1000.0, 2000.0, 4000.0, 6000.0, 8000.0),
                                             min_length=2)

    @model_validator(mode="after")
    def _families_fit(self) -> HandcraftedParams:
        edges = self.band_edges_hz
        if edges[0] < 0 or any(high <= low for low, high in zip(edges, edges[1:])):
            raise ValueError(f"band_edges_hz must be non-negative and strictly increasing, got {list(edges)}")
        if not (self.mfcc or self.lfcc or self.cqcc or self.spectral or self.band_energy):
            raise ValueError("switch on at least one of mfcc, lfcc, cqcc, spectral, band_energy")
        for family, filters in (("mfcc", "n_mels"), ("lfcc", "n_linear")):
            if getattr(self, family) and self.n_cepstra > getattr(self, filters):
                raise ValueError(f"n_cepstra ({self.n_cepstra}) must not exceed {filters} "
                                 f"({getattr(self, filters)})")
        return self


class SpectrogramParams(Section):
    """The time-frequency input of the CNN."""

    kind: Literal["mel", "linear"] = "mel"  # log-Mel, or log power of every FFT bin
    n_mels: int = Field(64, ge=8)  # kind mel only
    n_frames: int = Field(400, ge=8)
    pad: Literal["repeat", "zeros"] = "repeat"
    # utterance: one mean and scale per utterance; global: per frequency bin, from the train split
    normalize: Literal["utterance", "global", "none"] = "utterance"


class FeaturesParams(Section):
    n_fft: int = Field(512, ge=64)
    win_length: int = Field(400, ge=16)
    hop_length: int = Field(160, ge=1)
    handcrafted: HandcraftedParams = HandcraftedParams()
    spectrogram: SpectrogramParams = SpectrogramParams()

    @model_validator(mode="after")
    def _window_fits(self) -> FeaturesParams:
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length ({self.win_length}) must not exceed n_fft ({self.n_fft})")
        return self


class SvcSettings(Section):
    """One setting of the SVC pipeline; the grid search tries variations of it."""

    # PCA after scaling: null keeps every feature, an int keeps that many components,
    # a fraction keeps the components explaining that share of the variance.
    pca_components: PositiveInt | float | None = None
    kernel: Literal["rbf", "linear", "poly", "sigmoid"] = "rbf"
    C: float = Field(1.0, gt=0.0)
    gamma: Literal["scale", "auto"] | float = "scale"
    class_weight: Literal["balanced"] | None = "balanced"

    @model_validator(mode="after")
    def _pca_fraction_is_a_fraction(self) -> SvcSettings:
        if isinstance(self.pca_components, float) and not 0.0 < self.pca_components < 1.0:
            raise ValueError(f"pca_components must be an integer or a fraction in (0, 1), "
                             f"got {self.pca_components}")
        return self


class SvcSearch(Section):
    # none: train the setting above; dev: pick from the grid by EER on the dev split;
    # cv: by mean EER over cross-validation folds of the training split, grouped by speaker.
    method: Literal["none", "dev", "cv"] = "none"
    cv_folds: int = Field(4, ge=2)
    # Values to try for any SvcSettings key; keys left out keep the value set above.
    # Ignored with method none, so switching the search off needs no other edit.
    grid: dict[str, tuple[int | float | str | None, ...]] = {}


class TrainSvcParams(SvcSettings):
    search: SvcSearch = SvcSearch()

    @model_validator(mode="after")
    def _grid_values_are_valid_settings(self) -> TrainSvcParams:
        for key, values in self.search.grid.items():
            if key not in SvcSettings.model_fields:
                raise ValueError(f"search.grid.{key}: not an SVC setting (one of "
                                 f"{', '.join(SvcSettings.model_fields)})")
            if not values:
                raise ValueError(f"search.grid.{key}: give at least one value")
            for value in values:
                try:
                    self.setting(**{key: value})
                except ValidationError as err:
                    raise ValueError(f"search.grid.{key}: {value!r} is not valid: "
                                     f"{_own_message(err.errors()[0])}") from None
        return self

    def setting(self, **changes) -> SvcSettings:
        """The base setting, with ``changes`` applied and validated."""
        return SvcSettings.model_validate({**self.model_dump(exclude={"search"}), **changes})


class SpecAugmentParams(Section):
    """Random frequency and time masks on training spectrograms (Park et al., 2019)."""

    freq_masks: int = Field(2, ge=0)
    max_freq_width: int = Field(16, ge=1)  # in frequency bins
    time_masks: int = Field(2, ge=0)
    max_time_width: int = Field(40, ge=1)  # in frames


class TrainCnnParams(Section):
    # simple: a small conv net; lcnn: Light CNN with Max-Feature-Map (Lavrentyeva et al., 2019).
    arch: Literal["simple", "lcnn"] = "lcnn"
    filters: tuple[PositiveInt, ...] = Field((16, 32, 64), min_length=1)  # simple: channels per block
    # lcnn: multiple of the published channel counts (1.0 = 32-48-64-32-32 after MFM).
    lcnn_width: float = Field(0.5, gt=0.0, le=4.0)
    # Regularisers: the training split has few devices, and an unregularised CNN learns them.
    input_noise: float = Field(0.3, ge=0.0)  # std of Gaussian noise added to the input in training
    spatial_dropout: float = Field(0.2, ge=0.0, lt=1.0)  # simple: drops whole feature maps per block
    dropout: float = Field(0.3, ge=0.0, lt=1.0)  # before the output layer
    spec_augment: SpecAugmentParams = SpecAugmentParams()
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    learning_rate: float = Field(1e-3, gt=0.0)
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(32, ge=1)
    # Early stopping: stop when this dev figure has not improved for `patience` epochs,
    # then keep the best epoch's weights.
    monitor: Literal["dev_eer", "dev_loss"] = "dev_eer"
    patience: int = Field(8, ge=1)
    # One network per seed, trained alike; the model is the average of their logits, and
    # metrics/train_cnn.json gives each seed's dev EER with their mean and std.
    seeds: tuple[int, ...] = Field((2017,), min_length=1)

    @model_validator(mode="after")
    def _distinct_seeds(self) -> TrainCnnParams:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must differ from each other (got {list(self.seeds)})")
        return self


class MinDcfParams(Section):
    """Costs and prior of the detection cost function (ASVspoof 2019 countermeasure values)."""

    p_spoof: float = Field(0.05, gt=0.0, lt=1.0)  # prior probability of a spoofing attack
    c_miss: float = Field(1.0, gt=0.0)  # cost of rejecting a bona fide utterance
    c_fa: float = Field(10.0, gt=0.0)  # cost of accepting a spoofed utterance


class BootstrapParams(Section):
    resamples: int = Field(1000, ge=10)  # resamples per class for the 95 % intervals
    seed: int = Field(0, ge=0)


class EvaluateParams(Section):
    min_dcf: MinDcfParams = MinDcfParams()
    bootstrap: BootstrapParams = BootstrapParams()
    plot_points: int = Field(200, ge=10)  # points kept per curve in the plot data files


class PermutationParams(Section):
    repeats: int = Field(5, ge=1)  # shuffles of each feature; the importance is their mean


class ShapParams(Section):
    background: int = Field(20, ge=1)  # k-means centres summarising the training features
    utterances: int = Field(40, ge=2)  # explained, half of each class, drawn from explain.split
    samples: int = Field(1000, ge=10)  # model evaluations per explained utterance


class LimeParams(Section):
    features: int = Field(10, ge=1)  # features in each local explanation
    samples: int = Field(2000, ge=10)  # perturbed copies of each explained utterance


class GradcamParams(Section):
    # The regions whose share of the Grad-CAM mass metrics/explain.json reports: the start
    # of the file (where ASVspoof 2017's artefacts sit) and the top of the spectrum.
    first_ms: float = Field(300.0, gt=0.0)
    above_hz: float = Field(4000.0, gt=0.0)


class ExplainParams(Section):
    split: Literal["dev", "eval"] = "eval"  # utterances explained (permutation importance uses dev)
    per_case: int = Field(1, ge=1)  # utterances per case: most confident and worst of each class
    top_features: int = Field(15, ge=1)  # features shown in the plots and listed in the metrics
    seed: int = Field(0, ge=0)
    permutation: PermutationParams = PermutationParams()
    shap: ShapParams = ShapParams()
    lime: LimeParams = LimeParams()
    gradcam: GradcamParams = GradcamParams()


class VadParams(Section):
    """Energy voice activity detection: where the speech of a file starts and ends.

    Frames (features.win_length, hop features.hop_length) whose energy lies within
    ``top_db`` of the file's loudest stretch of ``min_speech_ms`` are voiced; voiced runs
    shorter than ``min_speech_ms`` (clicks, bursts) are not speech.
    """

    top_db: float = Field(15.0, gt=0.0)
    min_speech_ms: float = Field(60.0, ge=0.0)


class TransplantParams(Section):
    # The first head_ms of a file of the other class is put in front of each audited file.
    head_ms: float = Field(100.0, gt=0.0)
    seed: int = Field(0, ge=0)  # which donor each file gets


class RiskParams(Section):
    """When ``shortcut_risk`` is high: changes beyond these, in percentage points."""

    max_rate_change: float = Field(10.0, gt=0.0)  # of FAR or FRR at the dev threshold, after the transplant
    max_eer_rise: float = Field(10.0, gt=0.0)  # of the EER, after trimming


class AuditParams(Section):
    split: Literal["dev", "eval"] = "eval"  # the utterances audited
    # CSV of utt_id, start_s, end_s: where each file's speech lies (others fall back to the VAD).
    annotations: str | None = None
    vad: VadParams = VadParams()
    transplant: TransplantParams = TransplantParams()
    # Models retrained and evaluated on trimmed audio (written to models/trimmed/).
    retrain: tuple[Literal["svc", "cnn"], ...] = ()
    risk: RiskParams = RiskParams()

    @model_validator(mode="after")
    def _retrain_each_once(self) -> AuditParams:
        if len(set(self.retrain)) != len(self.retrain):
            raise ValueError(f"retrain lists a model twice: {list(self.retrain)}")
        return self


class ComputeParams(Section):
    n_jobs: int = Field(2, ge=1)  # local processes, or the workers of a local Dask cluster
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
    seed: int = Field(2017, ge=0)
    data: DataParams = DataParams()
    synthetic: SyntheticParams
    download: DownloadParams = DownloadParams()
    prepare: PrepareParams = PrepareParams()
    features: FeaturesParams = FeaturesParams()
    train_svc: TrainSvcParams = TrainSvcParams()
    train_cnn: TrainCnnParams = TrainCnnParams()
    evaluate: EvaluateParams = EvaluateParams()
    explain: ExplainParams = ExplainParams()
    audit: AuditParams = AuditParams()
    compute: ComputeParams = ComputeParams()

    @model_validator(mode="after")
    def _frequencies_fit_the_sample_rate(self) -> Params:
        nyquist = self.data.sample_rate / 2
        handcrafted = self.features.handcrafted
        if handcrafted.band_energy:
            _check_bands(handcrafted.band_edges_hz, self.data.sample_rate / self.features.n_fft, nyquist)
        if handcrafted.cqcc:
            if 2 * handcrafted.cqt_fmin > nyquist:
                raise ValueError(f"features.handcrafted.cqt_fmin ({handcrafted.cqt_fmin:g}) leaves no whole "
                                 f"octave below half of data.sample_rate ({nyquist:g} Hz)")
            points = _uniform_cq_points(handcrafted.cqt_fmin, handcrafted.cqt_bins_per_octave, nyquist)
            if points < handcrafted.n_cepstra:
                raise ValueError(f"features.handcrafted.cqt_fmin ({handcrafted.cqt_fmin:g}): the constant-Q "
                                 f"range up to {nyquist:g} Hz resamples to {points} points, fewer than "
                                 f"n_cepstra ({handcrafted.n_cepstra}); lower cqt_fmin")
        if self.explain.gradcam.above_hz >= nyquist:
            raise ValueError(f"explain.gradcam.above_hz ({self.explain.gradcam.above_hz:g}) must be below half "
                             f"of data.sample_rate ({nyquist:g} Hz)")
        return self


def _check_bands(edges: tuple[float, ...], bin_hz: float, nyquist: float) -> None:
    if edges[-1] > nyquist:
        raise ValueError(f"features.handcrafted.band_edges_hz: the top edge ({edges[-1]:g}) exceeds half of "
                         f"data.sample_rate ({nyquist:g} Hz)")
    for low, high in zip(edges, edges[1:]):
        first_bin = math.ceil(low / bin_hz) * bin_hz
        # Bands are [low, high), except that the last one keeps the bin at its top edge.
        if first_bin > high or (first_bin == high and high != edges[-1]):
            raise ValueError(f"features.handcrafted.band_edges_hz: the band {low:g}-{high:g} Hz holds no FFT bin "
                             f"(bins are {bin_hz:g} Hz apart with features.n_fft)")


def _uniform_cq_points(fmin: float, bins_per_octave: int, nyquist: float) -> int:
    """How many points CQCC's uniform resampling gives (see ``features.cepstra``)."""
    n_bins = math.floor(math.log2(nyquist / fmin)) * bins_per_octave
    step = 2 ** (1 / bins_per_octave) - 1  # the lowest bin spacing, in units of fmin
    return math.ceil((2 ** ((n_bins - 1) / bins_per_octave) - 1) / step)


def load_params(path: str | Path = DEFAULT_PARAMS_FILE) -> Params:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    return parse_params(raw, source=str(path))


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
            reason = f"{problem['msg']} (got {problem.get('input')!r})"
        lines.append(f"{source}: {key}: {reason}" if key else f"{source}: {reason}")
    return "\n".join(dict.fromkeys(lines))


def _own_message(problem: dict) -> str:
    return problem["msg"].removeprefix("Value error, ")


def _is_type_tag(part) -> bool:
    return isinstance(part, str) and (
        part.startswith(("literal[", "function-")) or part in {"float", "int", "str", "bool", "none"}
    )
