"""The package's dependencies point one way, and importing a module switches nothing global.

Inference (``detector``, ``predict``) stands on its own: it needs none of the audit, the
explanations or the corpus code (the one exception: ``Detector.explain``, which draws the
explanations' Grad-CAM, imports them when called). The audit builds on the rest and nothing
builds on it.
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "deepfake_audio"
INFERENCE = ("deepfake_audio/detector.py", "deepfake_audio/predict.py")
NOT_FOR_INFERENCE = ("deepfake_audio.audit", "deepfake_audio.explain", "deepfake_audio.corpus")
NEVER_FOR_INFERENCE = ("deepfake_audio.audit", "deepfake_audio.corpus")  # not even when called
PLOTTING = ("deepfake_audio.plots", "deepfake_audio.explain.figures", "deepfake_audio.audit.figures")
# Not the headless default (Agg), so that a module switching to Agg shows.
BACKEND = "svg"


def imported_modules(path: Path, *, on_load_only: bool = False) -> set[str]:
    """Every module ``path`` names in an import (with ``on_load_only``, only those run when it is
    loaded: not in functions nor under ``if TYPE_CHECKING``); ``from a import b`` gives ``a`` and
    ``a.b`` (``b`` may be a submodule)."""
    modules = set()
    for node in _statements(ast.parse(path.read_text(), filename=str(path)), on_load_only):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.relative_to(PROJECT)}: relative import"
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def _statements(node: ast.AST, on_load_only: bool):
    yield node
    for child in ast.iter_child_nodes(node):
        if not (on_load_only and _not_run_on_load(child)):
            yield from _statements(child, on_load_only)


def _not_run_on_load(node: ast.AST) -> bool:
    if isinstance(node, ast.If):
        return ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))


def within(module: str, packages) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def package_modules():
    return sorted(path.relative_to(PROJECT).as_posix() for path in PACKAGE.rglob("*.py"))


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": BACKEND},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


@pytest.mark.parametrize("module", package_modules())
def test_only_the_audit_imports_the_audit(module):
    if module.startswith("deepfake_audio/audit/"):
        return
    audit = sorted(
        name for name in imported_modules(PROJECT / module) if within(name, ["deepfake_audio.audit"])
    )
    assert audit == [], f"{module} imports {audit}"


@pytest.mark.parametrize("module", INFERENCE)
def test_inference_imports_no_audit_explanation_or_corpus_code(module):
    on_load = imported_modules(PROJECT / module, on_load_only=True)
    imported = sorted(name for name in on_load if within(name, NOT_FOR_INFERENCE))
    assert imported == [], f"{module} imports {imported}"
    imported = sorted(
        name for name in imported_modules(PROJECT / module) if within(name, NEVER_FOR_INFERENCE)
    )
    assert imported == [], f"{module} imports {imported} in a function"


def test_inference_loads_no_audit_explanation_or_corpus_code_at_all():
    # The transitive check: what importing predict (and so the detector) loads.
    loaded = json.loads(
        run_python("import json, sys, deepfake_audio.predict; print(json.dumps(sorted(sys.modules)))")
    )
    assert [name for name in loaded if within(name, NOT_FOR_INFERENCE)] == []


def test_importing_the_plotting_modules_switches_no_matplotlib_backend():
    default = run_python("import matplotlib; print(matplotlib.get_backend())")
    assert default == BACKEND
    imported = json.loads(
        run_python(
            "import importlib, json, sys\n"
            f"for module in {PLOTTING!r}:\n"
            "    importlib.import_module(module)\n"
            "pyplot = 'matplotlib.pyplot' in sys.modules\n"
            "import matplotlib\n"  # get_backend() may import pyplot itself: asked after the check
            "print(json.dumps({'pyplot': pyplot, 'backend': matplotlib.get_backend()}))"
        )
    )
    assert imported == {"pyplot": False, "backend": default}
