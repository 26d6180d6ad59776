"""Finding, verifying and downloading dataset files: every error path checks its message."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import replace

import pytest
import torch

from archzoo.data import DataError, files, list_datasets, load_dataset
from archzoo.data.files import ChecksumError, FileSpec, Source, download, ensure, locate, verify


def _one_line(error: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------
# Checksums and their stamps

def test_wrong_sha256_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"not the published bytes")
    with pytest.raises(ChecksumError) as info:
        verify(path, "0" * 64, dataset="fashion-mnist")
    message = _one_line(info)
    assert isinstance(info.value, DataError) and isinstance(info.value, ValueError)
    assert str(path) in message and "SHA-256" in message
    assert "python -m archzoo.data.fetch fashion-mnist" in message


def test_verification_is_stamped_and_redone_when_the_file_changes(tmp_path, monkeypatch, _private_cache):
    path = tmp_path / "file.bin"
    path.write_bytes(b"hello")
    good = hashlib.sha256(b"hello").hexdigest()
    verify(path, good, dataset="x")
    assert (_private_cache / "archzoo" / "verified-files.json").is_file()

    def no_hashing(p):
        raise AssertionError("a stamped file must not be hashed again")

    with monkeypatch.context() as m:
        m.setattr(files, "sha256_file", no_hashing)
        verify(path, good, dataset="x")  # from the stamp
        with pytest.raises(AssertionError):  # a stamp for another hash does not count
            verify(path, "f" * 64, dataset="x")

    path.write_bytes(b"jello")  # same size; a new mtime invalidates the stamp
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(ChecksumError, match=r"file\.bin"):
        verify(path, good, dataset="x")


def _recompressed(fake, **kw):
    """The fake set's files as another tool would write them: the same content, other .gz bytes."""
    out = {n: gzip.compress(fake.raw[n], **kw) for n in fake.published}
    assert all(out[n] != fake.published[n] for n in out)
    return out


def test_recompressed_gz_with_the_published_content_is_used_with_a_note(
    tmp_path, make_idx_set, capsys, monkeypatch, _private_cache
):
    list_datasets()  # register the real sources, then replace this one
    fake = make_idx_set("mnist")
    monkeypatch.setitem(files.SOURCES, "mnist", fake.source(debian_package=None))
    directory = tmp_path / "mnist"
    directory.mkdir()
    for name, body in _recompressed(fake, compresslevel=1, mtime=1234567890).items():
        (directory / name).write_bytes(body)
    ds = load_dataset("mnist", root=tmp_path, download=False)
    expected = torch.from_numpy(fake.arrays["t10k-images-idx3-ubyte.gz"])
    assert torch.equal(ds.splits["test"].x[:, 0], expected)
    notes = capsys.readouterr().err.splitlines()
    assert sorted(notes) == sorted(  # one line per file
        f"archzoo: note: {directory / name} is not the publisher's .gz but its decompressed content has the "
        "published SHA-256; using it" for name in fake.published
    )
    # remembered as verified by content: a later load neither hashes again nor says it again
    stamps = json.loads((_private_cache / "archzoo" / "verified-files.json").read_text())
    entry = stamps[str((directory / "train-labels-idx1-ubyte.gz").absolute())]
    assert entry["content_sha256"] == fake.source().spec("train-labels-idx1-ubyte.gz").raw_sha256
    with monkeypatch.context() as m:
        m.setattr(files, "sha256_file", lambda p: pytest.fail(f"{p} was hashed again"))
        load_dataset("mnist", root=tmp_path, download=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("body", [
    gzip.compress(b"other content", compresslevel=1),  # a gzip file, the wrong data
    b"\x1f\x8b but not really gzip",  # a gzip magic, then garbage
    b"plain bytes, not gzip at all",
], ids=["other-content", "bad-gzip", "not-gzip"])
def test_gz_with_other_content_is_still_corrupt(tmp_path, make_idx_set, capsys, body):
    fake = make_idx_set("mnist")
    directory = fake.write(tmp_path / "mnist")
    bad = directory / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(body)
    with pytest.raises(ChecksumError) as info:
        locate(fake.source(), tmp_path)
    message = _one_line(info)
    assert message.startswith(f"{bad} is corrupt") and "python -m archzoo.data.fetch mnist" in message
    assert "note:" not in capsys.readouterr().err


def test_stamps_are_not_written_next_to_the_data(tmp_path):
    path = tmp_path / "data" / "f.bin"
    path.parent.mkdir()
    path.write_bytes(b"abc")
    verify(path, hashlib.sha256(b"abc").hexdigest(), dataset="x")
    assert os.listdir(path.parent) == ["f.bin"]


# ---------------------------------------------------------------------------------------------
# Finding files: data root, system location, decompressed copies

def test_root_is_searched_before_the_system_location(tmp_path, make_idx_set):
    fake = make_idx_set("fashion-mnist")
    source = fake.source(system_dirs=(tmp_path / "system",))
    fake.write(tmp_path / "system")
    found = locate(source, tmp_path / "root")
    assert {p.parent for p in found.values()} == {tmp_path / "system"}
    fake.write(tmp_path / "root" / "fashion-mnist")
    found = locate(source, tmp_path / "root")
    assert {p.parent for p in found.values()} == {tmp_path / "root" / "fashion-mnist"}


def test_decompressed_files_are_accepted_and_verified(tmp_path, make_idx_set):
    fake = make_idx_set("fashion-mnist")
    source = fake.source()
    directory = fake.write(tmp_path / "fashion-mnist", compressed=False)
    found = locate(source, tmp_path)
    assert sorted(p.name for p in found.values()) == sorted(n.removesuffix(".gz") for n in fake.published)
    (directory / "t10k-labels-idx1-ubyte").write_bytes(b"tampered")
    with pytest.raises(ChecksumError) as info:
        locate(source, tmp_path)
    assert str(directory / "t10k-labels-idx1-ubyte") in _one_line(info)


def test_missing_data_says_where_it_looked_and_how_to_get_it(tmp_path, fake_fashion):
    root = tmp_path / "root"
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", root=root, download=False)
    message = _one_line(info)
    assert str(root / "fashion-mnist") in message
    assert str(tmp_path / "system") in message  # the system location
    assert "apt-get install dataset-fashion-mnist" in message
    assert "python -m archzoo.data.fetch fashion-mnist" in message
    assert "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" in message  # the publisher
    assert "ARCHZOO_DATA" in message
    assert "train-images-idx3-ubyte.gz" in message


def test_real_sources_name_their_publishers_and_package():
    list_datasets()  # the sources register on first use of the registry
    fashion, mnist = files.SOURCES["fashion-mnist"], files.SOURCES["mnist"]
    assert fashion.urls == ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    assert fashion.debian_package == "dataset-fashion-mnist"
    assert fashion.system_dirs == (files.Path("/usr/share/datasets/fashion-mnist"),)
    assert mnist.urls[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    assert "yann.lecun.com" in mnist.urls[1]
    for source in (fashion, mnist):
        assert [f.name for f in source.files] == [
            "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
        ]
        assert all(len(f.sha256) == 64 and len(f.raw_sha256 or "") == 64 for f in source.files)


# ---------------------------------------------------------------------------------------------
# Downloads against a local server

def test_download_lands_atomically_and_loads(tmp_path, http_server, fake_fashion, monkeypatch):
    base = http_server.serve("fm", fake_fashion.published)
    monkeypatch.setitem(files.SOURCES, "fashion-mnist", replace(files.SOURCES["fashion-mnist"], urls=(base,)))
    ds = load_dataset("fashion-mnist", root=tmp_path / "root")
    target = tmp_path / "root" / "fashion-mnist"
    assert sorted(os.listdir(target)) == sorted(fake_fashion.published)  # no temporary files left
    for name, body in fake_fashion.published.items():
        assert (target / name).read_bytes() == body
    assert len(ds.splits["train"]) == 30 and len(ds.splits["test"]) == 20
    expected = torch.from_numpy(fake_fashion.arrays["t10k-images-idx3-ubyte.gz"])
    assert torch.equal(ds.splits["test"].x[:, 0], expected)
    # a second load finds the files: the server is no longer needed
    http_server.routes.clear()
    assert len(load_dataset("fashion-mnist", root=tmp_path / "root").splits["train"]) == 30


def test_download_with_wrong_checksum_leaves_nothing(tmp_path, http_server):
    base = http_server.serve("bad", {"data.bin": b"what the server sends"})
    dest = tmp_path / "dl" / "data.bin"
    with pytest.raises(ChecksumError) as info:
        download(base + "data.bin", dest, hashlib.sha256(b"what was published").hexdigest())
    message = _one_line(info)
    assert "data.bin" in message and base + "data.bin" in message and "nothing was saved" in message
    assert os.listdir(dest.parent) == []


def test_download_cut_short_leaves_nothing(tmp_path, http_server, fake_fashion, monkeypatch):
    base = http_server.serve("fm", fake_fashion.published)
    http_server.cut_short.add("/fm/train-images-idx3-ubyte.gz")
    monkeypatch.setitem(files.SOURCES, "fashion-mnist", replace(files.SOURCES["fashion-mnist"], urls=(base,)))
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", root=tmp_path / "root")
    message = _one_line(info)
    assert "download failed" in message and base + "train-images-idx3-ubyte.gz" in message
    left = os.listdir(tmp_path / "root" / "fashion-mnist")
    assert "train-images-idx3-ubyte.gz" not in left and not any(n.startswith(".") for n in left)


def test_corrupt_download_in_ensure_names_the_file(tmp_path, http_server, fake_fashion, monkeypatch):
    published = dict(fake_fashion.published)
    published["train-labels-idx1-ubyte.gz"] = b"garbage"
    base = http_server.serve("fm", published)
    monkeypatch.setitem(files.SOURCES, "fashion-mnist", replace(files.SOURCES["fashion-mnist"], urls=(base,)))
    with pytest.raises(ChecksumError) as info:
        load_dataset("fashion-mnist", root=tmp_path / "root")
    assert "train-labels-idx1-ubyte.gz" in _one_line(info)
    assert not (tmp_path / "root" / "fashion-mnist" / "train-labels-idx1-ubyte.gz").exists()


def test_next_mirror_is_tried(tmp_path, http_server, fake_fashion):
    dead = http_server.serve("dead", {})  # answers 404 to everything
    good = http_server.serve("good", fake_fashion.published)
    source = replace(files.SOURCES["fashion-mnist"], urls=(dead, good))
    found = ensure(source, tmp_path)
    assert len(found) == 4 and all(p.parent == tmp_path / "fashion-mnist" for p in found.values())


def test_network_failure_gives_a_clear_message(tmp_path, fake_fashion, monkeypatch, unreachable_url):
    url = unreachable_url
    monkeypatch.setitem(files.SOURCES, "fashion-mnist", replace(files.SOURCES["fashion-mnist"], urls=(url,)))
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", root=tmp_path / "root")
    message = _one_line(info)
    assert message.startswith("fashion-mnist not found")
    assert "download failed" in message and url + "train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "root" / "fashion-mnist") in message and str(tmp_path / "system") in message
    assert "apt-get install dataset-fashion-mnist" in message and "ARCHZOO_DATA" in message
    assert not list((tmp_path / "root").rglob("*.gz*"))


def test_unwritable_root_is_reported(tmp_path, http_server, fake_fashion):
    base = http_server.serve("fm", fake_fashion.published)
    blocker = tmp_path / "root"
    blocker.write_text("a file where the data root should be")
    source = replace(files.SOURCES["fashion-mnist"], urls=(base,))
    with pytest.raises(DataError) as info:
        ensure(source, blocker)
    message = _one_line(info)
    assert "cannot write" in message and "--data-root" in message


def test_source_spec_lookup():
    source = Source("s", (FileSpec("a.gz", "0" * 64),), ())
    assert source.spec("a.gz").name == "a.gz"
    assert FileSpec("a.gz", "0" * 64).raw_name is None  # no decompressed hash: only the .gz counts
    with pytest.raises(KeyError, match=r"a\.gz"):
        source.spec("b.gz")
