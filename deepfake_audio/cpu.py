"""Pin what makes floating-point results depend on the CPU, so every x86-64 machine gives the same bits.

NumPy picks SIMD kernels at run time, OpenBLAS picks its kernels per core type, oneDNN
(inside TensorFlow) dispatches up to AVX-512 and AMX, and thread counts change the order
of sums. Each reads its setting from the environment once, when it loads, so the settings
are made here, on the first import of this package, before any of them is imported; worker
processes inherit them. Every stage and ``predict`` import the package first.

The pinned level is x86-64-v3 (AVX2 and FMA), which every current x86-64 server and
laptop has: kernels for AVX-512 and newer are switched off, one BLAS thread, two
TensorFlow threads. ``DEEPFAKE_AUDIO_CPU=native`` leaves everything to the libraries
(faster on some machines, with results that differ in the last bits from machine to
machine). In pinned mode these settings override any already in the environment.

This is the one module whose import changes the process, so that nothing else has to: besides
the CPU settings it turns TensorFlow's oneDNN kernels on and sets ``TF_CPP_MIN_LOG_LEVEL`` to
2 (in every mode, unless already set), which keeps TensorFlow's start-up chatter out of the
stage logs, and tells glibc's malloc to keep freed memory (``keep_freed_memory``).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import warnings

MODE_VARIABLE = "DEEPFAKE_AUDIO_CPU"
MODES = ("pinned", "native")

# TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX512_VNNI, AVX_VNNI or
# AMX; elsewhere (AMD Zen 2 and 3, Intel before Cascade Lake) its Eigen kernels ran instead:
# other sums, so another CNN, and 2.3 times slower, with 6 million page faults per epoch (Eigen
# allocates and frees its buffers every step; docs/speed.md). On in every mode unless the
# environment says otherwise; pinned mode overrides the environment.
ONEDNN = "TF_ENABLE_ONEDNN_OPTS"

PINNED = {
    # NumPy 2.4's dispatch targets above x86-64-v3; disabling one the CPU lacks is a no-op.
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "OPENBLAS_CORETYPE": "Haswell",  # AVX2 kernels of numpy's and scipy's OpenBLAS
    "OPENBLAS_NUM_THREADS": "1",  # threaded dot products split the sum by thread count
    "OMP_NUM_THREADS": "1",  # scikit-learn's OpenMP loops (k-means)
    "MKL_NUM_THREADS": "1",
    ONEDNN: "1",
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # TensorFlow's oneDNN kernels
    "TF_NUM_INTRAOP_THREADS": "2",  # convolution gradients are reduced across these threads
    "TF_NUM_INTEROP_THREADS": "1",
    "NUMBA_CPU_NAME": "haswell",  # librosa's JIT-compiled helpers
}


def mode() -> str:
    value = os.environ.get(MODE_VARIABLE, "pinned").strip().lower() or "pinned"
    if value not in MODES:
        raise SystemExit(f"error: {MODE_VARIABLE}={value!r}: expected one of {', '.join(MODES)}")
    return value


def supports_pinning() -> bool:
    """Whether this CPU runs the pinned level: x86-64 with AVX2 and FMA."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return {"avx2", "fma"} <= set(flags)


def pin() -> str:
    """Apply the pinned settings to this process (and so its workers); returns what was done."""
    if mode() == "native":
        return "native"
    if not supports_pinning():
        return "unpinned (the CPU lacks x86-64 AVX2/FMA)"
    # Worker processes inherit the settings, so only a library loaded before they were made is a problem.
    unset = any(os.environ.get(name) != value for name, value in PINNED.items())
    late = [name for name in ("numpy", "tensorflow") if name in sys.modules]
    os.environ.update(PINNED)
    if late and unset:
        warnings.warn(
            f"{', '.join(late)} was imported before deepfake_audio, so its CPU settings could not be "
            "pinned: results may differ in the last bits from other machines",
            stacklevel=3,
        )
    return "pinned"


# glibc's malloc hands large freed blocks back to the kernel at once (blocks over its mmap
# threshold, and the free top of each heap over its trim threshold). TensorFlow allocates and
# frees its tensors every training step, so every step faulted its memory in again: about
# 27,000 minor page faults per CNN epoch, and on machines where faults are dear 40 % of the
# CPU time in the kernel (README: Speed). Keeping the memory costs a higher resident size
# between steps, not more at the peak. Same results bit for bit: only where memory comes from changes.
MALLOC_VARIABLE = "DEEPFAKE_AUDIO_MALLOC"  # "glibc" leaves malloc's own settings
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # mallopt's parameter numbers (malloc.h)
MALLOC_SETTINGS = {  # parameter: (its environment variable, value)
    M_MMAP_THRESHOLD: ("MALLOC_MMAP_THRESHOLD_", 32 << 20),  # glibc's largest allowed value
    M_TRIM_THRESHOLD: ("MALLOC_TRIM_THRESHOLD_", 512 << 20),
    M_TOP_PAD: ("MALLOC_TOP_PAD_", 64 << 20),
}


def keep_freed_memory(libc=None) -> str:
    """Raise glibc's mmap and trim thresholds in this process; returns what was done.

    A setting the user made in the environment (``MALLOC_TRIM_THRESHOLD_`` and the like) is
    left as it is.
    """
    if os.environ.get(MALLOC_VARIABLE, "").strip().lower() == "glibc":
        return "glibc"
    if libc is None:
        if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
            return "not glibc"
        libc = ctypes.CDLL(None)
    kept = [
        parameter
        for parameter, (variable, value) in MALLOC_SETTINGS.items()
        if variable not in os.environ and libc.mallopt(parameter, value) == 1
    ]
    return "kept" if kept else "unchanged"


STATE = pin()
MALLOC_STATE = keep_freed_memory()
os.environ.setdefault(ONEDNN, "1")  # read once, when TensorFlow loads
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
