"""Zip verification, quarantine, safe extraction and checksum files."""

from __future__ import annotations

import hashlib
import stat
import zipfile

import pytest

from deepfake_audio.corpus.archive import (
    CHECKSUMS_HEADER,
    ArchiveError,
    quarantine,
    read_checksums,
    safe_extract,
    sha256_of,
    verify_zip,
    write_checksums,
)

MEMBERS = {
    "protocol_V2/train.trn.txt": b"T_1000001.wav genuine M0001 S01 - - -\n",
    "ASVspoof2017_V2_train/T_1000001.wav": b"RIFF" + bytes(range(256)) * 8,
    "top.txt": b"top",
}


def make_zip(path, members=MEMBERS, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_good_zip_verifies(tmp_path):
    verify_zip(make_zip(tmp_path / "good.zip"))


def test_flipped_byte_names_member(tmp_path):
    path = make_zip(tmp_path / "bad.zip", compression=zipfile.ZIP_STORED)
    name = "ASVspoof2017_V2_train/T_1000001.wav"
    data = bytearray(path.read_bytes())
    offset = bytes(data).index(MEMBERS[name]) + 100  # inside the stored payload
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError) as info:
        verify_zip(path)
    message = str(info.value)
    assert message.startswith(f"{path}: corrupt archive: member '{name}': ")
    assert "CRC" in message


def test_not_a_zip_fails(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"<html>Please log in</html>")
    with pytest.raises(ArchiveError) as info:
        verify_zip(path)
    assert str(info.value) == f"{path}: corrupt archive: File is not a zip file"


def test_truncated_zip_fails(tmp_path):
    path = make_zip(tmp_path / "cut.zip")
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ArchiveError, match="corrupt archive"):
        verify_zip(path)


def test_quarantine_moves_aside_and_replaces_older(tmp_path):
    path = tmp_path / "bad.zip"
    (tmp_path / "bad.zip.corrupt").write_bytes(b"older")
    path.write_bytes(b"newer")
    moved = quarantine(path)
    assert moved == tmp_path / "bad.zip.corrupt"
    assert moved.read_bytes() == b"newer"
    assert not path.exists()


def test_quarantine_missing_file_fails(tmp_path):
    with pytest.raises(ArchiveError, match="cannot move aside"):
        quarantine(tmp_path / "missing.zip")


def test_extracts_nested_folders(tmp_path):
    path = make_zip(tmp_path / "good.zip")
    target = tmp_path / "out"
    safe_extract(path, target)
    for name, data in MEMBERS.items():
        assert (target / name).read_bytes() == data
    assert leftovers(tmp_path) == ["good.zip", "out"]


def test_extract_replaces_old_target(tmp_path):
    path = make_zip(tmp_path / "good.zip")
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    safe_extract(path, target)
    assert not (target / "stale.txt").exists()
    assert (target / "top.txt").read_bytes() == b"top"


@pytest.mark.parametrize(
    "name, reason",
    [
        ("../evil.txt", "'..' path component"),
        ("/abs.txt", "absolute path"),
        ("a/../../b.txt", "'..' path component"),
        ("C:/windows.txt", "drive letter"),
        ("link", "symbolic link"),
    ],
)
def test_unsafe_member_refused_before_extracting(tmp_path, name, reason):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("fine/first.txt", b"written first")  # must not be extracted either
        info = zipfile.ZipInfo(name)
        if reason == "symbolic link":
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, b"/etc/passwd" if reason == "symbolic link" else b"evil")
    target = tmp_path / "work" / "out"
    target.parent.mkdir()
    with pytest.raises(ArchiveError) as info:
        safe_extract(path, target)
    assert str(info.value) == f"{path}: unsafe member {name!r}: {reason}; nothing extracted"
    assert leftovers(target.parent) == []
    assert leftovers(tmp_path) == ["evil.zip", "work"]


def test_unsafe_member_leaves_existing_target(tmp_path):
    path = tmp_path / "evil.zip"
    make_zip(path, {"ok.txt": b"ok", "../evil.txt": b"evil"})
    target = tmp_path / "out"
    target.mkdir()
    (target / "kept.txt").write_text("kept")
    with pytest.raises(ArchiveError):
        safe_extract(path, target)
    assert leftovers(target) == ["kept.txt"]


def test_extract_corrupt_member_leaves_nothing(tmp_path):
    path = make_zip(tmp_path / "bad.zip", compression=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    data[bytes(data).index(MEMBERS["top.txt"])] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="cannot extract into"):
        safe_extract(path, tmp_path / "out")
    assert leftovers(tmp_path) == ["bad.zip"]


def test_sha256_of_known_bytes(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert sha256_of(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    big = tmp_path / "big"
    big.write_bytes(b"x" * (3 << 20))  # several chunks
    assert sha256_of(big) == hashlib.sha256(b"x" * (3 << 20)).hexdigest()


def test_checksums_round_trip(tmp_path):
    entries = {
        "b.zip": ("a" * 64, 200),
        "a name with spaces.zip": ("0123456789abcdef" * 4, 0),
        "protocol_V2.zip": ("F" * 64, 104_000),
    }
    path = tmp_path / "checksums.txt"
    write_checksums(path, entries)
    lines = path.read_text().splitlines()
    assert lines[0] == CHECKSUMS_HEADER
    assert lines[1:] == [
        f"{'0123456789abcdef' * 4}  0  a name with spaces.zip",
        f"{'a' * 64}  200  b.zip",
        f"{'f' * 64}  104000  protocol_V2.zip",
    ]
    expected = {name: (sha.lower(), size) for name, (sha, size) in entries.items()}
    assert read_checksums(path) == expected
    assert leftovers(tmp_path) == ["checksums.txt"]


def test_checksums_ignore_comments_and_blank_lines(tmp_path):
    path = tmp_path / "checksums.txt"
    path.write_text(f"# note\n\n   \n{'1' * 64}  5  x.zip\n# end\n")
    assert read_checksums(path) == {"x.zip": ("1" * 64, 5)}


@pytest.mark.parametrize(
    "bad",
    [
        "nothex  5  x.zip",
        f"{'1' * 64}  five  x.zip",
        f"{'1' * 64}  5",
        f"{'1' * 63}  5  x.zip",
    ],
)
def test_malformed_checksum_line(tmp_path, bad):
    path = tmp_path / "checksums.txt"
    path.write_text(f"{CHECKSUMS_HEADER}\n{'1' * 64}  5  ok.zip\n{bad}\n")
    with pytest.raises(ArchiveError) as info:
        read_checksums(path)
    assert str(info.value) == (
        f"{path}:3: malformed checksum line {bad!r} (expected '<sha256>  <size>  <name>')"
    )


def test_duplicate_checksum_entry(tmp_path):
    path = tmp_path / "checksums.txt"
    path.write_text(f"{'1' * 64}  5  x.zip\n{'2' * 64}  6  x.zip\n")
    with pytest.raises(ArchiveError, match=r"checksums.txt:2: duplicate entry for 'x.zip'"):
        read_checksums(path)
