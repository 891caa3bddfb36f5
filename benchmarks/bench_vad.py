"""How well the audit's speech detector finds the speech (``make bench-vad``).

The embedded corpus knows where each file's speech starts and ends, so the detector can
be scored against the truth. Renders eval utterances with the ASVspoof 2017 artefact
planted (``synthetic.artefact: true``: a click in the first 100 ms of genuine files, a
faint tone in the leading silence of spoofed ones), runs ``audit.vad`` at several
``top_db`` values, and prints, per setting, the error of the detected start and end
(detected minus true, in ms: positive start = speech cut, negative = non-speech kept) and
the share of files whose tone or click survives the trimming.

    python benchmarks/bench_vad.py --files 200 --top-db 12 15 18 20
"""

from __future__ import annotations

import deepfake_audio.cpu  # noqa: F401  (first: pins the CPU settings before NumPy loads)

import argparse
from pathlib import Path

import numpy as np

from deepfake_audio.corpus import synthetic
from deepfake_audio.params import load_params
from deepfake_audio.speech import Vad

REPO = Path(__file__).resolve().parents[1]
MARGIN_S = 0.03  # a cue counts as kept when the detected start lies this far before its end


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200, metavar="N", help="eval utterances (default: 200)")
    parser.add_argument("--top-db", type=float, nargs="+", default=[12.0, 15.0, 18.0, 20.0])
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    args = parser.parse_args(argv)

    params = load_params(args.params)
    corpus = params.synthetic.model_copy(update={"artefact": True})
    rate = params.data.sample_rate
    plan = synthetic.plan_corpus(corpus, params.seed)["eval"]
    chosen = plan[:: max(1, len(plan) // args.files)][: args.files]
    files = [(utt, *_render(utt, corpus, rate, params.seed)) for utt in chosen]

    print(f"{len(files)} eval utterances with the artefact; min_speech_ms {params.audit.vad.min_speech_ms:g}")
    print(
        "top_db  start error ms (p5 / median / p95)  end error ms (p5 / median / p95)  tone kept  click kept"
    )
    for top_db in args.top_db:
        vad = Vad(
            params.audit.vad.model_copy(update={"top_db": top_db}),
            rate,
            params.features.win_length,
            params.features.hop_length,
        )
        start_errors, end_errors, tone_kept, click_kept = [], [], [], []
        for utt, audio, (start, stop) in files:
            found = vad.speech_bounds(audio) or (0, audio.size)
            start_errors.append(1000 * (found[0] - start) / rate)
            end_errors.append(1000 * (found[1] - stop) / rate)
            if utt.playback is None:
                click_kept.append(found[0] / rate < 0.1 - MARGIN_S)
            else:
                tone_kept.append(found[0] / rate < min(0.25, start / rate) - MARGIN_S)
        start, end = (np.percentile(errors, [5, 50, 95]) for errors in (start_errors, end_errors))
        print(
            f"{top_db:6g}  {_triple(start):>34}  {_triple(end):>32}  {np.mean(tone_kept):9.0%}  "
            f"{np.mean(click_kept):10.0%}"
        )
    return 0


def _render(utt, corpus, rate: int, seed: int):
    """The file's samples (as the corpus writes them) and its true speech span."""
    pcm = synthetic.render_utterance(utt, sample_rate=rate, seed=seed, snr_db=corpus.snr_db, artefact=True)
    return pcm.astype(np.float32) / 32768, synthetic.speech_span(utt, sample_rate=rate, seed=seed)


def _triple(values) -> str:
    return " / ".join(f"{value:.0f}" for value in values)


if __name__ == "__main__":
    raise SystemExit(main())
