"""Fuzzing `deepfake-audio predict` (issue 16): every input ends as exactly one result row or
exactly one `error:` line, never a traceback, whatever goes wrong (decoder, resampler,
features, model).

One seeded corpus of a few hundred hostile inputs (tests/fuzz_audio.py: valid audio in many
formats, signals without speech, byte mutations, hostile names, FIFOs, links, devices) is
scored in-process by `main(["predict", ...])` with the SVC as CSV and the CNN as a table;
the mutation families are scored once more, alone, for determinism (each file must get the
line it got before; a second full run would double the time). FUZZ_SEED and FUZZ_COUNT
choose another corpus (the defaults are what CI runs). The time each run took is printed,
never asserted.

How a name is found in the output. Stdout and stderr are captured as a UTF-8 terminal
would take them: stdout strict (a lone surrogate, which is how Python holds an undecodable
byte of a file name, cannot be printed there and raises), stderr with backslashreplace
(as Python's own stderr). A row or error line names an input when it carries the input's
path verbatim or in one of the usual backslash-escaped spellings (``printed_forms``): UTF-8
with undecodable bytes as ``\\xNN`` and control or line-breaking characters as ``\\n``,
``\\t``, ``\\r``, ``\\xNN``, ``\\uNNNN`` (what `predict` is to print, so that ``bad\\xff\\xfe.wav``
and ``a\\nb.wav`` stay on one line); Python's repr without the quotes; unicode_escape; and
the bytes' repr. Lines are split on "\\n" only (CSV with csv.reader, which keeps quoted
newlines), so a raw newline in a table row or an error line splits it, and the input then
has no line naming it: the test fails, as a user's line-based tools would. Table rows and
error lines must hold no raw control characters at all (CONTROLS); CSV may, in quoted fields.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import math
import os
import signal
import threading
import time
import traceback
import unicodedata
from dataclasses import dataclass, field

import pytest
from fuzz_audio import AT_MOST_ONE, ERROR, NONE, ONE, write_fuzz_corpus

from deepfake_audio.cli import main

SEED = int(os.environ.get("FUZZ_SEED", "0"))
COUNT = int(os.environ.get("FUZZ_COUNT", "200"))
RUNS = (("svc", "csv"), ("cnn", "table"))
AGAIN = ("signal", "truncated", "flip-header", "flip-body", "ogg", "garbage")  # scored a second time
FIELDS = ("path", "model", "score", "threshold", "decision", "duration_s", "windows")
SOME_REFUSED = 1  # predict's exit status when some inputs were refused and no internal failure happened
HANG_GUARD_S = 600  # not a time limit: only stops a run that hangs (say, reading a FIFO) from hanging CI
EXAMPLES = 4  # per family and problem in a failure message
# Characters no table row or error line may hold raw (a CR or an ANSI escape in a file name
# would rewrite the terminal line; a newline or U+2028 would split it): C0/C1 controls and
# DEL, line and paragraph separators. A CSV field may hold them, quoted.
CONTROLS = ("Cc", "Zl", "Zp")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, request):
    start = time.monotonic()
    written = write_fuzz_corpus(tmp_path_factory.mktemp("fuzz") / "in", SEED, COUNT)
    families = collections.Counter(written.family[path] for path in written if written.expect[path] != NONE)
    _say(
        request,
        f"fuzz corpus (seed {SEED}): {sum(families.values())} inputs in {time.monotonic() - start:.1f} s; "
        + ", ".join(f"{family} {count}" for family, count in sorted(families.items())),
    )
    return written


@pytest.fixture(scope="module")
def runs(models_dir, corpus, request):
    """``runs(model, form, folders=())``: the run on the corpus (or those family folders of it), made on first use."""
    done = {}

    def get(model: str, form: str, folders: tuple[str, ...] = ()) -> Run:
        if (model, form, folders) not in done:
            run = run_predict(models_dir, corpus, model, form, folders)
            done[model, form, folders] = run
            _say(
                request,
                f"predict --model {model} --format {form} {' '.join(folders) or 'the corpus'}: "
                f"{run.elapsed:.1f} s, status {run.status}",
            )
        return done[model, form, folders]

    return get


def _say(request, line: str) -> None:
    """``line`` on the terminal as the tests run (pytest's capture set aside)."""
    plugins = request.config.pluginmanager
    reporter, capture = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line(line)


# --------------------------------------------------------------------------- running predict


@dataclass
class Run:
    model: str
    form: str
    status: object = None
    stdout: str = ""
    stderr: str = ""
    escaped: str = ""  # the exception that escaped main, formatted; "" when none did
    elapsed: float = 0.0
    fifos_opened: set = field(default_factory=set)


class Hung(BaseException):
    """Raised in a run that passed HANG_GUARD_S (a BaseException: predict's own handlers let it pass)."""


@contextlib.contextmanager
def hang_guard(seconds: float):
    def stop(signum, frame):
        raise Hung(f"predict still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class FifoWatchdog(threading.Thread):
    """Notes each FIFO that a run opens for reading, and lets the reader go: the watchdog opens
    it for writing and closes it at once, so the reader gets end-of-file instead of waiting
    forever for a writer that never comes (as it would outside this test)."""

    def __init__(self, fifos):
        super().__init__(daemon=True)
        self.fifos, self.opened, self.done = list(fifos), set(), threading.Event()

    def run(self):
        while not self.done.wait(0.05):
            self.poll()

    def poll(self):
        for fifo in self.fifos:
            try:
                descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO unless a reader has it open
            except OSError:
                continue
            os.close(descriptor)
            self.opened.add(fifo)

    def stop(self):
        self.done.set()
        self.join()
        self.poll()


def run_predict(models_dir, corpus, model: str, form: str, folders: tuple[str, ...] = ()) -> Run:
    """``deepfake-audio predict`` on the corpus folder (or those family folders of it), in-process,
    with stdout and stderr captured."""
    inputs = [str(corpus.folder / folder) for folder in folders] or [str(corpus.folder)]
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", newline="", write_through=True)
    err = io.TextIOWrapper(
        err_bytes, encoding="utf-8", errors="backslashreplace", newline="", write_through=True
    )
    run = Run(model, form)
    watchdog = FifoWatchdog(corpus.fifos)
    watchdog.start()
    start = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), hang_guard(HANG_GUARD_S):
            run.status = main(
                ["predict", "--model", model, "--format", form, "--models-dir", str(models_dir), *inputs]
            )
    except KeyboardInterrupt:
        raise
    except BaseException as escaped:  # SystemExit and Hung too: nothing may escape predict
        run.escaped = "".join(traceback.format_exception(escaped))
    finally:
        run.elapsed = time.monotonic() - start
        watchdog.stop()
        run.fifos_opened = watchdog.opened
    for stream in (out, err):
        with contextlib.suppress(Exception):  # a half-written character after an encoding error
            stream.flush()
    run.stdout = out_bytes.getvalue().decode("utf-8", "surrogateescape")
    run.stderr = err_bytes.getvalue().decode("utf-8", "surrogateescape")
    return run


# --------------------------------------------------------------------------- reading the output


def printed_forms(path) -> set[str]:
    """The spellings of ``path`` accepted in the output (see the module docstring)."""
    text = os.fsdecode(path)
    raw = os.fsencode(text)
    utf8 = raw.decode("utf-8", "backslashreplace")
    forms = {
        text,
        "".join(char if char.isprintable() else repr(char)[1:-1] for char in utf8),
        repr(text)[1:-1],
        text.encode("unicode_escape").decode("ascii"),
        repr(raw)[2:-1],
    }
    return {form for form in forms if form}


@dataclass
class Tally:
    rows: collections.Counter = field(default_factory=collections.Counter)
    errors: collections.Counter = field(default_factory=collections.Counter)
    scores: dict = field(default_factory=dict)  # path -> the score cells of its rows
    reasons: dict = field(default_factory=dict)  # path -> the text of its error lines
    unattributed: list = field(default_factory=list)  # output lines naming no input
    row_count: int = 0
    error_count: int = 0


class Names:
    """Finds which corpus entry an output line names (the longest spelling that fits)."""

    def __init__(self, corpus):
        pairs = [(form, path) for path in corpus for form in printed_forms(path)]
        self.forms = sorted(pairs, key=lambda pair: -len(pair[0]))
        self.exact = dict(reversed(self.forms))

    def starting(self, line: str, followers: str):
        for form, path in self.forms:
            if line.startswith(form) and len(line) > len(form) and line[len(form)] in followers:
                return path, line[len(form) :]
        return None, line


def tally(run: Run, corpus) -> Tally:
    names, counts = Names(corpus), Tally()
    if run.form == "csv":
        records = list(csv.reader(io.StringIO(run.stdout, newline="")))
        if records and tuple(records[0]) == FIELDS:
            records = records[1:]
        for record in records:
            path = names.exact.get(record[0]) if record else None
            _count_row(counts, path, record[2] if path and len(record) == len(FIELDS) else "", repr(record))
    else:
        lines = [line for line in run.stdout.split("\n") if line.strip()]
        if lines and lines[0].split() == list(FIELDS):
            lines = lines[1:]
        for line in lines:
            path, rest = names.starting(line, " \t")
            cells = rest.split()
            _count_row(counts, path, cells[1] if path and len(cells) == len(FIELDS) - 1 else "", line)
    for line in run.stderr.split("\n"):
        if line.startswith("error:"):
            counts.error_count += 1
            path, rest = names.starting(line[len("error: ") :], ": \t")
            if path is None:
                counts.unattributed.append(line)
            else:
                counts.errors[path] += 1
                counts.reasons.setdefault(path, []).append(rest.lstrip(": "))
    return counts


def _count_row(counts: Tally, path, score: str, line: str) -> None:
    counts.row_count += 1
    if path is None:
        counts.unattributed.append(line)
    else:
        counts.rows[path] += 1
        counts.scores.setdefault(path, []).append(score)


def problems(run: Run, corpus, kinds: tuple[str, ...]) -> dict[str, dict[str, list[str]]]:
    """{problem: {family: [example names]}} for the problem kinds asked."""
    counts = tally(run, corpus)
    found = collections.defaultdict(lambda: collections.defaultdict(list))
    for path in corpus:
        rows, errors, family, expect = (
            counts.rows[path],
            counts.errors[path],
            corpus.family[path],
            corpus.expect[path],
        )
        name = os.path.relpath(os.fsdecode(path), os.fsdecode(corpus.folder))
        outcomes = rows + errors
        checks = {
            "no line": expect in (ONE, ERROR) and outcomes == 0,
            "more than one line": outcomes > 1,
            "a line for an entry that must have none": expect == NONE and outcomes > 0,
            "scored, should be refused": expect == ERROR and rows > 0,
            "a score that is not a finite number": any(
                not _finite(score) for score in counts.scores.get(path, [])
            ),
        }
        for problem, failed in checks.items():
            if problem in kinds and failed:
                found[problem][family].append(
                    f"{name!r} ({rows} rows, {errors} error lines"
                    f"{': ' + counts.reasons[path][0] if errors else ''})"
                )
    if "lines naming no input" in kinds and counts.unattributed:
        found["lines naming no input"]["-"] = [repr(line) for line in counts.unattributed]
    if "raw control characters" in kinds:
        shown = [line for line in run.stderr.split("\n") if line.startswith("error:")]
        if run.form == "table":
            shown += run.stdout.split("\n")
        raw = [repr(line) for line in shown if any(unicodedata.category(char) in CONTROLS for char in line)]
        if raw:
            found["raw control characters in a table row or an error line"]["-"] = raw
    return found


def _finite(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def describe(found: dict, run: Run) -> str:
    lines = [f"predict --model {run.model} --format {run.form}:"]
    for problem, families in found.items():
        total = sum(map(len, families.values()))
        lines.append(f"  {problem}: {total}")
        for family, examples in sorted(families.items()):
            lines.append(
                f"    {family} ({len(examples)}): "
                + "; ".join(examples[:EXAMPLES])
                + (" ..." if len(examples) > EXAMPLES else "")
            )
    if run.escaped:
        lines.append("  and an exception escaped predict:\n" + run.escaped[-3000:])
    return "\n".join(lines)


# --------------------------------------------------------------------------- the tests

ids = [f"{model}-{form}" for model, form in RUNS]


@pytest.mark.parametrize(("model", "form"), RUNS, ids=ids)
def test_predict_returns_a_status_and_never_prints_a_traceback(runs, model, form):
    run = runs(model, form)
    assert not run.escaped, f"an exception escaped predict:\n{run.escaped[-5000:]}"
    assert type(run.status) is int
    for stream, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        assert "Traceback" not in text, f"a traceback on {stream}:\n{text[text.index('Traceback') :][:5000]}"


@pytest.mark.parametrize(("model", "form"), RUNS, ids=ids)
def test_every_input_ends_as_exactly_one_row_or_error_line(runs, corpus, model, form):
    run = runs(model, form)
    found = problems(
        run,
        corpus,
        (
            "no line",
            "more than one line",
            "a line for an entry that must have none",
            "lines naming no input",
            "a score that is not a finite number",
            "raw control characters",
        ),
    )
    assert not found and not run.escaped, describe(found, run)
    counts = tally(run, corpus)
    inputs = [
        path
        for path in corpus
        if corpus.expect[path] in (ONE, ERROR)
        or corpus.expect[path] == AT_MOST_ONE
        and counts.rows[path] + counts.errors[path]
    ]
    assert counts.row_count + counts.error_count == len(inputs)


@pytest.mark.parametrize(("model", "form"), RUNS, ids=ids)
def test_inputs_without_usable_speech_are_refused_not_scored(runs, corpus, model, form):
    """Huge floats, NaN, Inf, zeros, DC, an impulse, one bit, denormals, a click in silence; zero
    channels or hertz, WAV headers announcing more than the file holds, empty and random files,
    and entries that are not regular files: an error line each, never a score."""
    run = runs(model, form)
    found = problems(run, corpus, ("scored, should be refused",))
    assert not found and not run.escaped, describe(found, run)


@pytest.mark.parametrize(("model", "form"), RUNS, ids=ids)
def test_hostile_input_is_refused_not_an_internal_failure(runs, model, form):
    """Exit status 1 (some inputs refused): 0 would mean every hostile file was scored, 2 that
    nothing ran, 3 that some input made the decoder, resampler, features or model fail."""
    run = runs(model, form)
    internal = [line for line in run.stderr.split("\n") if line.startswith("error:") and "internal" in line]
    assert run.status == SOME_REFUSED, "\n".join([f"status {run.status}", *internal[:20]])


@pytest.mark.parametrize(("model", "form"), RUNS, ids=ids)
def test_a_fifo_is_never_opened(runs, corpus, model, form):
    """Reading a FIFO blocks until something writes to it: the scan must refuse it unopened."""
    assert not runs(model, form).fifos_opened


def test_files_scored_twice_give_identical_lines(runs, corpus):
    """The mutation families (where a decoder could hand out uninitialised memory) scored again,
    alone: each of their files gets the very line it got in the whole folder's run."""
    first, again = runs(*RUNS[0]), runs(*RUNS[0], folders=AGAIN)
    assert not first.escaped and not again.escaped
    lines = [lines_by_input(run, corpus) for run in (first, again)]
    again_inputs = {path for path in corpus if corpus.family[path] in AGAIN and corpus.expect[path] != NONE}
    differ = {
        os.fsdecode(path): (lines[0].get(path), lines[1].get(path))
        for path in sorted(again_inputs)
        if lines[0].get(path) != lines[1].get(path)
    }
    assert not differ, "\n".join(
        f"{path}:\n  first {one}\n  again {two}" for path, (one, two) in differ.items()
    )
    assert again.status == first.status


def lines_by_input(run: Run, corpus) -> dict:
    """{path: [its rows as text, then its error lines]} of a run."""
    names, found = Names(corpus), collections.defaultdict(list)
    if run.form == "csv":
        for record in list(csv.reader(io.StringIO(run.stdout, newline="")))[1:]:
            found[names.exact.get(record[0]) if record else None].append(repr(record))
    else:
        for line in run.stdout.split("\n")[1:]:
            found[names.starting(line, " \t")[0]].append(line)
    for line in run.stderr.split("\n"):
        if line.startswith("error:"):
            found[names.starting(line[len("error: ") :], ": \t")[0]].append(line)
    return dict(found)
