"""The pinned CPU settings: the same feature bytes whichever instruction sets the libraries may use."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from deepfake_audio import cpu

EXTRACT = """
import hashlib, sys
import deepfake_audio
from pathlib import Path
from deepfake_audio.features.extract import extract_in_memory
from deepfake_audio.params import AnalysisSettings, ComputeParams, FeaturesParams
files = sorted(Path(sys.argv[1]).glob("*.wav"))
features, spectrograms = extract_in_memory(
    files, [1.5] * len(files), AnalysisSettings(16000, FeaturesParams()), compute=ComputeParams(n_jobs=2)
)
print(deepfake_audio.cpu.STATE)
print(hashlib.sha256(features.tobytes() + spectrograms.tobytes()).hexdigest())
"""
# What a machine without AVX-512 (or with another BLAS build or core count) would let the libraries pick.
NARROW_CPU = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "OPENBLAS_CORETYPE": "Haswell",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OPENBLAS_NUM_THREADS": "3",
}
NO_AVX2 = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    "OPENBLAS_CORETYPE": "Sandybridge",
}

needs_avx2 = pytest.mark.skipif(not cpu.supports_pinning(), reason="the pinned level needs x86-64 with AVX2")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recordings")
    rng = np.random.default_rng(0)
    t = np.arange(24000) / 16000
    for i in range(4):
        voice = 0.3 * np.sin(2 * np.pi * (150 + 40 * i) * t * (1 + 0.1 * np.sin(3 * t)))
        sf.write(folder / f"u{i}.wav", voice + 0.02 * rng.normal(size=t.size), 16000, subtype="PCM_16")
    return folder


def extract(folder, mode: str, environment: dict) -> tuple[str, str]:
    """(state, hash of the features and spectrograms) from a fresh process in ``environment``."""
    clean = {name: value for name, value in os.environ.items() if name not in cpu.PINNED}
    done = subprocess.run(
        [sys.executable, "-c", EXTRACT, str(folder)],
        capture_output=True,
        text=True,
        env={**clean, **environment, cpu.MODE_VARIABLE: mode},
    )
    assert done.returncode == 0, done.stderr
    state, digest = done.stdout.split()[-2:]
    return state, digest


@needs_avx2
def test_pinned_features_are_the_same_bytes_whatever_the_cpu_offers(recordings):
    full = extract(recordings, "pinned", {})
    assert full[0] == "pinned"
    assert extract(recordings, "pinned", NARROW_CPU) == full
    assert extract(recordings, "pinned", NO_AVX2) == full  # the pins override what the environment says


@needs_avx2
def test_without_pinning_the_instruction_set_moves_the_bits(recordings):
    # The control: the settings the pins fix do change the features, so the equality above is not
    # the features being insensitive to them.
    assert extract(recordings, "native", {}) != extract(recordings, "native", NO_AVX2)


@needs_avx2
def test_pinning_sets_every_library_before_it_loads():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import deepfake_audio, numpy, scipy.linalg, threadpoolctl, json; "
            "from numpy._core._multiarray_umath import __cpu_features__ as f; "
            "print(json.dumps([f['X86_V4'], [(i['architecture'], i['num_threads']) "
            "for i in threadpoolctl.threadpool_info() if i['internal_api'] == 'openblas']]))",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, cpu.MODE_VARIABLE: "pinned"},
        check=True,
    )
    avx512, blas = json.loads(done.stdout)
    assert avx512 is False
    assert blas and all(library == ["Haswell", 1] for library in blas)  # numpy's and scipy's OpenBLAS


ONEDNN_IN_USE = (
    "import deepfake_audio; from tensorflow.python.util import _pywrap_util_port as port; "
    "print(port.IsMklEnabled())"
)


@needs_avx2
def test_tensorflow_runs_its_onednn_kernels_whatever_the_cpu():
    # TensorFlow picks oneDNN by itself only on CPUs with AVX512_VNNI, AVX_VNNI or AMX; an
    # environment saying 0 stands for a CPU without them (its default there).
    def onednn(mode):
        done = subprocess.run(
            [sys.executable, "-c", ONEDNN_IN_USE],
            capture_output=True,
            text=True,
            env={**os.environ, cpu.ONEDNN: "0", cpu.MODE_VARIABLE: mode},
            check=True,
        )
        return done.stdout.split()[-1]

    assert onednn("pinned") == "True"
    assert onednn("native") == "False"  # native mode leaves a setting the environment made


def test_an_unknown_mode_is_refused_with_the_variable_named():
    done = subprocess.run(
        [sys.executable, "-c", "import deepfake_audio"],
        capture_output=True,
        text=True,
        env={**os.environ, cpu.MODE_VARIABLE: "fast"},
    )
    assert done.returncode != 0
    assert "error: DEEPFAKE_AUDIO_CPU='fast': expected one of pinned, native" in done.stderr


@pytest.mark.parametrize(
    "script", sorted(Path(__file__).resolve().parents[1].glob("stages/*.py")), ids=lambda p: p.name
)
def test_every_stage_imports_the_package_before_any_numeric_library(script):
    imports = [
        node for node in ast.parse(script.read_text()).body if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    modules = [
        (node.names[0].name if isinstance(node, ast.Import) else node.module).split(".")[0]
        for node in imports
    ]
    third_party = [module for module in modules if module not in sys.stdlib_module_names]
    assert third_party and third_party[0] == "deepfake_audio", f"{script.name} imports {third_party[0]} first"


class FakeLibc:
    """Records mallopt calls; glibc's mallopt returns 1 on success."""

    def __init__(self):
        self.calls = []

    def mallopt(self, parameter, value):
        self.calls.append((parameter, value))
        return 1


def test_malloc_keeps_freed_memory_with_the_documented_thresholds(monkeypatch):
    for variable, _ in cpu.MALLOC_SETTINGS.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv(cpu.MALLOC_VARIABLE, raising=False)
    libc = FakeLibc()
    assert cpu.keep_freed_memory(libc) == "kept"
    assert sorted(libc.calls) == [(-3, 32 << 20), (-2, 64 << 20), (-1, 512 << 20)]


def test_a_malloc_setting_in_the_environment_is_left_alone_and_glibc_opts_out(monkeypatch):
    for variable, _ in cpu.MALLOC_SETTINGS.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    libc = FakeLibc()
    assert cpu.keep_freed_memory(libc) == "kept"
    assert sorted(libc.calls) == [(-3, 32 << 20), (-2, 64 << 20)]  # no M_TRIM_THRESHOLD (-1)
    monkeypatch.setenv(cpu.MALLOC_VARIABLE, "glibc")
    libc = FakeLibc()
    assert cpu.keep_freed_memory(libc) == "glibc" and libc.calls == []


@pytest.mark.skipif(
    sys.platform != "linux" or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc's mallopt"
)
def test_every_process_of_the_package_sets_malloc_on_import():
    done = subprocess.run(
        [sys.executable, "-c", "import deepfake_audio.cpu as cpu; print(cpu.MALLOC_STATE)"],
        capture_output=True,
        text=True,
        env={name: value for name, value in os.environ.items() if not name.startswith("MALLOC_")},
        check=True,
    )
    assert done.stdout.split() == ["kept"]
