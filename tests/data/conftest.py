"""Fixtures for the data tests: small IDX datasets the tests write themselves, a local HTTP server,
and a private checksum-stamp cache so no test reads or writes the user's."""

from __future__ import annotations

import gzip
import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from archzoo.data import files, list_datasets
from archzoo.data.files import FileSpec, Source
from archzoo.data.idx import IDX_DTYPES


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # the local server must be reached directly
    return cache


def encode_idx(array: np.ndarray) -> bytes:
    """The bytes of an IDX file holding ``array`` (big-endian, as the format stores it)."""
    code = {np.dtype(v).newbyteorder("="): k for k, v in IDX_DTYPES.items()}[array.dtype.newbyteorder("=")]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@dataclass
class FakeIDXSet:
    """A tiny MNIST-shaped set: four IDX files, published (gzip) and raw bytes, and a Source for them."""

    name: str
    published: dict[str, bytes] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def source(self, urls: tuple[str, ...] = (), system_dirs: tuple[Path, ...] = (),
               debian_package: str | None = "dataset-fashion-mnist") -> Source:
        specs = tuple(
            FileSpec(n, hashlib.sha256(b).hexdigest(), hashlib.sha256(self.raw[n]).hexdigest())
            for n, b in self.published.items()
        )
        return Source(self.name, specs, urls, system_dirs, debian_package)

    def write(self, directory: Path, *, compressed: bool = True) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for n, b in self.published.items():
            if compressed:
                (directory / n).write_bytes(b)
            else:
                (directory / n.removesuffix(".gz")).write_bytes(self.raw[n])
        return directory


def make_fake_idx_set(name: str, n_train: int = 30, n_test: int = 20, seed: int = 0) -> FakeIDXSet:
    rng = np.random.default_rng(seed)
    fake = FakeIDXSet(name)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        pairs = ((f"{prefix}-images-idx3-ubyte.gz", images), (f"{prefix}-labels-idx1-ubyte.gz", labels))
        for kind, array in pairs:
            raw = encode_idx(array)
            fake.raw[kind], fake.arrays[kind] = raw, array
            fake.published[kind] = gzip.compress(raw, mtime=0)
    return fake


@pytest.fixture
def fake_fashion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIDXSet]:
    """A fake fashion-mnist registered in place of the real one, with an empty system directory.

    Its URLs are still the publisher's: a test that downloads replaces them with a local server's."""
    list_datasets()  # register the real sources, then replace this one
    publisher = files.SOURCES["fashion-mnist"].urls
    fake = make_fake_idx_set("fashion-mnist")
    source = fake.source(urls=publisher, system_dirs=(tmp_path / "system",))
    monkeypatch.setitem(files.SOURCES, "fashion-mnist", source)
    yield fake


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, bytes]
    cut_short: set[str]

    def do_GET(self) -> None:
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # a "cut short" route promises the whole body but closes the connection halfway
        self.wfile.write(body[: len(body) // 2] if self.path in self.cut_short else body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class LocalServer:
    url: str
    routes: dict[str, bytes]
    cut_short: set[str]

    def serve(self, prefix: str, contents: dict[str, bytes]) -> str:
        """Serve each ``contents[name]`` at ``/<prefix>/<name>``; returns the base URL."""
        for name, body in contents.items():
            self.routes[f"/{prefix}/{name}"] = body
        return f"{self.url}{prefix}/"


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """An HTTP server on 127.0.0.1 (a free port) serving bytes from a dict, for this test only."""
    routes: dict[str, bytes] = {}
    cut_short: set[str] = set()
    handler = type("Handler", (_Handler,), {"routes": routes, "cut_short": cut_short})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield LocalServer(f"http://127.0.0.1:{server.server_address[1]}/", routes, cut_short)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def idx_bytes():
    """``idx_bytes(array) -> bytes``: encode an array as an IDX file."""
    return encode_idx


@pytest.fixture
def make_idx_set():
    """``make_idx_set(name, n_train=30, n_test=20, seed=0) -> FakeIDXSet``."""
    return make_fake_idx_set


@pytest.fixture
def unreachable_url() -> str:
    """A URL on 127.0.0.1 at a port nothing listens on: the connection is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/files/"
