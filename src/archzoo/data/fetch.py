"""Make a dataset available and say where it is: ``python -m archzoo.data.fetch NAME [--data-root DIR]``.

For a dataset made of files (``fashion-mnist``, ``mnist``), in this order:

1. files already in the data root or the system location, with the right checksums: done;
2. else, where the dataset has a Debian package and ``apt-get`` can be used (root on Debian):
   ``apt-get install -y PACKAGE`` (after ``apt-get update`` if the package is not known yet);
3. else download the files from the publisher into ``<data root>/<name>/``.

Datasets without files (scikit-learn's, the synthetic ones) are loaded once to check they work.
Prints one line per dataset on success; on failure prints one line on stderr and exits with 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from archzoo.data import DataError, data_root, dataset_info, load_dataset
from archzoo.data.files import SOURCES, Source, ensure, locate

__all__ = ["apt_usable", "fetch", "main"]


def apt_usable() -> bool:
    """True where ``apt-get install`` can run without asking: root, on a system with apt-get."""
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _run(command: list[str]) -> bool:
    """Run ``command`` with its output on stderr (stdout is kept for the answer); True on success."""
    print("+ " + " ".join(command), file=sys.stderr, flush=True)
    try:
        out: int | None = sys.stderr.fileno()
    except (AttributeError, OSError):  # a stderr without a file (captured): let the child inherit
        out = None
    try:
        return subprocess.run(command, stdout=out, check=False).returncode == 0
    except OSError:
        return False


def _apt_install(package: str) -> bool:
    command = ["apt-get", "install", "-y", "--no-install-recommends", package]
    # the package lists may be missing or old (a fresh container): update once and try again
    return _run(command) or (_run(["apt-get", "update"]) and _run(command))


def _describe(found: dict[str, Path]) -> str:
    places = sorted({str(p.parent) for p in found.values()})
    return f"{' and '.join(places)} ({len(found)} files, checksums verified)"


def fetch_files(source: Source, root: Path) -> str:
    """Make the files of ``source`` available (see the module docstring); returns where they are."""
    found = locate(source, root)
    if len(found) == len(source.files):
        return _describe(found)
    if source.debian_package and apt_usable() and _apt_install(source.debian_package):
        found = locate(source, root)
        if len(found) == len(source.files):
            return _describe(found)
    return _describe(ensure(source, root, download_missing=True))


def fetch(name: str, root: str | os.PathLike[str] | None = None) -> str:
    """Make dataset ``name`` available under ``data_root(root)``; returns a line saying where it is."""
    if name in SOURCES:  # a source's own name (what a not-found message suggests) is accepted too
        return f"{name}: {fetch_files(SOURCES[name], data_root(root))}"
    info = dataset_info(name)  # DataError naming the known datasets for an unknown name
    if info.source is not None:
        return f"{name}: {fetch_files(SOURCES[info.source], data_root(root))}"
    ds = load_dataset(info.name, root=root)
    sizes = ", ".join(f"{split} {len(s)}" for split, s in getattr(ds, "splits", {}).items())
    return f"{name}: needs no files ({ds.source}; {sizes})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m archzoo.data.fetch",
        description="Make a dataset available (data root, system location, Debian package or download).",
    )
    parser.add_argument("names", nargs="+", metavar="NAME", help="dataset name, e.g. fashion-mnist")
    parser.add_argument(
        "--data-root", default=None, help="data root (default: $ARCHZOO_DATA, else ~/.cache/archzoo)"
    )
    args = parser.parse_args(argv)
    for name in args.names:
        try:
            print(fetch(name, args.data_root), flush=True)
        except DataError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
