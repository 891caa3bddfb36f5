import json

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
