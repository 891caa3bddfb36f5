"""dvc.yaml must list, for each stage, the library code the stage runs: otherwise a code
change would not rerun it and the committed numbers would silently go stale."""

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import networkx
import pytest
import yaml
from dvc.repo import Repo

PROJECT = Path(__file__).resolve().parents[1]


def expanded(stages: dict) -> dict:
    """Each stage by its DVC name, a ``foreach`` stage once per key (``evaluate@svc``), with
    ``${key}`` and ``${item.<field>}`` filled in its cmd and deps."""
    result = {}
    for name, stage in stages.items():
        if "foreach" not in stage:
            result[name] = stage
            continue
        for key, item in stage["foreach"].items():

            def fill(text, key=key, item=item):
                text = text.replace("${key}", key)
                return re.sub(r"\$\{item\.(\w+)\}", lambda match: str(item[match.group(1)]), text)

            result[f"{name}@{key}"] = {
                "cmd": fill(stage["do"]["cmd"]),
                "deps": [fill(d) for d in stage["do"]["deps"]],
            }
    return result


STAGES = expanded(yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"])
# Modules that cannot change a stage's results for the same params: loading and checking
# params (their values are DVC params deps), paths, errors, atomic writes, progress lines. Package
# __init__ files are left out too.
NOT_RESULT_CODE = {
    "deepfake_audio/__init__.py",
    "deepfake_audio/params.py",
    "deepfake_audio/paths.py",
    "deepfake_audio/errors.py",
    "deepfake_audio/io.py",
    "deepfake_audio/progress.py",
}

# Imports a stage without running it; reports the library modules it loaded, and whether
# TensorFlow (if loaded) saw the package's environment defaults.
PROBE = """
import importlib.util, json, os, sys
seen = {}
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" and name not in seen:
            seen[name] = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
        return None
sys.meta_path.insert(0, Watch())
spec = importlib.util.spec_from_file_location("stage", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
root = os.getcwd() + os.sep
files = sorted(os.path.relpath(m.__file__, root) for m in list(sys.modules.values())
               if getattr(m, "__file__", None) and m.__file__.startswith(root + "deepfake_audio"))
print(json.dumps({"files": files, "tensorflow": seen}))
"""


@functools.cache  # the stages of one foreach share their script
def imported_by(script):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, script],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def covered(file, deps):
    return any(file == dep or file.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_deps_cover_the_code_it_imports(stage):
    deps = STAGES[stage]["deps"]
    script = STAGES[stage]["cmd"].split()[1]
    assert STAGES[stage]["cmd"].startswith(f"python {script}") and script in deps
    probe = imported_by(script)
    missing = [
        file
        for file in probe["files"]
        if file not in NOT_RESULT_CODE and not file.endswith("__init__.py") and not covered(file, deps)
    ]
    assert missing == [], f"dvc.yaml stage {stage} does not depend on {missing}"
    listed_code = [dep for dep in deps if dep.startswith("deepfake_audio")]
    unused = [dep for dep in listed_code if not any(covered(file, [dep]) for file in probe["files"])]
    assert unused == [], f"dvc.yaml stage {stage} depends on code it does not import: {unused}"
    # TensorFlow must start with the package's environment defaults, and only the CNN's
    # training loads it up front: a stage that also serves the SVC imports it when it scores a CNN.
    assert probe["tensorflow"] == ({"tensorflow": "2"} if stage == "train_cnn" else {})


# DVC 3.x's own use of pygtrie, on every graph it builds.
quiet_dvc = pytest.mark.filterwarnings("ignore:_NoneStep.value:DeprecationWarning")


def stages_rerun_by(key: str) -> set[str]:
    """The stages ``dvc repro`` reruns after a change to ``key`` of params.yaml, on DVC's own
    graph of dvc.yaml: those that declare it (or a section above it) and every stage
    downstream of them, and check_params, which declares the whole file but writes the same
    stamp whatever the values, so nothing reruns because of it."""
    with Repo(str(PROJECT)) as repo:
        checking, declaring = set(), set()
        for stage in repo.index.stages:
            for dep in stage.params:
                if not dep.params:
                    checking.add(stage)
                elif any(key == name or key.startswith(f"{name}.") for name in dep.params):
                    declaring.add(stage)
        # The graph's edges point from a stage to the stages it depends on.
        downstream = set().union(*(networkx.ancestors(repo.index.graph, stage) for stage in declaring))
        return {stage.addressing for stage in checking | declaring | downstream}


@quiet_dvc
@pytest.mark.parametrize(
    ("key", "model"), [("train_svc.C", "svc"), ("train_cnn.epochs", "cnn"), ("train_gmm.components", "gmm")]
)
def test_a_model_param_reruns_only_that_models_work(key, model):
    """Its training, scores, explanations and audit, the fusion, the cross-corpus scores and the
    audit's summary: never another model's (test_pipeline runs the SVC's case for real)."""
    assert stages_rerun_by(key) == {
        "check_params",
        f"train_{model}",
        f"evaluate@{model}",
        "evaluate_fusion",
        "evaluate_cross",
        f"explain@{model}",
        f"audit@{model}",
        "audit_report",
    }


@quiet_dvc
def test_an_evaluation_param_reruns_every_evaluation_and_what_follows_but_no_training():
    stages = stages_rerun_by("evaluate.bootstrap.resamples")
    assert not {stage for stage in stages if stage.startswith(("train_", "featurize", "download"))}
    assert {"evaluate@svc", "evaluate@cnn", "evaluate@gmm", "evaluate_fusion"} <= stages
