"""The IDX file format of MNIST and Fashion-MNIST, read with one ``numpy.frombuffer``.

An IDX file (http://yann.lecun.com/exdb/mnist/, bottom of the page) is a 4-byte magic number
``0x00 0x00 <dtype code> <ndim>``, then ``ndim`` big-endian uint32 sizes, then the values in C
order, big-endian. A file whose name ends in ``.gz`` is decompressed first.
Every malformation (bad magic, unknown dtype, wrong length, broken gzip) raises a DataError naming
the file and what was wrong.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np
import torch

from archzoo.data.core import DataError

__all__ = ["IDX_DTYPES", "parse_idx", "read_idx", "read_images", "read_labels"]

# dtype code (third byte of the magic number) -> numpy dtype, big-endian as the format stores them
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_FIX = "delete it and fetch it again"


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an (uncompressed) IDX file into a native-endian array of its shape."""
    if len(data) < 4:
        raise DataError(f"{name}: not an IDX file: {len(data)} bytes, too short for the header; {_FIX}")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or code not in IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{name}: not an IDX file: bad magic number 0x{data[:4].hex()} (expected 0x0000 then a "
            f"dtype code in {', '.join(f'0x{c:02x}' for c in IDX_DTYPES)} and a dimension count >= 1); {_FIX}"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{name}: truncated IDX file: the header announces {ndim} dimensions but the file "
            f"ends after {len(data)} bytes; {_FIX}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    payload = len(data) - header
    if payload != expected:
        what = "truncated" if payload < expected else "malformed"
        shape = "x".join(map(str, dims))
        raise DataError(
            f"{name}: {what} IDX file: its header says {shape} values of {dtype.itemsize} byte(s) = "
            f"{expected} bytes of data, but {payload} bytes follow; {_FIX}"
        )
    values = np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=header).reshape(dims)
    return values.astype(dtype.newbyteorder("="))  # native order, and a writable copy for torch


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or not) into a numpy array of its shape and dtype."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(
            f"{path}: cannot read ({e.strerror or e}); check that the file exists and is readable"
        ) from e
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as e:  # truncated stream, bad header, bad CRC
            raise DataError(f"{path}: broken gzip file ({e}); {_FIX}") from e
    return parse_idx(data, str(path))


def read_images(path: str | Path) -> torch.Tensor:
    """Read an IDX image file (N, H, W) of uint8 into a uint8 tensor (N, 1, H, W)."""
    array = read_idx(path)
    if array.ndim != 3 or array.dtype != np.uint8:
        raise DataError(
            f"{path}: expected IDX images of shape (N, H, W) and dtype uint8, got shape "
            f"{array.shape} and dtype {array.dtype}; is this a labels file?"
        )
    return torch.from_numpy(array).unsqueeze(1)  # (N, 1, H, W)


def read_labels(path: str | Path) -> torch.Tensor:
    """Read an IDX label file (N,) of uint8 into an int64 tensor (N,)."""
    array = read_idx(path)
    if array.ndim != 1 or array.dtype != np.uint8:
        raise DataError(
            f"{path}: expected IDX labels of shape (N,) and dtype uint8, got shape "
            f"{array.shape} and dtype {array.dtype}; is this an images file?"
        )
    return torch.from_numpy(array).long()
