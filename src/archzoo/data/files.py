"""Files of a dataset: where they are looked for, how they are verified, how they are downloaded.

A :class:`Source` is data: the files a dataset needs (each with the SHA-256 its publisher
distributes), the publisher's URLs, and the system directory a distribution package installs it in.
:func:`ensure` turns a source and a data root into verified paths:

1. each file is looked for in ``<root>/<source.name>/`` and then in the system directories, either
   as published (``.gz``) or already decompressed;
2. every file found is checked against its SHA-256 (a mismatch is a :class:`ChecksumError`, a
   :class:`DataError` naming the file). A published ``.gz`` whose bytes differ but whose
   decompressed content has the published SHA-256 (the same data recompressed by another tool) is
   accepted, with one note on stderr; a file that is not gzip, or whose content differs, is
   corrupt. The verification is remembered in a stamp keyed by size and modification time (and
   saying whether the bytes or the content matched), so a file is hashed once, not on every load;
3. files still missing are downloaded from the publisher into ``<root>/<source.name>/`` through a
   temporary file that is renamed into place only when its checksum holds.

The stamps live in one small JSON file, ``$XDG_CACHE_HOME/archzoo/verified-files.json`` (default
``~/.cache/archzoo``), keyed by each file's absolute path, and never next to the data: dataset
directories are often read-only or owned by a package manager (``/usr/share/datasets``) and are
left exactly as they are. Without a writable cache a file is simply hashed on every load.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from archzoo.data.core import DataError

__all__ = [
    "SOURCES",
    "ChecksumError",
    "FileSpec",
    "Source",
    "download",
    "ensure",
    "fetch_command",
    "locate",
    "register_source",
    "sha256_file",
    "verify",
]

STAMP_NAME = "verified-files.json"
DOWNLOAD_TIMEOUT_S = 60.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileSpec:
    """One published file: its name (as published, e.g. ``train-images-idx3-ubyte.gz``), the SHA-256
    of the published bytes, and, for a gzip file, the SHA-256 of its decompressed content (so a
    file stored decompressed, without the ``.gz``, is verified too)."""

    name: str
    sha256: str
    raw_sha256: str | None = None

    @property
    def raw_name(self) -> str | None:
        """The file's name once decompressed, or None if it is not a gzip file."""
        return self.name[:-3] if self.name.endswith(".gz") and self.raw_sha256 else None


@dataclass(frozen=True)
class Source:
    """The files of one dataset and where to get them.

    ``name`` is also the directory under the data root. ``urls`` are base URLs (ending in ``/``)
    tried in order; a file's URL is ``base + spec.name``. ``system_dirs`` are looked in after the
    data root; ``debian_package`` is the package that installs the files there, if there is one.
    """

    name: str
    files: tuple[FileSpec, ...]
    urls: tuple[str, ...]
    system_dirs: tuple[Path, ...] = ()
    debian_package: str | None = None

    def spec(self, name: str) -> FileSpec:
        for spec in self.files:
            if spec.name == name:
                return spec
        names = ", ".join(f.name for f in self.files)
        raise KeyError(f"{self.name} has no file {name!r}; its files: {names}")


class ChecksumError(DataError):
    """A file's SHA-256 is not the published one."""


SOURCES: dict[str, Source] = {}
"""File-backed datasets by name. Loaders look their source up here when they run, so replacing an
entry (tests do, with local URLs and small files) changes where a dataset is looked for."""


def register_source(source: Source) -> Source:
    if source.name in SOURCES:
        raise ValueError(f"source {source.name!r} is already registered")
    SOURCES[source.name] = source
    return source


def fetch_command(name: str) -> str:
    return f"python -m archzoo.data.fetch {name}"


# ---------------------------------------------------------------------------------------------
# Checksums, remembered in stamps.

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _gzip_content_sha256(path: Path) -> str | None:
    """SHA-256 of the decompressed content of gzip file ``path``, or None if it is not a whole gzip file."""
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except (OSError, EOFError, zlib.error):  # not gzip (BadGzipFile is an OSError), cut short, damaged
        return None
    return h.hexdigest()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "archzoo"


def _stamp_file() -> Path:
    return _cache_dir() / STAMP_NAME


def _read_stamps() -> dict[str, object]:
    try:
        data = json.loads(_stamp_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _stamp_entry(path: Path, sha256: str, *, content: bool = False) -> dict[str, object]:
    st = path.stat()
    # "content_sha256": the bytes differ from the publisher's, the decompressed content matched
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, ("content_sha256" if content else "sha256"): sha256}


def _is_stamped(path: Path, sha256: str, *, content: bool = False) -> bool:
    return _read_stamps().get(str(path.absolute())) == _stamp_entry(path, sha256, content=content)


def _write_stamp(path: Path, sha256: str, *, content: bool = False) -> None:
    """Remember that ``path``, as it is now (size, mtime), has ``sha256`` (as its decompressed content
    if ``content``); best effort, never an error."""
    stamp = _stamp_file()
    data = _read_stamps()
    data[str(path.absolute())] = _stamp_entry(path, sha256, content=content)
    tmp: str | None = None
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{stamp.name}.", suffix=".tmp", dir=stamp.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, stamp)  # atomic: a concurrent reader sees the old stamps or the new ones
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def verify(path: Path, sha256: str, *, dataset: str, raw_sha256: str | None = None) -> Path:
    """Check ``path`` against ``sha256`` (once: the result is stamped); raise ChecksumError on a mismatch.

    With ``raw_sha256`` (``path`` is a published gzip file), a file whose bytes differ is accepted
    when its decompressed content has ``raw_sha256``: the same data, recompressed by another tool.
    That is said once on stderr, when the file is first verified.
    """
    if _is_stamped(path, sha256) or (raw_sha256 is not None and _is_stamped(path, raw_sha256, content=True)):
        return path
    actual = sha256_file(path)
    if actual == sha256:
        _write_stamp(path, sha256)
        return path
    why = ""
    if raw_sha256 is not None:
        content = _gzip_content_sha256(path)
        if content == raw_sha256:
            print(f"archzoo: note: {path} is not the publisher's .gz but its decompressed content has the "
                  "published SHA-256; using it", file=sys.stderr)
            _write_stamp(path, raw_sha256, content=True)
            return path
        why = (" (and it is not a readable gzip file)" if content is None
               else " (and its decompressed content is not the published one either)")
    raise ChecksumError(
        f"{path} is corrupt: its SHA-256 is {actual[:12]}..., expected {sha256[:12]}...{why}; "
        f"delete it and run `{fetch_command(dataset)}` to get it again"
    )


# ---------------------------------------------------------------------------------------------
# Finding, downloading, and the message when neither works.

def _search_dirs(source: Source, root: Path) -> list[Path]:
    return [root / source.name, *source.system_dirs]


def locate(source: Source, root: Path) -> dict[str, Path]:
    """Verified paths of the files of ``source`` that exist, by published name (missing ones absent).

    The first directory that holds a file wins; in it the published file is preferred to its
    decompressed form. A file that is found but fails its checksum raises ChecksumError (a
    DataError); a recompressed ``.gz`` with the published content passes (see :func:`verify`).
    """
    found: dict[str, Path] = {}
    for spec in source.files:
        for directory in _search_dirs(source, root):
            published = directory / spec.name
            if published.is_file():
                raw_sha256 = spec.raw_sha256 if spec.raw_name is not None else None
                found[spec.name] = verify(published, spec.sha256, dataset=source.name, raw_sha256=raw_sha256)
                break
            if spec.raw_name is not None and spec.raw_sha256 is not None:
                raw = directory / spec.raw_name
                if raw.is_file():
                    found[spec.name] = verify(raw, spec.raw_sha256, dataset=source.name)
                    break
    return found


def not_found_message(source: Source, root: Path, missing: list[str], reason: str = "") -> str:
    """One line: what is missing, where it was looked for, and every way to get it."""
    places = " and ".join(str(d) for d in _search_dirs(source, root))
    ways = []
    if source.debian_package:
        ways.append(f"`apt-get install {source.debian_package}`")
    ways.append(f"`{fetch_command(source.name)}`")
    url = source.urls[0] if source.urls else "the publisher"
    why = f" ({reason})" if reason else ""
    return (
        f"{source.name} not found: looked for {', '.join(missing)} in {places}{why}; "
        f"get it with {' or '.join(ways)}, or download the files from {url} into {root / source.name}, "
        f"or set ARCHZOO_DATA (or --data-root) to a directory that holds {source.name}/"
    )


def download(url: str, dest: Path, sha256: str, *, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Download ``url`` to ``dest`` atomically: a temporary file in ``dest``'s directory, renamed
    into place only when its SHA-256 is ``sha256``. On any failure nothing is left behind.

    Raises ChecksumError (a DataError) for a checksum mismatch, naming the file and URL, and
    DataError for a directory that cannot be written; network errors propagate (``OSError`` such as
    ``urllib.error.URLError``, or ``http.client.HTTPException`` for a connection cut mid-file).
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as e:
        raise DataError(
            f"cannot write {dest} ({e.strerror or e}); choose a writable --data-root or set ARCHZOO_DATA"
        ) from e
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            announced = response.headers.get("Content-Length")
            total = int(announced) if announced is not None and announced.isdigit() else None
            # a progress bar on a terminal only (disable=None): logs and captured output stay clean
            bar = tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=None, leave=False)
            with bar:
                while chunk := response.read(_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if total is not None and received != total:
            # http.client ends a short body quietly: say it was the connection, not the publisher
            raise ConnectionError(f"connection closed after {received} of {total} bytes")
        actual = h.hexdigest()
        if actual != sha256:
            raise ChecksumError(
                f"download of {dest.name} from {url} is corrupt: its SHA-256 is {actual[:12]}..., "
                f"expected {sha256[:12]}...; nothing was saved, try again later or another mirror"
            )
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_stamp(dest, sha256)
    return dest


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    if isinstance(error, http.client.IncompleteRead):
        return f"connection closed after {len(error.partial)} bytes"
    return str(error) or type(error).__name__


def ensure(source: Source, root: Path, *, download_missing: bool = True) -> dict[str, Path]:
    """Verified paths of all files of ``source``, downloading the missing ones if allowed.

    Raises DataError naming the places looked in and the ways to get the files when a file is
    missing and cannot be downloaded, and naming the file when a checksum fails.
    """
    found = locate(source, root)
    missing = [spec.name for spec in source.files if spec.name not in found]
    if not missing:
        return found
    if not download_missing:
        raise DataError(not_found_message(source, root, missing, "downloads are off"))
    if not source.urls:
        raise DataError(not_found_message(source, root, missing))
    target = root / source.name
    for name in missing:
        spec = source.spec(name)
        errors: list[str] = []
        corrupt: ChecksumError | None = None
        for base in source.urls:
            url = base + name
            try:
                found[name] = download(url, target / name, spec.sha256)
                break
            except ChecksumError as e:  # a bad copy on one mirror: try the next
                corrupt = e
            except DataError:
                raise  # the data root cannot be written: no mirror will help
            except (OSError, ValueError, http.client.HTTPException) as e:
                # URLError, HTTPError, timeouts, a connection cut mid-file, a malformed URL
                errors.append(f"{url}: {_describe(e)}")
                if isinstance(e, urllib.error.HTTPError):
                    e.close()  # it holds the response's socket
        else:
            if corrupt is not None:
                raise corrupt
            raise DataError(not_found_message(source, root, missing, "download failed: " + "; ".join(errors)))
    return found
