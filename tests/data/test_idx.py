"""The IDX reader: round trips, and one clear error per kind of malformed file."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from archzoo.data import DataError
from archzoo.data.idx import parse_idx, read_idx, read_images, read_labels


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_images_and_labels_round_trip(tmp_path, idx_bytes, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9, 2], dtype=np.uint8)
    x = read_images(_write(tmp_path / f"images{suffix}", idx_bytes(images)))
    y = read_labels(_write(tmp_path / f"labels{suffix}", idx_bytes(labels)))
    assert x.dtype == torch.uint8 and x.shape == (7, 1, 28, 28)
    assert y.dtype == torch.int64 and y.shape == (7,)
    assert torch.equal(x[:, 0], torch.from_numpy(images))
    assert y.tolist() == labels.tolist()


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_every_idx_dtype_is_read_big_endian(idx_bytes, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype) * 3
    out = parse_idx(idx_bytes(array))
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, array)
    assert out.flags.writeable  # torch.from_numpy must not warn


def _error(tmp_path: Path, name: str, data: bytes, reader=read_idx) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DataError) as info:
        reader(path)
    message = str(info.value)
    assert str(path) in message, "the error names the file"
    assert "\n" not in message, "the error is one line"
    return message


def test_truncated_file(tmp_path, idx_bytes):
    data = idx_bytes(np.zeros((10, 28, 28), dtype=np.uint8))
    message = _error(tmp_path, "cut-images-idx3-ubyte", data[:-100])
    assert "truncated" in message and "10x28x28" in message and "7740 bytes follow" in message
    assert "fetch it again" in message


def test_trailing_garbage_is_malformed(tmp_path, idx_bytes):
    data = idx_bytes(np.zeros((5,), dtype=np.uint8)) + b"junk"
    message = _error(tmp_path, "long-labels-idx1-ubyte", data)
    assert "malformed" in message and "9 bytes follow" in message


def test_bad_magic_number(tmp_path, idx_bytes):
    data = bytearray(idx_bytes(np.zeros((5,), dtype=np.uint8)))
    data[2] = 0x42  # no such dtype code
    message = _error(tmp_path, "magic-labels-idx1-ubyte", bytes(data))
    assert "bad magic number 0x00004201" in message


def test_not_idx_at_all(tmp_path):
    assert "bad magic number" in _error(tmp_path, "text.idx", b"hello, world")
    assert "too short" in _error(tmp_path, "tiny.idx", b"\x00\x00")


def test_header_cut_inside_the_dimensions(tmp_path):
    message = _error(tmp_path, "hdr.idx", bytes([0, 0, 0x08, 3]) + b"\x00\x00\x00\x0a")
    assert "truncated" in message and "3 dimensions" in message


def test_truncated_gzip(tmp_path, idx_bytes):
    data = gzip.compress(idx_bytes(np.zeros((100, 28, 28), dtype=np.uint8)))
    message = _error(tmp_path, "cut.gz", data[: len(data) // 2])
    assert "broken gzip" in message


def test_gz_name_without_gzip_content(tmp_path, idx_bytes):
    message = _error(tmp_path, "plain.gz", idx_bytes(np.zeros((5,), dtype=np.uint8)))
    assert "broken gzip" in message


def test_labels_read_as_images_and_back(tmp_path, idx_bytes):
    labels = idx_bytes(np.zeros((5,), dtype=np.uint8))
    images = idx_bytes(np.zeros((5, 4, 4), dtype=np.uint8))
    assert "expected IDX images" in _error(tmp_path, "labels.idx", labels, read_images)
    assert "expected IDX labels" in _error(tmp_path, "images.idx", images, read_labels)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "absent.gz")
