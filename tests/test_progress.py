"""Progress of long stages: a line per interval and one at the end when the output is a log."""

import io

import pytest

from deepfake_audio import progress as progress_module
from deepfake_audio.progress import Progress, progress, step


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(progress_module.time, "monotonic", fake)
    return fake


def test_a_log_gets_a_line_per_interval_with_the_time_and_one_at_the_end(clock):
    log = io.StringIO()
    with Progress(100, "featurize", stream=log, every_s=10.0) as shown:
        for _ in range(40):
            clock.now += 0.2  # 8 s: no line yet
            shown.update()
        clock.now += 2.0  # 10 s since the start
        shown.update(10)
        clock.now += 10.0
        shown.update(50)
    assert log.getvalue().splitlines() == [
        "featurize: 50/100 files (50 %), 10 s, about 10 s left",
        "featurize: 100/100 files (100 %), 20 s",
    ]


def test_progress_passes_every_item_through_and_counts_them(clock):
    log, items = io.StringIO(), list(range(5))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(progress_module.sys, "stderr", log)
        assert list(progress(items, "explain svc: LIME", unit="case")) == items
    assert log.getvalue() == "explain svc: LIME: 5/5 cases (100 %), 0 s\n"


def test_a_step_prints_its_start_and_its_time(clock):
    log = io.StringIO()
    with step("explain svc: SHAP values of 40 utterances", stream=log):
        clock.now += 12.34
    assert log.getvalue().splitlines() == [
        "explain svc: SHAP values of 40 utterances ...",
        "explain svc: SHAP values of 40 utterances: done in 12.3 s",
    ]


def test_a_failed_loop_prints_no_final_line(clock):
    log = io.StringIO()
    with pytest.raises(RuntimeError), Progress(10, "audit", stream=log):
        raise RuntimeError("worker died")
    assert log.getvalue() == ""
