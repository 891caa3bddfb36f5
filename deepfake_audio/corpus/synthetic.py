"""The embedded spoofing corpus: a miniature of ASVspoof 2017, with vocoded spoofs, simulated offline.

ASVspoof 2017 asks whether a recording of a passphrase is bona fide (the speaker talked
into the recorder) or a replay (an attacker's recording of the speaker, played through
a loudspeaker into the recorder). ASVspoof 2019 LA adds synthetic speech: a vocoder's
output, not a person's. This module generates a corpus with the ASVspoof 2017 layout and
both kinds of spoof (``attacks``), from a seed, in about a minute and without any download.

Source speech
    Every speaker has a pitch range (male or female), a vocal-tract length that scales
    the formants, a speaking rate, a voice quality (open quotient, spectral tilt, jitter,
    shimmer, breathiness) and small idiosyncratic formant offsets. The passphrases are
    fixed sequences of phones derived from the phrase index alone, so every speaker says
    the same content, as in RedDots. Each take is synthesised source-filter style: a
    Rosenberg glottal pulse train following an f0 contour (declination, accents on the
    stressed syllables, jitter), shaped by a cascade of formant resonators (F1-F4 follow
    the phones, F5 is fixed) whose targets glide from phone to phone (short blocks, each
    filtered with its own resonators, crossfaded), plus band-passed noise for fricatives
    and stop bursts and aspiration noise through the vocal tract. Takes differ in timing, pitch and the
    length of the leading and trailing non-speech.

Genuine recording
    The speaker talks in one of the split's rooms into one of the split's recorders:
    room impulse response (direct sound, early reflections, a decaying noise tail whose
    high frequencies die faster), the room's coloured noise and hum at an SNR drawn from
    ``snr_db``, the recorder's response (high-pass, low-pass, peaking/dipping bands) and
    self-noise, a random recording level, 16-bit quantisation.

Replay (spoof)
    An attacker's close-talk recording of a take (small room, mild microphone colouring,
    little noise) is played through one of the split's loudspeakers, whose quality is
    spread over ``playback_quality`` (0: cheap phone speaker, strong band limitation,
    cabinet resonances, soft clipping, hum and hiss; 1: studio monitor, subtle), and
    recorded by the same room/recorder chain as genuine speech. Room and recorder are
    therefore no shortcut: only the playback chain, and the second acoustic chain the
    replay went through, set spoofs apart.

Vocoded (spoof)
    A take of the speaker (the clean synthesised speech, before any room) is analysed and
    resynthesised by one of the split's vocoders (``VOCODERS``, attack ids ``A01``...),
    none of which needs trained weights: mel-spectrogram or MFCC inversion with Griffin-Lim
    phase reconstruction, an LPC-10-style source-filter vocoder, or a phase vocoder
    shifting the pitch (or stretching the time) and back. The vocoded take keeps the take's
    timing and is recorded exactly as a genuine take is, in one of the split's rooms with
    one of its recorders; only the vocoder's traces set it apart. The protocol names the
    vocoder in the PLAYBACK field (``E05 A04 R04``), since no loudspeaker played it.

Splits
    Speakers, rooms, loudspeakers, recorders (hence replay configurations) and vocoders
    are disjoint between train, dev and eval, so dev and eval measure generalisation to
    unseen devices and attacks. Vocoder families recur with other settings (eval has one
    family, MFCC inversion, that no other split has). With both attacks, a split's
    ``spoof`` files are half replayed (the odd one, if any) and half vocoded, spread
    evenly over the split's vocoders.

Artefact option
    With ``artefact: true`` the corpus carries the ASVspoof 2017 dataset artefact found
    by Chettri et al. (2020): a click in the first 100 ms of every genuine file and a
    faint tone in the leading non-speech (up to 250 ms) of every spoofed one, replayed
    or vocoded (it marks the label, as a collection artefact would). Nothing else changes.

Determinism: every random draw comes from a ``numpy.random.Generator`` seeded through a
``SeedSequence`` keyed by the corpus seed, the split and the utterance (a vocoder's draws,
such as Griffin-Lim's initial phases, have a stream of their own), so a corpus is
byte-identical for the same seed and params, whatever ``n_jobs``. With ``attacks:
[replay]`` the corpus is the replay-only corpus of the versions before vocoded attacks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import ClassVar

import librosa
import numpy as np
import soundfile as sf
from joblib import Parallel, delayed
from scipy import signal
from scipy.fft import irfft, next_fast_len, rfftfreq
from scipy.ndimage import uniform_filter1d

from deepfake_audio.corpus.asvspoof2017 import (
    ProtocolEntry,
    audio_dir,
    file_name,
    protocol_path,
    write_protocol,
)
from deepfake_audio.errors import InputError
from deepfake_audio.params import SyntheticParams, SyntheticSplit
from deepfake_audio.progress import Progress
from deepfake_audio.vocabulary import GENUINE, SPLITS, SPOOF

REPLAY, VOCODED = "replay", "vocoded"  # the values of synthetic.attacks

__all__ = ["VOCODERS", "Utterance", "Vocoder", "generate_corpus", "plan_corpus", "vocode"]

# Phrases depend on their index only, never on the corpus seed: like RedDots, the
# passphrases are fixed and the seed only changes who says them and how.
_PHRASE_ENTROPY = 20170502
# Sub-streams of the corpus seed, one per kind of draw, so that (say) adding a recorder
# does not change the speakers.
_SPEAKERS, _ROOMS, _RECORDERS, _PLAYBACKS, _ASSIGNMENT, _UTTERANCE = range(6)
_CHUNK = 16  # utterances per parallel task; results do not depend on it
_VOCODER_STREAM = 4  # under an utterance's seed key: 0-2 are _streams', 3 stress.py's

# Blocks over which the vocal tract is held still; neighbours are crossfaded.
_BLOCK_S, _FADE_S, _WARM_S = 0.020, 0.005, 0.020
_F0_STEP_S = 0.005
# A fixed fifth resonance, as in Klatt's cascade synthesiser, keeps some energy above F4.
_F5_HZ, _F5_BANDWIDTH_HZ = 4500.0, 300.0
_LEAD_S, _TRAIL_S = (0.10, 0.50), (0.10, 0.50)
# Loudspeaker properties at quality 0 (cheap phone speaker) and 1 (studio monitor);
# a device's quality interpolates between them. Even a monitor leaves a trace.
_LOUDSPEAKER_HIGHPASS_HZ = (600.0, 120.0)
_LOUDSPEAKER_LOWPASS = (0.45, 0.80)  # fraction of Nyquist
_LOUDSPEAKER_RESONANCE_DB = (10.0, 3.0)
_LOUDSPEAKER_DRIVE = (2.5, 0.6)  # soft clipping
_LOUDSPEAKER_HISS_DB = (-45.0, -65.0)
_LOUDSPEAKER_HUM_DB = (-40.0, -75.0)
ARTEFACT_TONE_HZ = (900.0, 1100.0)
_TARGET_LEVEL_DBFS = (-30.0, -18.0)
_PEAK_LIMIT = 0.95
# The LPC vocoder: analysis every 10 ms; a frame is voiced when within 30 dB of the
# loudest and with fewer zero crossings than a 1.5 kHz tone; pitch between 60 and 400 Hz.
_LPC_HOP_S = 0.010
_LPC_VOICED_LEVEL_DB = -30.0
_LPC_VOICED_CROSSINGS_HZ = 3000.0
_LPC_F0_HZ = (60.0, 400.0)
_LPC_PITCH_WINDOW_S = 0.064
_LPC_PREEMPHASIS = 0.9375


# --------------------------------------------------------------------------- phones


@dataclass(frozen=True)
class Segment:
    """A stretch of the vocal tract in one state; phones are one or more segments."""

    duration: float  # seconds at a neutral speaking rate
    voicing: float = 0.0  # amplitude of the glottal source
    aspiration: float = 0.0  # noise through the vocal tract (h, stop release)
    frication: float = 0.0  # noise through a band-pass at the constriction
    band: tuple[float, float] | None = None  # frication band, Hz
    formants: tuple[float, ...] | None = None  # F1-F4 at the start; None: the neighbours'
    formants_end: tuple[float, ...] | None = None  # at the end (glides, diphthongs)
    bandwidths: tuple[float, ...] = (60.0, 90.0, 150.0, 220.0)

    @property
    def sonorant(self) -> bool:
        return self.formants is not None


def _vowel(f, end=None, *, duration=0.11, voicing=1.0, bandwidths=(60.0, 90.0, 150.0, 220.0)):
    return (Segment(duration, voicing=voicing, formants=f, formants_end=end or f, bandwidths=bandwidths),)


def _nasal(f):
    return _vowel(f, duration=0.065, voicing=0.35, bandwidths=(100.0, 200.0, 300.0, 400.0))


def _fricative(band, level, *, duration=0.095, voiced=False):
    return (
        Segment(
            duration, voicing=0.3 if voiced else 0.0, frication=level * (0.6 if voiced else 1.0), band=band
        ),
    )


def _stop(band, voiced):
    return (
        Segment(0.055, voicing=0.06 if voiced else 0.0),  # closure (voice bar if voiced)
        Segment(0.012, frication=0.5, band=band),  # burst
        Segment(0.015, voicing=0.5) if voiced else Segment(0.045, aspiration=0.25),
    )


# Formants after Peterson & Barney / Hillenbrand (adult male); speakers rescale them.
PHONES: dict[str, tuple[Segment, ...]] = {
    "iy": _vowel((270, 2290, 3010, 3700)),
    "ih": _vowel((390, 1990, 2550, 3600), duration=0.09),
    "eh": _vowel((530, 1840, 2480, 3600), duration=0.095),
    "ae": _vowel((660, 1720, 2410, 3600)),
    "aa": _vowel((730, 1090, 2440, 3500)),
    "ao": _vowel((570, 840, 2410, 3400)),
    "uh": _vowel((440, 1020, 2240, 3400), duration=0.09),
    "uw": _vowel((300, 870, 2240, 3400)),
    "ah": _vowel((640, 1190, 2390, 3500), duration=0.09),
    "er": _vowel((490, 1350, 1690, 3300)),
    "ay": _vowel((730, 1090, 2440, 3500), (300, 2200, 2900, 3600), duration=0.16),
    "ey": _vowel((530, 1840, 2480, 3600), (300, 2200, 2900, 3600), duration=0.15),
    "ow": _vowel((570, 840, 2410, 3400), (330, 800, 2250, 3400), duration=0.15),
    "aw": _vowel((730, 1090, 2440, 3500), (330, 800, 2250, 3400), duration=0.16),
    "oy": _vowel((570, 840, 2410, 3400), (300, 2200, 2900, 3600), duration=0.17),
    "l": _vowel((360, 1000, 2700, 3600), duration=0.06, voicing=0.6),
    "r": _vowel((310, 1060, 1380, 3300), duration=0.06, voicing=0.6),
    "w": _vowel((300, 610, 2200, 3300), duration=0.055, voicing=0.6),
    "y": _vowel((260, 2070, 3020, 3600), duration=0.055, voicing=0.6),
    "m": _nasal((250, 1000, 2200, 3300)),
    "n": _nasal((250, 1500, 2500, 3300)),
    "ng": _nasal((250, 2000, 2700, 3300)),
    "s": _fricative((4000, 7500), 0.22),
    "z": _fricative((4000, 7500), 0.22, duration=0.075, voiced=True),
    "sh": _fricative((2200, 5500), 0.22),
    "zh": _fricative((2200, 5500), 0.22, duration=0.075, voiced=True),
    "f": _fricative((1500, 7500), 0.07),
    "v": _fricative((1500, 7500), 0.07, duration=0.06, voiced=True),
    "th": _fricative((1500, 7500), 0.06),
    "dh": _fricative((1500, 7500), 0.06, duration=0.05, voiced=True),
    "h": (Segment(0.06, aspiration=0.25),),
    "p": _stop((500, 2000), voiced=False),
    "b": _stop((500, 2000), voiced=True),
    "t": _stop((3000, 7000), voiced=False),
    "d": _stop((3000, 7000), voiced=True),
    "k": _stop((1500, 3200), voiced=False),
    "g": _stop((1500, 3200), voiced=True),
}
_VOWELS = ("iy", "ih", "eh", "ae", "aa", "ao", "uh", "uw", "ah", "er", "ay", "ey", "ow", "aw", "oy")
_ONSETS = (
    "p",
    "t",
    "k",
    "b",
    "d",
    "g",
    "m",
    "n",
    "f",
    "s",
    "sh",
    "v",
    "z",
    "h",
    "l",
    "r",
    "w",
    "y",
    "th",
    "dh",
    "p r",
    "t r",
    "k r",
    "b r",
    "g r",
    "p l",
    "k l",
    "f l",
    "f r",
    "s t",
    "s p",
    "s k",
)
_CODAS = ("m", "n", "ng", "t", "d", "k", "p", "s", "z", "l", "r", "f", "v", "n d", "n t", "s t", "k s")


@dataclass(frozen=True)
class Phone:
    symbol: str  # a key of PHONES, or "pau" for a short pause between words
    stressed: bool = False
    final: bool = False  # in the last syllable of the phrase (lengthened)


@cache
def phrase_phones(index: int) -> tuple[Phone, ...]:
    """The phones of passphrase ``index`` (1-based): the same for every speaker and seed."""
    rng = np.random.default_rng(np.random.SeedSequence(_PHRASE_ENTROPY, spawn_key=(index,)))
    words = _draw_words(rng)
    phones: list[Phone] = []
    for number, word in enumerate(words):
        if number and rng.random() < 0.3:
            phones.append(Phone("pau"))
        last_word = number == len(words) - 1
        for position, (onset, vowel, coda, stressed) in enumerate(word):
            final = last_word and position == len(word) - 1
            phones += [Phone(symbol, final=final) for symbol in onset]
            phones.append(Phone(vowel, stressed=stressed, final=final))
            phones += [Phone(symbol, final=final) for symbol in coda]
    return tuple(phones)


def _draw_words(rng):
    """Six to ten syllables of pseudo-words, one stressed syllable per word."""
    words = []
    n_syllables = 0
    while n_syllables < 6 or (n_syllables < 10 and rng.random() < 0.5):
        size = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
        stress = int(rng.integers(size))
        word = []
        for position in range(size):
            onset = _ONSETS[rng.integers(len(_ONSETS))].split() if rng.random() < 0.8 else []
            coda = _CODAS[rng.integers(len(_CODAS))].split() if rng.random() < 0.45 else []
            vowel = _VOWELS[rng.integers(len(_VOWELS))]
            word.append((onset, vowel, coda, position == stress))
        words.append(word)
        n_syllables += size
    return words


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class SpeakerProfile:
    """A talker's voice: pitch range, vocal tract and voice quality."""

    speaker_id: str
    f0_range: tuple[float, float]  # Hz
    vocal_tract: float  # formant scale: > 1 is a shorter tract
    formant_offsets: tuple[float, ...]  # idiosyncratic per-formant scale
    bandwidth_scale: float
    rate: float  # duration scale: > 1 is slower
    open_quotient: float
    tilt: float  # one-pole low-pass coefficient of the glottal source
    jitter: float
    shimmer: float
    breathiness: float


@dataclass(frozen=True)
class RoomProfile:
    """An environment (``E..``): reverberation and background noise."""

    environment_id: str
    rt60: float  # s
    drr_db: float  # direct-to-reverberant ratio
    reflections: tuple[tuple[float, float], ...]  # (delay s, relative gain) of early reflections
    early_share: float  # fraction of the reverberant energy in the early reflections
    high_decay: float  # RT60 of the highs relative to the lows
    noise_slope: float  # noise spectrum falls as f ** -slope (power)
    hums: tuple[tuple[float, float], ...]  # (frequency Hz, level dB re noise) of tonal noise


@dataclass(frozen=True)
class RecorderProfile:
    """A recording device (``R..``): frequency response and self-noise."""

    recorder_id: str
    highpass: tuple[float, int]  # cut-off Hz, order
    lowpass: tuple[float, int]  # cut-off as a fraction of Nyquist, order
    bands: tuple[tuple[float, float, float], ...]  # peaking EQ: (Hz, gain dB, Q)
    self_noise_db: float  # re speech level


@dataclass(frozen=True)
class PlaybackProfile:
    """A loudspeaker with its amplifier (``P..``)."""

    playback_id: str
    quality: float  # 0: cheap phone speaker ... 1: studio monitor
    highpass: tuple[float, int]  # cut-off Hz, order
    lowpass: tuple[float, int]  # cut-off as a fraction of Nyquist, order
    resonances: tuple[tuple[float, float, float], ...]  # cabinet: (Hz, gain dB, Q)
    drive: float  # soft-clipping drive; ~0 is linear
    even_harmonics: float  # asymmetric distortion (second-harmonic) coefficient
    hiss_db: float  # amplifier noise re programme level
    hum: tuple[float, float]  # mains frequency Hz, level dB re programme


@dataclass(frozen=True)
class Utterance:
    """One file of the corpus: what is said, by whom, and through which chain."""

    split: str
    file: str
    speaker: SpeakerProfile
    phrase: int  # 1-based
    room: RoomProfile
    recorder: RecorderProfile
    # What the protocol's PLAYBACK field names: the loudspeaker of a replay, the vocoder of
    # a vocoded take (recorded directly), or None for a genuine file.
    playback: PlaybackProfile | Vocoder | None
    seed_key: tuple[int, ...]  # spawn key of its SeedSequence under the corpus seed

    @property
    def label(self) -> str:
        return GENUINE if self.playback is None else SPOOF

    @property
    def attack(self) -> str:
        """``replay``, the vocoder's id (``A01``...), or ``-`` for a genuine file."""
        return self.protocol_entry().attack

    def protocol_entry(self) -> ProtocolEntry:
        phrase = f"S{self.phrase:02d}"
        if self.playback is None:
            return ProtocolEntry(self.file, GENUINE, self.speaker.speaker_id, phrase)
        device = self.playback.attack_id if isinstance(self.playback, Vocoder) else self.playback.playback_id
        return ProtocolEntry(
            self.file,
            SPOOF,
            self.speaker.speaker_id,
            phrase,
            self.room.environment_id,
            device,
            self.recorder.recorder_id,
        )


def draw_speaker(rng: np.random.Generator, number: int, *, female: bool) -> SpeakerProfile:
    if female:
        low = rng.uniform(165, 195)
        f0_range = (low, min(low + rng.uniform(40, 65), 255.0))
        vocal_tract = rng.uniform(1.05, 1.15)
    else:
        low = rng.uniform(85, 110)
        f0_range = (low, min(low + rng.uniform(30, 50), 155.0))
        vocal_tract = rng.uniform(0.85, 1.0)
    return SpeakerProfile(
        speaker_id=f"{'F' if female else 'M'}{number:04d}",
        f0_range=f0_range,
        vocal_tract=vocal_tract,
        formant_offsets=tuple(rng.uniform(0.95, 1.05, 4).tolist()),
        bandwidth_scale=rng.uniform(0.8, 1.3),
        rate=rng.uniform(0.85, 1.15),
        open_quotient=rng.uniform(0.45, 0.7),
        tilt=rng.uniform(0.0, 0.5),
        jitter=rng.uniform(0.003, 0.015),
        shimmer=rng.uniform(0.02, 0.08),
        breathiness=rng.uniform(0.02, 0.15),
    )


def draw_room(rng: np.random.Generator, environment_id: str, *, close_talk: bool = False) -> RoomProfile:
    """A room; ``close_talk`` gives the small quiet room of an attacker's capture."""
    n_reflections = int(rng.integers(3, 8))
    return RoomProfile(
        environment_id=environment_id,
        rt60=float(
            np.exp(
                rng.uniform(np.log(0.1), np.log(0.3)) if close_talk else rng.uniform(np.log(0.2), np.log(0.9))
            )
        ),
        drr_db=rng.uniform(8.0, 18.0) if close_talk else rng.uniform(0.0, 12.0),
        reflections=tuple(
            zip(
                np.sort(rng.uniform(0.001, 0.025, n_reflections)).tolist(),
                (rng.uniform(0.2, 0.6, n_reflections) * rng.choice([-1, 1], n_reflections)).tolist(),
                strict=True,
            )
        ),
        early_share=rng.uniform(0.2, 0.6),
        high_decay=rng.uniform(0.35, 0.8),
        noise_slope=rng.uniform(0.3, 2.0),
        hums=tuple((rng.uniform(80, 600), rng.uniform(-15, 0)) for _ in range(int(rng.integers(0, 3)))),
    )


def draw_recorder(rng: np.random.Generator, recorder_id: str, *, close_talk: bool = False) -> RecorderProfile:
    n_bands = 1 if close_talk else int(rng.integers(2, 4))
    max_gain = 3.0 if close_talk else 5.0
    return RecorderProfile(
        recorder_id=recorder_id,
        highpass=(float(np.exp(rng.uniform(np.log(40), np.log(200)))), int(rng.integers(1, 4))),
        lowpass=(rng.uniform(0.80, 0.97), int(rng.integers(2, 7))),
        bands=tuple(
            (
                float(np.exp(rng.uniform(np.log(200), np.log(6000)))),
                rng.uniform(-max_gain, max_gain),
                rng.uniform(0.7, 2.5),
            )
            for _ in range(n_bands)
        ),
        self_noise_db=rng.uniform(-50, -38),
    )


def draw_playback(rng: np.random.Generator, playback_id: str, quality: float) -> PlaybackProfile:
    """A loudspeaker of the given quality, with some spread between devices of equal quality."""

    def between(bad, good):
        return (bad + (good - bad) * quality) * rng.uniform(0.85, 1.15)

    def between_log(bad, good):  # for frequencies
        return float(np.exp(np.log(bad) + (np.log(good) - np.log(bad)) * quality) * rng.uniform(0.85, 1.15))

    return PlaybackProfile(
        playback_id=playback_id,
        quality=quality,
        highpass=(between_log(*_LOUDSPEAKER_HIGHPASS_HZ), 4 if quality < 0.5 else 3),
        lowpass=(min(between(*_LOUDSPEAKER_LOWPASS), 0.97), int(rng.integers(2, 5))),
        resonances=tuple(
            (
                float(np.exp(rng.uniform(np.log(250), np.log(5000)))),
                between(*_LOUDSPEAKER_RESONANCE_DB) * float(rng.choice([-0.6, 1.0])),
                rng.uniform(1.0, 4.0),
            )
            for _ in range(int(rng.integers(1, 4)))
        ),
        drive=between(*_LOUDSPEAKER_DRIVE),
        even_harmonics=0.15 * (1.0 - quality) ** 2 * rng.uniform(0.5, 1.0),
        hiss_db=between(*_LOUDSPEAKER_HISS_DB),
        hum=(float(rng.choice([50.0, 60.0])), between(*_LOUDSPEAKER_HUM_DB)),
    )


def spread_qualities(rng: np.random.Generator, count: int, quality_range: tuple[float, float]) -> np.ndarray:
    """Loudspeaker qualities stratified over the range, so every split has cheap and good ones."""
    low, high = quality_range
    return low + (high - low) * (rng.permutation(count) + rng.random(count)) / count


# --------------------------------------------------------------------------- planning


def plan_corpus(params: SyntheticParams, seed: int) -> dict[str, list[Utterance]]:
    """Who says what through which chain, for every file of every split (no audio)."""
    issued = dict.fromkeys(("speakers", "environments", "playback_devices", "recorders"), 0)

    def numbers(kind, sizes):  # ids run on across splits, so no two splits share one
        first = issued[kind]
        issued[kind] += getattr(sizes, kind)
        return range(first + 1, issued[kind] + 1)

    plan = {}
    for split_index, split in enumerate(SPLITS):
        sizes = params.split(split)
        speaker_rng, room_rng, recorder_rng, playback_rng, assignment_rng = (
            _rng(seed, split_index, stream)
            for stream in (_SPEAKERS, _ROOMS, _RECORDERS, _PLAYBACKS, _ASSIGNMENT)
        )
        sexes = speaker_rng.permutation(
            np.arange(sizes.speakers) % 2 == 1
        )  # as many women as men, give or take one
        speakers = [
            draw_speaker(speaker_rng, number, female=bool(female))
            for number, female in zip(numbers("speakers", sizes), sexes, strict=True)
        ]
        rooms = [draw_room(room_rng, f"E{number:02d}") for number in numbers("environments", sizes)]
        recorders = [draw_recorder(recorder_rng, f"R{number:02d}") for number in numbers("recorders", sizes)]
        qualities = spread_qualities(playback_rng, sizes.playback_devices, params.playback_quality)
        playbacks = [
            draw_playback(playback_rng, f"P{number:02d}", float(quality))
            for number, quality in zip(numbers("playback_devices", sizes), qualities, strict=True)
        ]
        plan[split] = _assign(
            split,
            split_index,
            sizes,
            n_phrases=params.phrases,
            speakers=speakers,
            rooms=rooms,
            recorders=recorders,
            playbacks=playbacks,
            vocoders=split_vocoders(split),
            n_vocoded=vocoded_count(sizes.spoof, params.attacks),
            rng=assignment_rng,
        )
    return plan


def vocoded_count(n_spoof: int, attacks: tuple[str, ...]) -> int:
    """How many of a split's ``n_spoof`` spoofs are vocoded: all, none, or half (rounded down)."""
    if VOCODED not in attacks:
        return 0
    return n_spoof if REPLAY not in attacks else n_spoof // 2


def _assign(
    split,
    split_index,
    sizes: SyntheticSplit,
    *,
    n_phrases,
    speakers,
    rooms,
    recorders,
    playbacks,
    vocoders,
    n_vocoded,
    rng,
) -> list[Utterance]:
    """Speakers, phrases and chains for the split's files, balanced, in shuffled order."""
    configs = choose_replay_configs(
        rng,
        n_rooms=len(rooms),
        n_playbacks=len(playbacks),
        n_recorders=len(recorders),
        wanted=sizes.replay_configs,
    )
    rooms_and_recorders = list(itertools.product(range(len(rooms)), range(len(recorders))))
    # speaker, phrase, (room, loudspeaker or vocoder or None, recorder)
    rows: list[tuple[int, int, tuple[int, PlaybackProfile | Vocoder | None, int]]] = []
    for label, count in ((GENUINE, sizes.genuine), (SPOOF, sizes.spoof)):
        who = _balanced(rng, range(len(speakers)), count)
        what = _balanced(rng, range(1, n_phrases + 1), count)
        where: list[tuple[int, PlaybackProfile | Vocoder | None, int]]
        if label == GENUINE:
            where = [(room, None, recorder) for room, recorder in _balanced(rng, rooms_and_recorders, count)]
        else:
            # Replays first, then vocoded takes; ``who`` and ``what`` are in shuffled rounds,
            # so both attacks get every speaker and phrase when their counts allow.
            where = [
                (room, playbacks[playback], recorder)
                for room, playback, recorder in _balanced(rng, configs, count - n_vocoded)
            ]
            if n_vocoded:  # recorded like genuine speech: any of the split's rooms and recorders
                where += [
                    (room, vocoders[vocoder], recorder)
                    for vocoder, (room, recorder) in zip(
                        _balanced(rng, range(len(vocoders)), n_vocoded),
                        _balanced(rng, rooms_and_recorders, n_vocoded),
                        strict=True,
                    )
                ]
        rows += zip(who, what, where, strict=True)
    order = rng.permutation(len(rows))
    utterances = []
    for index, row_index in enumerate(order):
        speaker, phrase, (room, playback, recorder) = rows[row_index]
        utterances.append(
            Utterance(
                split=split,
                file=file_name(split, index),
                speaker=speakers[speaker],
                phrase=phrase,
                room=rooms[room],
                recorder=recorders[recorder],
                playback=playback,
                seed_key=(split_index, _UTTERANCE, index),
            )
        )
    return utterances


def choose_replay_configs(rng, *, n_rooms, n_playbacks, n_recorders, wanted) -> list[tuple[int, int, int]]:
    """Distinct (room, playback, recorder) triples, covering every device when ``wanted`` allows."""
    candidates = list(itertools.product(range(n_rooms), range(n_playbacks), range(n_recorders)))
    candidates = [candidates[i] for i in rng.permutation(len(candidates))]
    chosen: list[tuple[int, int, int]] = []
    used: list[set[int]] = [set(), set(), set()]  # the rooms, playbacks and recorders chosen so far
    for _ in range(min(wanted, len(candidates))):
        # The first candidate (in shuffled order) that brings the most devices not yet used.
        best = max(
            candidates,
            key=lambda triple: sum(part not in seen for part, seen in zip(triple, used, strict=True)),
        )
        candidates.remove(best)
        chosen.append(best)
        for part, seen in zip(best, used, strict=True):
            seen.add(part)
    return chosen


def _balanced(rng, options, count):
    """``count`` draws that cycle through ``options`` in freshly shuffled rounds."""
    options = list(options)
    rounds = -(-count // len(options))
    return [options[i] for _ in range(rounds) for i in rng.permutation(len(options))][:count]


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


# --------------------------------------------------------------------------- generation


def generate_corpus(
    root: Path, params: SyntheticParams, *, sample_rate: int, seed: int, n_jobs: int = 1
) -> None:
    """Write the whole corpus under ``root`` (absent or empty) in ASVspoof 2017 V2 layout."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise InputError(f"{root}: the corpus folder must be absent or empty")
    plan = plan_corpus(params, seed)
    for split in SPLITS:
        audio_dir(root, split).mkdir(parents=True, exist_ok=True)
    jobs = [utt for split in SPLITS for utt in plan[split]]
    chunks = [jobs[start : start + _CHUNK] for start in range(0, len(jobs), _CHUNK)]
    rendered = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(_render_chunk)(
            chunk, root, sample_rate=sample_rate, seed=seed, snr_db=params.snr_db, artefact=params.artefact
        )
        for chunk in chunks
    )
    with Progress(len(jobs), "synthesise") as progress:
        for count in rendered:
            progress.update(count)
    for split in SPLITS:
        write_protocol(protocol_path(root, split), [utt.protocol_entry() for utt in plan[split]])


def _render_chunk(chunk, root, *, sample_rate, seed, snr_db, artefact) -> int:
    for utt in chunk:
        pcm = render_utterance(utt, sample_rate=sample_rate, seed=seed, snr_db=snr_db, artefact=artefact)
        sf.write(audio_dir(root, utt.split) / utt.file, pcm, sample_rate, subtype="PCM_16", format="WAV")
    return len(chunk)


def render_utterance(
    utt: Utterance, *, sample_rate: int, seed: int, snr_db: tuple[float, float], artefact: bool
) -> np.ndarray:
    """The 16-bit samples of one file."""
    take_seq, chain_seq, artefact_seq = _streams(utt, seed)
    take_rng, chain_rng = np.random.default_rng(take_seq), np.random.default_rng(chain_seq)
    speech = synthesise_speech(utt.speaker, utt.phrase, take_rng, sample_rate=sample_rate)
    snr = chain_rng.uniform(*snr_db)
    if isinstance(utt.playback, Vocoder):  # the vocoded take, recorded as the genuine take would be
        vocoded = vocode(
            speech,
            utt.playback,
            rng=np.random.default_rng(_vocoder_stream(utt, seed)),
            sample_rate=sample_rate,
        )
        audio = render_genuine(
            vocoded, utt.room, utt.recorder, snr_db=snr, rng=chain_rng, sample_rate=sample_rate
        )
    elif utt.playback is None:
        audio = render_genuine(
            speech, utt.room, utt.recorder, snr_db=snr, rng=chain_rng, sample_rate=sample_rate
        )
    else:
        audio = render_spoof(
            speech,
            utt.playback,
            room=utt.room,
            recorder=utt.recorder,
            snr_db=snr,
            rng=chain_rng,
            sample_rate=sample_rate,
        )
    audio *= 10 ** (chain_rng.uniform(*_TARGET_LEVEL_DBFS) / 20) / _rms(audio[speech.span])
    if artefact:
        audio = plant_artefact(
            audio,
            spoof=utt.playback is not None,
            speech=speech,
            rng=np.random.default_rng(artefact_seq),
            sample_rate=sample_rate,
        )
    return to_pcm16(audio)


def speech_span(utt: Utterance, *, sample_rate: int, seed: int) -> tuple[int, int]:
    """First and one-past-last sample of the speech in ``utt``'s file: the truth a speech detector is scored on."""
    speech = synthesise_speech(
        utt.speaker, utt.phrase, np.random.default_rng(_streams(utt, seed)[0]), sample_rate=sample_rate
    )
    return speech.start, speech.stop


def _streams(utt: Utterance, seed: int) -> list[np.random.SeedSequence]:
    # Take, chain and artefact each have a stream, so switching the artefact leaves the rest as is.
    return np.random.SeedSequence(seed, spawn_key=utt.seed_key).spawn(3)


def _vocoder_stream(utt: Utterance, seed: int) -> np.random.SeedSequence:
    # The vocoder's own stream, so that a vocoded file and its take recorded as genuine share
    # the room's and recorder's draws. The stream after _streams' three is the stress module's.
    return np.random.SeedSequence(seed, spawn_key=(*utt.seed_key, _VOCODER_STREAM))


# --------------------------------------------------------------------------- source


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray
    start: int  # first and one-past-last sample of the speech proper
    stop: int

    @property
    def span(self) -> slice:
        return slice(self.start, self.stop)


def synthesise_speech(
    speaker: SpeakerProfile, phrase: int, rng: np.random.Generator, *, sample_rate: int
) -> Speech:
    """One take of a passphrase by a speaker, normalised to unit RMS over the speech."""
    segments, durations, accents = _timed_segments(phrase_phones(phrase), speaker, rng)
    lead, trail = rng.uniform(*_LEAD_S), rng.uniform(*_TRAIL_S)
    edges = np.round((lead + np.concatenate([[0.0], np.cumsum(durations)])) * sample_rate).astype(int)
    n = int(edges[-1] + round(trail * sample_rate))
    lengths = np.diff(edges)
    starts = edges[:-1]

    def track(values):
        return _smooth(
            np.concatenate([np.zeros(edges[0]), np.repeat(values, lengths), np.zeros(n - edges[-1])]),
            int(0.008 * sample_rate),
        )

    voicing = track([s.voicing for s in segments])
    aspiration = track([s.aspiration for s in segments])
    f0 = _f0_contour(
        speaker,
        accents,
        speech_start=lead,
        speech_stop=edges[-1] / sample_rate,
        n=n,
        rng=rng,
        sample_rate=sample_rate,
    )
    tract_input = glottal_source(f0, voicing, aspiration, speaker=speaker, rng=rng, sample_rate=sample_rate)
    formants, bandwidths = _formant_tracks(
        segments, starts, lengths, speaker=speaker, n=n, sample_rate=sample_rate
    )
    out = vocal_tract_filter(tract_input, formants, bandwidths, sample_rate=sample_rate)
    out /= _rms(out[voicing > 0.5])  # frication levels below are relative to the vowels
    out += _frication(segments, starts, lengths, speaker=speaker, n=n, rng=rng, sample_rate=sample_rate)
    start, stop = int(edges[0]), int(edges[-1])
    return Speech(out / _rms(out[start:stop]), start, stop)


def _timed_segments(phones, speaker, rng):
    """Segments of a take with their durations (s), and the times of the pitch accents."""
    take_rate = speaker.rate * rng.uniform(0.93, 1.07)
    segments, durations, accents = [], [], []
    elapsed = 0.0
    for phone in phones:
        if phone.symbol == "pau":
            elapsed += (d := rng.uniform(0.04, 0.12) * take_rate)
            segments.append(Segment(d))
            durations.append(d)
            continue
        stretch = take_rate * (1.3 if phone.stressed else 1.0) * (1.35 if phone.final else 1.0)
        for segment in PHONES[phone.symbol]:
            d = segment.duration * stretch * rng.lognormal(0.0, 0.08)
            if phone.stressed and segment.sonorant:
                accents.append(elapsed + d / 2)
            segments.append(segment)
            durations.append(d)
            elapsed += d
    return segments, np.array(durations), accents


def _f0_contour(speaker, accents, *, speech_start, speech_stop, n, rng, sample_rate):
    """Declination, accents on stressed vowels, a final fall, slow drift and jitter (Hz per sample)."""
    low, high = speaker.f0_range
    middle = (low + high) / 2 * rng.uniform(0.95, 1.05)
    span = (high - low) / 2
    t = np.arange(
        0.0, n / sample_rate + _F0_STEP_S, _F0_STEP_S
    )  # the intonation is smooth: a coarse grid will do
    progress = np.clip((t - speech_start) / max(speech_stop - speech_start, 1e-3), 0.0, 1.0)
    f0 = middle + span * (0.4 - 0.8 * progress)  # declination
    for time, height in zip(accents, rng.uniform(0.3, 0.9, len(accents)), strict=True):
        f0 += span * height * np.exp(-0.5 * ((t - speech_start - time) / 0.08) ** 2)
    f0 -= span * 0.6 * np.clip((progress - 0.85) / 0.15, 0.0, 1.0)  # final fall
    f0 *= 1.0 + 0.01 * _smooth(rng.standard_normal(t.size), 10)  # slow drift
    f0 = np.interp(np.arange(n) / sample_rate, t, f0)
    period = max(int(sample_rate / middle), 1)
    jitter = rng.standard_normal(-(-n // period)) * speaker.jitter
    f0 *= 1.0 + np.repeat(jitter, period)[:n]  # roughly one draw per glottal period
    return np.clip(f0, 0.8 * low, 1.2 * high)


def glottal_source(f0, voicing, aspiration, *, speaker: SpeakerProfile, rng, sample_rate):
    """The input of the vocal tract.

    The derivative of a Rosenberg glottal flow (lip radiation included) with shimmer,
    plus breath noise during voicing and aspiration noise (h, stop release), through the
    speaker's spectral tilt.
    """
    phase = np.cumsum(f0) / sample_rate
    period = phase.astype(np.int64)
    position = phase - period
    opening, closing = 0.6 * speaker.open_quotient, 0.4 * speaker.open_quotient
    rising = position < opening
    # One cosine serves the opening phase (rising half-cosine) and the closing phase
    # (falling quarter-cosine); past the closure the clipped angle gives a closed glottis.
    angle = np.where(rising, np.pi * position / opening, np.pi / 2 * (position - opening) / closing)
    closing_cosine = np.cos(np.minimum(angle, np.pi / 2))
    flow = np.where(rising, 0.5 - 0.5 * closing_cosine, closing_cosine)
    flow *= 1.0 + speaker.shimmer * rng.standard_normal(period[-1] + 1)[period]
    excitation = np.diff(flow * voicing, prepend=0.0)
    excitation /= _rms(excitation[voicing > 0.5])
    noise_envelope = (0.3 + 0.7 * flow) * voicing * speaker.breathiness * 4.0 + 3.0 * aspiration
    excitation += rng.standard_normal(f0.size) * noise_envelope
    return signal.lfilter([1 - speaker.tilt], [1, -speaker.tilt], excitation)


def _formant_tracks(segments, starts, lengths, *, speaker, n, sample_rate):
    """Formant frequencies and bandwidths per block of _BLOCK_S, gliding between phones."""
    own = [s.formants for s in segments]
    # Obstruents and pauses take the vocal tract of the next sonorant (or the last one).
    inherited = list(own)
    following = next((f for f in reversed(own) if f is not None), (500, 1500, 2500, 3500))
    for i in range(len(segments) - 1, -1, -1):
        if own[i] is not None:
            following = own[i]
        inherited[i] = following
    knots_t, knots_f, knots_b = [], [], []
    for segment, start, length, f in zip(segments, starts, lengths, inherited, strict=True):
        end = segment.formants_end if segment.sonorant else f
        knots_t += [start, start + max(length - 1, 1)]
        knots_f += [f, end]
        knots_b += [segment.bandwidths, segment.bandwidths]
    block = int(_BLOCK_S * sample_rate)
    centres = (np.arange(-(-n // block)) + 0.5) * block
    knots_t = np.array(knots_t, dtype=float)
    scale = speaker.vocal_tract * np.array(speaker.formant_offsets + (1.0,))
    formants = (
        np.stack(
            [np.interp(centres, knots_t, np.array(knots_f)[:, k]) for k in range(4)]
            + [np.full(centres.size, _F5_HZ)],
            axis=1,
        )
        * scale
    )
    bandwidths = np.stack(
        [np.interp(centres, knots_t, np.array(knots_b)[:, k]) for k in range(4)]
        + [np.full(centres.size, _F5_BANDWIDTH_HZ)],
        axis=1,
    )
    kernel = np.array([0.25, 0.5, 0.25])  # coarticulation: smooth the targets over ~40 ms
    for _ in range(2):
        formants = np.stack(
            [np.convolve(np.pad(col, 1, mode="edge"), kernel, "valid") for col in formants.T], 1
        )
    return formants, bandwidths * speaker.bandwidth_scale


def vocal_tract_filter(x, formants, bandwidths, *, sample_rate):
    """Filter ``x`` block by block through cascaded formant resonators, crossfading blocks."""
    block, fade, warm = int(_BLOCK_S * sample_rate), int(_FADE_S * sample_rate), int(_WARM_S * sample_rate)
    gains, denominators = _resonator_cascades(formants, bandwidths, sample_rate)
    n_blocks = gains.size
    pad_front = fade + warm
    padded = np.concatenate([np.zeros(pad_front), x, np.zeros(n_blocks * block - x.size + fade)])
    ramp = np.sin(np.linspace(0, np.pi / 2, 2 * fade, endpoint=False) + np.pi / (8 * fade)) ** 2
    window = np.concatenate([ramp, np.ones(block - 2 * fade), ramp[::-1]])  # neighbours sum to 1
    out = np.zeros(padded.size)
    for b in range(n_blocks):
        start = warm + b * block  # the block's window covers [start, start + block + 2 fade)
        piece = padded[start - warm : start + block + 2 * fade]
        if not piece.any():
            continue
        # The filter runs from ``warm`` before the window so that it has rung in.
        out[start : start + block + 2 * fade] += (
            signal.lfilter(gains[b : b + 1], denominators[b], piece)[warm:] * window
        )
    return out[pad_front : pad_front + x.size]


def _resonator_cascades(formants, bandwidths, sample_rate):
    """Cascaded Klatt resonators (unit gain at DC), as one transfer function per block.

    One ``lfilter`` per block is several times faster than ``sosfilt`` on such short
    pieces, and accurate enough in double precision for these pole radii.
    """
    r = np.exp(-np.pi * bandwidths / sample_rate)
    c = 2 * r * np.cos(2 * np.pi * formants / sample_rate)
    sections = np.stack([np.ones_like(c), -c, r**2], axis=-1)
    above = formants >= 0.45 * sample_rate  # leave out formants the sample rate cannot carry
    sections[above] = [1.0, 0.0, 0.0]
    gains = np.prod(np.where(above, 1.0, 1 - c + r**2), axis=1)
    denominators = sections[:, 0]
    for k in range(1, sections.shape[1]):
        denominators = _polymul_rows(denominators, sections[:, k])
    return gains, denominators


def _polymul_rows(p, q):
    out = np.zeros((p.shape[0], p.shape[1] + q.shape[1] - 1))
    for j in range(q.shape[1]):
        out[:, j : j + p.shape[1]] += p * q[:, j : j + 1]
    return out


def _frication(segments, starts, lengths, *, speaker, n, rng, sample_rate):
    """Band-passed noise for fricatives and stop bursts, at levels relative to the vowels."""
    out = np.zeros(n)
    ramp = int(0.006 * sample_rate)
    warm = 256  # let the band-pass settle before the noise is used
    for segment, start, length in zip(segments, starts, lengths, strict=True):
        if not segment.frication:
            continue
        lo, hi = (np.array(segment.band) * speaker.vocal_tract**0.5).tolist()  # smaller mouth, higher band
        hi = min(hi, 0.45 * sample_rate)
        lo = min(lo, 0.6 * hi)
        begin, end = max(start - ramp, 0), min(start + length + ramp, n)
        noise = signal.sosfilt(_bandpass(lo, hi, sample_rate), rng.standard_normal(end - begin + warm))[warm:]
        distance_to_edge = np.minimum(np.arange(end - begin), np.arange(end - begin)[::-1]) + 1
        envelope = np.minimum(1.0, distance_to_edge / (2 * ramp))
        out[begin:end] += segment.frication * noise / _rms(noise) * envelope
    return out


# --------------------------------------------------------------------------- chains


def render_genuine(
    speech: Speech, room: RoomProfile, recorder: RecorderProfile, *, snr_db: float, rng, sample_rate
):
    """The speaker talking in the room into the recorder."""
    return record(
        speech.samples,
        speech.span,
        room=room,
        recorder=recorder,
        snr_db=snr_db,
        rng=rng,
        sample_rate=sample_rate,
    )


def render_spoof(
    speech: Speech,
    playback: PlaybackProfile,
    *,
    room: RoomProfile,
    recorder: RecorderProfile,
    snr_db: float,
    rng,
    sample_rate,
):
    """An attacker's close-talk recording of the speaker, replayed into the room and recorder."""
    capture_room = draw_room(rng, "-", close_talk=True)
    capture_mic = draw_recorder(rng, "-", close_talk=True)
    stolen = record(
        speech.samples,
        speech.span,
        room=capture_room,
        recorder=capture_mic,
        snr_db=rng.uniform(30.0, 45.0),
        rng=rng,
        sample_rate=sample_rate,
    )
    emitted = play_back(stolen, playback, rng, sample_rate=sample_rate)
    return record(
        emitted, speech.span, room=room, recorder=recorder, snr_db=snr_db, rng=rng, sample_rate=sample_rate
    )


def record(
    sound, span: slice, *, room: RoomProfile, recorder: RecorderProfile, snr_db: float, rng, sample_rate
):
    """Sound in a room, plus the room's noise at ``snr_db``, through a recorder."""
    wet = signal.fftconvolve(sound, room_impulse_response(room, rng, sample_rate))[: sound.size]
    speech_level = _rms(wet[span])
    noise = room_noise(room, sound.size, rng, sample_rate=sample_rate)
    wet += noise * speech_level * 10 ** (-snr_db / 20)
    out = signal.sosfilt(_recorder_sections(recorder, sample_rate), wet)
    out += rng.standard_normal(out.size) * speech_level * 10 ** (recorder.self_noise_db / 20)
    return out


def room_impulse_response(room: RoomProfile, rng, sample_rate):
    """Direct sound, early reflections and a decaying noise tail at the room's DRR."""
    rt60 = room.rt60 * rng.uniform(0.9, 1.1)
    n = int(min(rt60, 1.0) * sample_rate)  # down 60 dB by then
    t = np.arange(n) / sample_rate
    lows, highs = (
        signal.sosfilt(_crossover(kind, sample_rate), rng.standard_normal(n))
        for kind in ("lowpass", "highpass")
    )
    tail = lows * np.exp(-6.91 * t / rt60) + highs * np.exp(-6.91 * t / (rt60 * room.high_decay))
    tail *= np.clip((t - 0.002) / 0.01, 0.0, 1.0)  # the tail builds up after the direct sound
    early = np.zeros(n)
    for delay, gain in room.reflections:  # talker and microphone move a little between takes
        early[min(int(delay * rng.uniform(0.85, 1.15) * sample_rate), n - 1)] += gain
    reverberant = (
        np.sqrt(room.early_share / np.sum(early**2)) * early
        + np.sqrt((1 - room.early_share) / np.sum(tail**2)) * tail
    )
    drr_db = room.drr_db + rng.uniform(-2.0, 2.0)
    reverberant *= 10 ** (-drr_db / 20)
    reverberant[0] += 1.0  # the direct sound
    return reverberant


def room_noise(room: RoomProfile, n, rng, *, sample_rate):
    """Coloured background noise with the room's hums, unit RMS."""
    size = next_fast_len(n)
    freqs = rfftfreq(size, 1 / sample_rate)
    # A random Gaussian spectrum shaped directly: the same noise as filtering white noise.
    spectrum = rng.standard_normal((freqs.size, 2)).view(np.complex128)[:, 0]
    spectrum *= (np.maximum(freqs, 20.0) / 100.0) ** (-room.noise_slope / 2)
    noise = irfft(spectrum, size)[:n]
    noise /= _rms(noise)
    for freq, level_db in room.hums:
        noise += np.sqrt(2) * 10 ** (level_db / 20) * _sine(freq, n, sample_rate, phase=rng.uniform(0, 1))
    return noise / _rms(noise)


def play_back(sound, device: PlaybackProfile, rng, *, sample_rate):
    """A loudspeaker playing ``sound``: amplifier hum and hiss, distortion, then its response."""
    x = sound / np.max(np.abs(sound)) * rng.uniform(0.5, 1.0)  # playback volume
    level = _rms(x)
    mains, hum_db = device.hum
    hum = sum(_sine(k * mains, x.size, sample_rate) / k for k in (1, 2, 3))
    x = x + level * (10 ** (hum_db / 20) * hum + 10 ** (device.hiss_db / 20) * rng.standard_normal(x.size))
    x = np.tanh(device.drive * x) / np.tanh(device.drive) + device.even_harmonics * x**2
    return signal.sosfilt(_playback_sections(device, sample_rate), x)


def _recorder_sections(recorder: RecorderProfile, sample_rate: int):
    return _response_sections(recorder.highpass, recorder.lowpass, recorder.bands, sample_rate=sample_rate)


def _playback_sections(device: PlaybackProfile, sample_rate: int):
    return _response_sections(device.highpass, device.lowpass, device.resonances, sample_rate=sample_rate)


@lru_cache(maxsize=256)
def _response_sections(highpass, lowpass, bands, *, sample_rate):
    """High-pass (Hz, order), low-pass (fraction of Nyquist, order) and peaking bands."""
    return np.concatenate(
        [
            _butter(highpass[1], highpass[0], "highpass", sample_rate=sample_rate),
            _butter(lowpass[1], lowpass[0] * sample_rate / 2, "lowpass", sample_rate=sample_rate),
            *(_peaking(freq, gain, q, sample_rate=sample_rate) for freq, gain, q in bands),
        ]
    )


def _butter(order, cutoff, kind, *, sample_rate):
    """A Butterworth low- or high-pass as second-order sections.

    Pairs the poles directly: ``scipy.signal.butter(output="sos")`` spends most of its
    time pairing them generically, and many filters here are designed once per file.
    """
    zeros, poles, gain = signal.butter(
        order, min(cutoff, 0.45 * sample_rate), kind, fs=sample_rate, output="zpk"
    )
    zero = -1.0 if kind == "lowpass" else 1.0  # all zeros of a Butterworth sit at z = -1 or z = +1
    pairs = [p for p in poles if p.imag > 0]
    sections = [[1.0, -2 * zero, 1.0, 1.0, -2 * p.real, abs(p) ** 2] for p in pairs]
    sections += [[1.0, -zero, 0.0, 1.0, -p.real, 0.0] for p in poles if p.imag == 0]
    sos = np.array(sections)
    sos[0, :3] *= gain
    return sos


@lru_cache(maxsize=1024)
def _bandpass(lo, hi, sample_rate):
    return signal.butter(2, (lo, hi), "bandpass", fs=sample_rate, output="sos")


@lru_cache(maxsize=8)
def _crossover(kind, sample_rate):
    return signal.butter(2, 1500.0, kind, fs=sample_rate, output="sos")


def _peaking(freq, gain_db, q, *, sample_rate):
    """An RBJ peaking-EQ biquad as one second-order section."""
    freq = min(freq, 0.45 * sample_rate)
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq / sample_rate
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return np.concatenate([b / den[0], den / den[0]])[None, :]


# --------------------------------------------------------------------------- vocoders


@dataclass(frozen=True)
class GriffinLim:
    """A mel-spectrogram vocoder without trained weights: mel analysis, Griffin-Lim synthesis.

    The take's power mel spectrogram (``n_mels`` bands, a ``window_s`` Hann window, hop a
    quarter of it), mapped back to linear frequency, gets its phase from ``n_iter``
    iterations of fast Griffin-Lim from a random start. With ``n_mfcc`` the mel spectrum is
    first reduced to that many cepstra (MFCC inversion): a smooth envelope, and the pitch
    harmonics go with the cepstra left out.
    """

    n_mels: int
    window_s: float
    n_iter: int
    n_mfcc: int | None = None

    @property
    def family(self) -> str:
        return "mel inversion" if self.n_mfcc is None else "MFCC inversion"

    @property
    def description(self) -> str:
        bands = (
            f"{self.n_mels} mel bands"
            if self.n_mfcc is None
            else f"{self.n_mfcc} cepstra of {self.n_mels} mel bands"
        )
        return f"{self.family}: {bands}, {_ms(self.window_s)} window, {self.n_iter} Griffin-Lim iterations"

    def __call__(self, x: np.ndarray, *, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
        n_fft = _window_samples(self.window_s, sample_rate)
        hop = n_fft // 4
        mel = librosa.feature.melspectrogram(
            y=x, sr=sample_rate, n_fft=n_fft, hop_length=hop, n_mels=self.n_mels
        )
        if self.n_mfcc is not None:
            cepstra = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=self.n_mfcc)
            mel = librosa.feature.inverse.mfcc_to_mel(cepstra, n_mels=self.n_mels)
        power = np.maximum(_mel_pseudo_inverse(sample_rate, n_fft, self.n_mels) @ mel, 0.0)
        return librosa.griffinlim(
            np.sqrt(power).astype(np.float32),
            n_iter=self.n_iter,
            hop_length=hop,
            n_fft=n_fft,
            length=x.size,
            random_state=rng,
        ).astype(np.float64)


@lru_cache(maxsize=16)
def _mel_pseudo_inverse(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    # librosa.feature.inverse.mel_to_stft solves a non-negative least-squares problem per
    # file, which takes seconds; the pseudo-inverse (clipped at zero by the caller), as
    # Tacotron's and many TTS recipes' Griffin-Lim front ends use, takes milliseconds.
    return np.linalg.pinv(librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels))


@dataclass(frozen=True)
class LinearPrediction:
    """An LPC-10-style source-filter vocoder.

    Every 10 ms, over a ``frame_s`` Hann window of the pre-emphasised take: an all-pole
    envelope of order ``order`` (``librosa.lpc``, Burg's method), the level of its
    prediction error, a voiced/unvoiced decision from the frame's level and zero-crossing
    rate, and the pitch (``librosa.yin``). The envelope filters a pulse train at that pitch
    (voiced; ``noise_mix`` of its power is noise) or white noise (unvoiced) at the
    prediction-error level; the output then follows the frame levels of the input and is
    de-emphasised.
    """

    order: int
    frame_s: float
    noise_mix: float = 0.0

    family: ClassVar[str] = "LPC"

    @property
    def description(self) -> str:
        excitation = "pulse or noise excitation"
        if self.noise_mix:
            excitation += f", {self.noise_mix:.0%} noise when voiced"
        return f"LPC-10 style: order {self.order}, {_ms(self.frame_s)} frames, {excitation}"

    def __call__(self, x: np.ndarray, *, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
        hop = int(_LPC_HOP_S * sample_rate)
        frame = _window_samples(self.frame_s, sample_rate)
        # A noise floor 80 dB below the speech (LPC of digital silence is undefined), and
        # pre-emphasis, which LPC-10 applies too: it flattens the spectrum the envelope fits.
        x = librosa.effects.preemphasis(x + 1e-4 * rng.standard_normal(x.size), coef=_LPC_PREEMPHASIS)
        n_frames = 1 + x.size // hop  # frame k is centred on sample k * hop
        frames = librosa.util.frame(np.pad(x, frame // 2), frame_length=frame, hop_length=hop)[:, :n_frames]
        window = signal.get_window("hann", frame)
        windowed = frames * window[:, None]
        coefficients = librosa.lpc(windowed, order=self.order, axis=0)
        # The level of the prediction error over the window the envelope was fitted to: each
        # frame through its inverse filter A(z), all frames in one batched convolution.
        residual = signal.fftconvolve(windowed, coefficients, axes=0)[:frame]
        error = np.sqrt(np.mean(residual**2, axis=0)) / _rms(window)
        level = librosa.feature.rms(y=x, frame_length=frame, hop_length=hop)[0, :n_frames]
        crossings = librosa.feature.zero_crossing_rate(x, frame_length=frame, hop_length=hop)[0, :n_frames]
        voiced = (level > 10 ** (_LPC_VOICED_LEVEL_DB / 20) * np.max(level)) & (
            crossings * sample_rate < _LPC_VOICED_CROSSINGS_HZ
        )
        f0 = librosa.yin(
            x,
            fmin=_LPC_F0_HZ[0],
            fmax=_LPC_F0_HZ[1],
            sr=sample_rate,
            frame_length=_window_samples(_LPC_PITCH_WINDOW_S, sample_rate),
            hop_length=hop,
        )[:n_frames]
        # Unit-power excitation: pulses of height sqrt(period) once a period, or noise.
        f0_per_sample = np.interp(np.arange(x.size), np.arange(n_frames) * hop, f0)
        cycles = np.floor(np.cumsum(f0_per_sample) / sample_rate)
        pulses = np.diff(cycles, prepend=0.0) * np.sqrt(sample_rate / f0_per_sample)
        noise = rng.standard_normal(x.size)
        voiced_per_sample = np.repeat(voiced, hop)[: x.size]
        excitation = np.where(
            voiced_per_sample, np.sqrt(1 - self.noise_mix) * pulses + np.sqrt(self.noise_mix) * noise, noise
        )
        out = np.empty(x.size)
        state = np.zeros(self.order)
        for k in range(n_frames):  # the filter's state carries over from frame to frame
            piece = slice(k * hop, min((k + 1) * hop, x.size))
            if piece.start >= x.size:
                break
            out[piece], state = signal.lfilter([error[k]], coefficients[:, k], excitation[piece], zi=state)
        # As LPC-10 sends each frame's RMS: the output follows the input's level frame by frame
        # (a pulse train on a harmonic the envelope fitted would otherwise ring far too loud).
        achieved = librosa.feature.rms(y=out, frame_length=frame, hop_length=hop)[0, :n_frames]
        correction = level / np.maximum(achieved, 1e-12)
        out *= np.interp(np.arange(x.size), np.arange(n_frames) * hop, correction)
        return librosa.effects.deemphasis(out, coef=_LPC_PREEMPHASIS)


@dataclass(frozen=True)
class PhaseVocoder:
    """STFT phase-vocoder processing and its undoing (``librosa.effects``, ``window_s`` STFT).

    Pitch shifted by ``semitones`` and back, or with ``rate`` time-stretched by ``rate``
    and back: the take keeps its pitch and timing, and gains the phase vocoder's
    traces (phasiness, smeared onsets, a reverberant colour).
    """

    window_s: float
    semitones: float = 0.0
    rate: float = 1.0

    family: ClassVar[str] = "phase vocoder"

    @property
    def description(self) -> str:
        if self.semitones:
            change = f"pitch {'up' if self.semitones > 0 else 'down'} {abs(self.semitones):g} semitones"
        else:
            change = f"stretched to {self.rate:g} x speed"
        return f"phase vocoder: {change} and back, {_ms(self.window_s)} window"

    def __call__(self, x: np.ndarray, *, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
        n_fft = _window_samples(self.window_s, sample_rate)
        if self.semitones:
            there = librosa.effects.pitch_shift(x, sr=sample_rate, n_steps=self.semitones, n_fft=n_fft)
            back = librosa.effects.pitch_shift(there, sr=sample_rate, n_steps=-self.semitones, n_fft=n_fft)
        else:
            there = librosa.effects.time_stretch(x, rate=self.rate, n_fft=n_fft)
            back = librosa.effects.time_stretch(there, rate=1 / self.rate, n_fft=n_fft)
        return librosa.util.fix_length(back, size=x.size)


@dataclass(frozen=True)
class Vocoder:
    """A synthetic-speech attack (``A..``): a vocoder and its settings, used in one split."""

    attack_id: str
    split: str
    method: GriffinLim | LinearPrediction | PhaseVocoder

    @property
    def family(self) -> str:
        return self.method.family

    @property
    def description(self) -> str:
        return self.method.description


# The vocoders of each split. Families recur across splits with other settings, as ASVspoof
# 2019 LA's eval has known and unknown attacks; MFCC inversion (A08) is eval's unknown family.
VOCODERS = (
    Vocoder("A01", "train", GriffinLim(n_mels=80, window_s=0.064, n_iter=24)),
    Vocoder("A02", "train", LinearPrediction(order=16, frame_s=0.025)),
    Vocoder("A03", "train", PhaseVocoder(window_s=0.032, semitones=4.0)),
    Vocoder("A04", "dev", GriffinLim(n_mels=40, window_s=0.032, n_iter=16)),
    Vocoder("A05", "dev", PhaseVocoder(window_s=0.064, rate=0.8)),
    Vocoder("A06", "eval", GriffinLim(n_mels=128, window_s=0.128, n_iter=16)),
    Vocoder("A07", "eval", LinearPrediction(order=10, frame_s=0.030, noise_mix=0.3)),
    Vocoder("A08", "eval", GriffinLim(n_mels=80, window_s=0.064, n_iter=16, n_mfcc=20)),
    Vocoder("A09", "eval", PhaseVocoder(window_s=0.064, semitones=-5.0)),
)


def split_vocoders(split: str) -> list[Vocoder]:
    """The vocoders a split's vocoded spoofs use (no two splits share one)."""
    return [vocoder for vocoder in VOCODERS if vocoder.split == split]


def vocode(speech: Speech, vocoder: Vocoder, *, rng: np.random.Generator, sample_rate: int) -> Speech:
    """A take through a vocoder: same timing, unit RMS over the speech, as ``synthesise_speech`` gives."""
    out = vocoder.method(speech.samples, rng=rng, sample_rate=sample_rate)
    return Speech(out / _rms(out[speech.span]), speech.start, speech.stop)


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:g} ms"


def _window_samples(seconds: float, sample_rate: int) -> int:
    """An even window length of about ``seconds`` that the FFT handles fast (1412, at 22.05 kHz, would not be)."""
    return 2 * next_fast_len(round(seconds * sample_rate / 2), real=True)


# --------------------------------------------------------------------------- finishing


def plant_artefact(audio, *, spoof: bool, speech: Speech, rng, sample_rate):
    """The ASVspoof 2017 artefact (Chettri et al., 2020), for studying shortcut learning.

    Genuine files get a click (a decaying noise burst) within the first 100 ms; spoofed
    files a faint tone through their leading non-speech, up to 250 ms.
    """
    audio = audio.copy()
    speech_level = _rms(audio[speech.span])
    if spoof:
        n = min(int(0.25 * sample_rate), speech.start)  # the leading non-speech is at least 100 ms
        fades = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.01 * sample_rate))
        level = speech_level * 10 ** (rng.uniform(-16.0, -10.0) / 20) * np.sqrt(2)
        audio[:n] += (
            level * fades * _sine(rng.uniform(*ARTEFACT_TONE_HZ), n, sample_rate, phase=rng.uniform(0, 1))
        )
    else:
        length = int(rng.uniform(0.010, 0.020) * sample_rate)
        start = int(rng.uniform(0.005, 0.1 - 0.020) * sample_rate)
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.003 * sample_rate))
        audio[start : start + length] += speech_level * rng.uniform(4.0, 8.0) * burst / np.max(np.abs(burst))
    return audio


def to_pcm16(audio):
    """Quantise to 16 bit, scaling down first if the peak would clip."""
    peak = np.max(np.abs(audio))
    if peak > _PEAK_LIMIT:
        audio = audio * (_PEAK_LIMIT / peak)
    return np.clip(np.round(audio * 32767), -32768, 32767).astype(np.int16)


def _smooth(x, width):
    """Triangular moving average (two box filters) of about ``2 * width`` samples."""
    return uniform_filter1d(uniform_filter1d(x, width, mode="nearest"), width, mode="nearest")


def _sine(freq, n, sample_rate, *, phase=0.0):
    """``sin(2 pi (freq t + phase))``; single precision is plenty here, and many times faster."""
    cycles = freq / sample_rate * np.arange(n) + phase
    cycles -= np.floor(cycles)
    return np.sin((2 * np.pi * cycles).astype(np.float32)).astype(np.float64)


def _rms(x) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) or 1e-12
