import pytest

from deepfake_audio.corpus.asvspoof2017 import (
    ProtocolEntry,
    ProtocolError,
    file_name,
    parse_protocol,
    protocol_path,
    write_protocol,
)

REAL_FORMAT = """\
T_1000001.wav genuine M0001 S01 - - -
T_1000002.wav spoof M0001 S01 E02 P05 R03

D_1000003.wav genuine F0012 S10 - - -
"""


def test_parses_the_seven_fields(tmp_path):
    path = tmp_path / "ASVspoof2017_V2_train.trn.txt"
    path.write_text(REAL_FORMAT)
    entries = parse_protocol(path)
    assert [e.utt_id for e in entries] == ["T_1000001", "T_1000002", "D_1000003"]
    assert entries[1] == ProtocolEntry("T_1000002.wav", "spoof", "M0001", "S01", "E02", "P05", "R03")
    assert entries[1].replay_config == "E02_P05_R03"
    assert entries[0].replay_config == "-"


def test_round_trip(tmp_path):
    path = protocol_path(tmp_path, "dev")
    entries = [
        ProtocolEntry(file_name("dev", 0), "genuine", "M0002", "S03"),
        ProtocolEntry(file_name("dev", 1), "spoof", "M0002", "S03", "E01", "P01", "R01"),
    ]
    write_protocol(path, entries)
    assert path.name == "ASVspoof2017_V2_dev.trl.txt"
    assert path.read_text().splitlines()[0] == "D_1000001.wav genuine M0002 S03 - - -"
    assert parse_protocol(path) == entries


@pytest.mark.parametrize(
    "text, message",
    [
        ("T_1.wav genuine M1 S01 - -\n", r"t.txt:1: expected 7 space-separated fields, got 6"),
        ("T_1.wav bonafide M1 S01 - - -\n", r"t.txt:1: label must be one of genuine, spoof, got 'bonafide'"),
        ("T_1.flac genuine M1 S01 - - -\n", r"t.txt:1: file name must end in .wav, got 'T_1.flac'"),
        (
            "T_1.wav genuine M1 S01 - - -\nT_1.wav spoof M1 S01 E1 P1 R1\n",
            r"t.txt:2: T_1.wav already listed on line 1",
        ),
        ("\n\n", r"t.txt: protocol file lists no utterances"),
    ],
)
def test_malformed_protocols_are_refused_with_line_numbers(tmp_path, text, message):
    path = tmp_path / "t.txt"
    path.write_text(text)
    with pytest.raises(ProtocolError, match=message):
        parse_protocol(path)


def test_missing_protocol_file(tmp_path):
    with pytest.raises(ProtocolError, match="protocol file not found"):
        parse_protocol(tmp_path / "absent.txt")
