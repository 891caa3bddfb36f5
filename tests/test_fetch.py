"""ASVspoof 2017 V2 download, verification and extraction against a server on 127.0.0.1."""

import functools
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import write_small_corpus

from deepfake_audio.corpus import asvspoof2017
from deepfake_audio.corpus.archive import ArchiveError, read_checksums
from deepfake_audio.corpus.download import DownloadError
from deepfake_audio.corpus.fetch import ARCHIVES, FOLDERS, fetch_asvspoof2017, verify_local_copy
from deepfake_audio.corpus.manifest import CorpusError
from deepfake_audio.params import DownloadParams

COUNTS = {split: (2, 2) for split in ("train", "dev", "eval")}


def zip_corpus(corpus: Path, out: Path) -> None:
    """The four archives in the real layout; dev with the extra level of nesting some users see."""
    out.mkdir()
    for part, name in ARCHIVES.items():
        folder = corpus / FOLDERS[part]
        prefix = f"nested/{FOLDERS[part]}" if part == "dev" else FOLDERS[part]
        with zipfile.ZipFile(out / name, "w", compression=zipfile.ZIP_STORED) as archive:
            for file in sorted(folder.iterdir()):
                archive.write(file, f"{prefix}/{file.name}")


class CountingHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/served; yields (base url, list of requested paths)."""
    served = tmp_path / "served"
    zip_corpus(write_small_corpus(tmp_path / "source"), served)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(CountingHandler, directory=str(served)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.requests, served
    httpd.shutdown()
    httpd.server_close()


def params_for(base, tmp_path, **changes):
    urls = {part: f"{base}/{name}" for part, name in ARCHIVES.items()}
    return DownloadParams.model_validate(
        {
            "urls": urls,
            "archive_dir": str(tmp_path / "downloads"),
            "checksums": str(tmp_path / "sums.sha256"),
            "retries": 0,
            "timeout_s": 5.0,
            **changes,
        }
    )


def test_fetch_downloads_verifies_extracts_and_records_checksums(server, tmp_path):
    base, requests, _ = server
    params = params_for(base, tmp_path)
    fetch_asvspoof2017(tmp_path / "corpus", params, expected_counts=COUNTS)
    for split in ("train", "dev", "eval"):
        assert len(asvspoof2017.parse_protocol(asvspoof2017.protocol_path(tmp_path / "corpus", split))) == 4
        assert len(list(asvspoof2017.audio_dir(tmp_path / "corpus", split).glob("*.wav"))) == 4
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == sorted(FOLDERS.values())
    sums = read_checksums(tmp_path / "sums.sha256")
    assert sorted(sums) == sorted(ARCHIVES.values())
    assert sums["protocol_V2.zip"][1] == (tmp_path / "downloads" / "protocol_V2.zip").stat().st_size
    assert len(requests) == 4

    fetch_asvspoof2017(tmp_path / "again", params, expected_counts=COUNTS)  # archives kept: no request
    assert len(requests) == 4


def test_skip_eval_fetches_three_archives(server, tmp_path):
    base, requests, _ = server
    fetch_asvspoof2017(
        tmp_path / "corpus", params_for(base, tmp_path, skip_eval=True), expected_counts=COUNTS
    )
    assert not asvspoof2017.audio_dir(tmp_path / "corpus", "eval").exists()
    assert sorted(requests) == sorted(f"/{ARCHIVES[p]}" for p in ("protocol", "train", "dev"))


def test_a_corrupt_archive_is_moved_aside_and_never_extracted(server, tmp_path):
    base, _, served = server
    train = served / ARCHIVES["train"]
    data = bytearray(train.read_bytes())
    data[200] ^= 0xFF  # inside the first member's stored data
    train.write_bytes(bytes(data))
    with pytest.raises(
        ArchiveError,
        match=r"ASVspoof2017_V2_train.zip: corrupt archive: member .*moved aside to "
        r".*ASVspoof2017_V2_train.zip.corrupt$",
    ):
        fetch_asvspoof2017(tmp_path / "corpus", params_for(base, tmp_path), expected_counts=COUNTS)
    assert not (tmp_path / "corpus").exists()
    assert (tmp_path / "downloads" / "ASVspoof2017_V2_train.zip.corrupt").is_file()
    assert not (tmp_path / "sums.sha256").exists()


def test_a_later_archive_must_match_the_recorded_checksum(server, tmp_path):
    base, _, served = server
    params = params_for(base, tmp_path)
    fetch_asvspoof2017(tmp_path / "corpus", params, expected_counts=COUNTS)
    stored = tmp_path / "downloads" / ARCHIVES["protocol"]
    with zipfile.ZipFile(stored, "a") as archive:  # same name, other content and size
        archive.writestr("protocol_V2/extra.txt", "tampered")
    size = stored.stat().st_size
    sums = tmp_path / "sums.sha256"
    sums.write_text(
        sums.read_text().replace(f"  {read_checksums(sums)['protocol_V2.zip'][1]}  ", f"  {size}  ")
    )
    with pytest.raises(
        ArchiveError,
        match=r"protocol_V2.zip: SHA-256 differs from the one recorded in .*sums.sha256; "
        r"moved aside to .*protocol_V2.zip.corrupt$",
    ):
        fetch_asvspoof2017(tmp_path / "again", params, expected_counts=COUNTS)
    assert not (tmp_path / "again").exists()


def test_a_wrong_size_is_refused(server, tmp_path):
    base, _, served = server
    params = params_for(base, tmp_path)
    fetch_asvspoof2017(tmp_path / "corpus", params, expected_counts=COUNTS)
    (tmp_path / "downloads" / ARCHIVES["train"]).unlink()
    (served / ARCHIVES["train"]).write_bytes(b"short")
    with pytest.raises(DownloadError, match=r"downloaded 5 bytes, expected \d+ bytes"):
        fetch_asvspoof2017(tmp_path / "again", params, expected_counts=COUNTS)


def test_a_zip_slip_archive_is_refused(server, tmp_path):
    base, _, served = server
    with zipfile.ZipFile(served / ARCHIVES["eval"], "a") as archive:
        archive.writestr("../../escaped.txt", "gotcha")
    with pytest.raises(ArchiveError, match=r"unsafe member '../../escaped.txt'"):
        fetch_asvspoof2017(tmp_path / "corpus", params_for(base, tmp_path), expected_counts=COUNTS)
    assert not (tmp_path / "corpus").exists()
    assert not list(tmp_path.rglob("escaped.txt"))


def test_counts_must_match_the_published_ones(server, tmp_path):
    base, _, _ = server
    with pytest.raises(
        CorpusError,
        match=r"train has 2 genuine \+ 2 spoof files, the published corpus "
        r"1507 \+ 1507: incomplete or not V2$",
    ):
        fetch_asvspoof2017(tmp_path / "corpus", params_for(base, tmp_path))
    assert not (tmp_path / "corpus").exists()


def test_a_local_copy_is_checked_in_place(tmp_path):
    corpus = write_small_corpus(tmp_path / "copy")
    verify_local_copy(corpus, ("train", "dev", "eval"), COUNTS)
    sf.write(
        asvspoof2017.audio_dir(corpus, "dev") / "D_1000002.wav", np.zeros((800, 2)), 8000, subtype="PCM_16"
    )
    (asvspoof2017.audio_dir(corpus, "eval") / "E_1000003.wav").write_bytes(b"RIFF but not audio")
    with pytest.raises(
        CorpusError,
        match=r"copy: not readable 16 kHz mono audio \(2\): "
        r"D_1000002.wav \(8000 Hz, 2 channels\), E_1000003.wav \(unreadable: ",
    ):
        verify_local_copy(corpus, ("train", "dev", "eval"), COUNTS)


@pytest.mark.parametrize(
    "url, message",
    [
        ("datashare.example/protocol_V2.zip", r"^datashare.example/protocol_V2.zip: Invalid URL"),
        ("ftp://127.0.0.1/protocol_V2.zip", r"^ftp://127.0.0.1/protocol_V2.zip: No connection adapters"),
    ],
)
def test_a_malformed_url_is_named(tmp_path, url, message):
    params = params_for("http://127.0.0.1:9", tmp_path)
    params = params.model_copy(update={"urls": params.urls.model_copy(update={"protocol": url})})
    with pytest.raises(DownloadError, match=message):
        fetch_asvspoof2017(tmp_path / "corpus", params, expected_counts=COUNTS)


def test_an_unreachable_server_is_reported(tmp_path):
    params = params_for("http://127.0.0.1:9", tmp_path)
    with pytest.raises(
        DownloadError, match=r"http://127.0.0.1:9/protocol_V2.zip: download failed after 1 attempts"
    ):
        fetch_asvspoof2017(tmp_path / "corpus", params, expected_counts=COUNTS)
