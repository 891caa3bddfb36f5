import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from deepfake_audio.io import atomic_path, write_csv, write_json


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"eer": 1.0})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("stage crashed")
    assert json.loads(target.read_text()) == {"eer": 1.0}
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_a_folder_is_replaced_whole(tmp_path):
    target = tmp_path / "features"
    target.mkdir()
    (target / "stale.npy").write_text("old")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "fresh.npy").write_text("new")
    assert [path.name for path in target.iterdir()] == ["fresh.npy"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["features"]


def test_writers_create_parent_folders(tmp_path):
    write_csv(tmp_path / "a" / "b.csv", pd.DataFrame({"utt_id": ["T_1"], "score": [0.5]}))
    assert (tmp_path / "a" / "b.csv").read_text() == "utt_id,score\nT_1,0.5\n"


def finished_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def temporary(folder, name: str):
    """A folder as an interrupted ``atomic_path`` leaves it, holding half a file."""
    (folder / name).mkdir()
    (folder / name / "half").write_text("half")
    return folder / name


def test_temporaries_of_killed_runs_are_removed_at_the_next_write(tmp_path):
    dead = temporary(tmp_path, f".out.json.{finished_pid()}.k3j_x9q2.tmp")
    old_format = Path(
        tempfile.mkdtemp(prefix=".out.json.", suffix=".tmp", dir=tmp_path)
    )  # before pids were named
    write_json(tmp_path / "out.json", {"eer": 1.0})
    assert not dead.exists() and not old_format.exists()
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_the_temporary_of_a_running_writer_is_kept(tmp_path):
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = temporary(tmp_path, f".out.json.{writer.pid}.k3j_x9q2.tmp")
        ours = temporary(tmp_path, f".out.json.{os.getpid()}.a8b7c6d5.tmp")
        write_json(tmp_path / "out.json", {"eer": 1.0})
        assert (live / "half").exists() and (ours / "half").exists()
    finally:
        writer.kill()
        writer.wait()


def test_other_dot_folders_are_kept(tmp_path):
    dead = finished_pid()
    others = [
        temporary(tmp_path, name)
        for name in (
            ".out.json.cache",  # not a temporary
            f".out.{dead}.k3j_x9q2.tmp",  # a temporary of `out`, not of `out.json`
            f".out.json.x.{dead}.k3j_x9q2.tmp",  # of `out.json.x`
            f".out.json.{dead}.k3j_x9q2.tmp.keep",
        )
    ]
    write_json(tmp_path / "out.json", {"eer": 1.0})
    assert all((folder / "half").exists() for folder in others)
