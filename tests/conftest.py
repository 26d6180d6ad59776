"""Shared fixtures. Real datasets are found where archzoo's loaders find them: the data root
($ARCHZOO_DATA, which CI points at the shared data, else ~/.cache/archzoo), then the system location
(/usr/share/datasets/fashion-mnist from Debian's dataset-fashion-mnist)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """What archzoo computes once and caches (the feature classifiers of sample metrics) goes to a directory
    of this test session, not the user's ~/.cache/archzoo."""
    patch = pytest.MonkeyPatch()
    patch.setenv("ARCHZOO_CACHE", str(tmp_path_factory.mktemp("archzoo-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def real_fashion_dir() -> Path:
    """The directory the loaders read the real Fashion-MNIST from (verified, as the loaders do);
    skips with instructions when they cannot find it."""
    from archzoo.data import data_root, list_datasets
    from archzoo.data.files import SOURCES, locate, not_found_message

    list_datasets()  # the sources register on first use of the registry
    source, root = SOURCES["fashion-mnist"], data_root()
    found = locate(source, root)  # a corrupt file is an error, not a skip: the loaders would fail on it
    missing = [spec.name for spec in source.files if spec.name not in found]
    if missing:
        pytest.skip(f"real datasets not found (`make data` fetches them): {not_found_message(source, root, missing)}")
    return found[source.files[0].name].parent


@pytest.fixture(scope="session")
def real_data_root(real_fashion_dir: Path) -> Path:
    """A data root (for --data-root or ARCHZOO_DATA) under which the loaders find the real datasets:
    archzoo's own, since the system location is searched after any root."""
    from archzoo.data import data_root

    return data_root()


@pytest.fixture(scope="session")
def text_data_root() -> Path:
    """The data root under which the loaders find Tiny Shakespeare and MR (verified, as the loaders
    do); skips with instructions when either is missing."""
    from archzoo.data import data_root, list_datasets
    from archzoo.data.files import SOURCES, locate, not_found_message

    list_datasets()  # the sources register on first use of the registry
    root = data_root()
    for name in ("tinyshakespeare", "mr-polarity"):
        source = SOURCES[name]
        found = locate(source, root)  # a corrupt file is an error, not a skip: the loaders would fail on it
        missing = [spec.name for spec in source.files if spec.name not in found]
        if missing:
            how = not_found_message(source, root, missing)
            pytest.skip(f"real datasets not found (`make data` fetches them): {how}")
    return root


@pytest.fixture(scope="session")
def series_data_root() -> Path:
    """The data root under which the loaders find the shared time series (verified, as the loaders do); skips
    with instructions when they are missing."""
    from archzoo.data import data_root, list_datasets
    from archzoo.data.files import SOURCES, locate, not_found_message

    list_datasets()  # the sources register on first use of the registry
    source, root = SOURCES["timeseries"], data_root()
    found = locate(source, root)
    missing = [spec.name for spec in source.files if spec.name not in found]
    if missing:  # no publisher serves these CSV files: they are R's datasets exported with write.csv
        pytest.skip(f"time series not found: {not_found_message(source, root, missing)} (set ARCHZOO_DATA to the "
                    "shared data, or export them from R as archzoo.data.sources.series shows)")
    return root


TORCHRUN_TIMEOUT_S = 240  # the runs of these tests take 5-20 s


def _run_group(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess | None:
    """``command`` in a process group of its own; None, with the whole group killed (torchrun and its
    workers), when it has not ended within TORCHRUN_TIMEOUT_S."""
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
        try:
            out, err = process.communicate(timeout=TORCHRUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return None
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _train_one_and_two_processes(tmp_path: Path, args: list[str], env: dict[str, str] | None = None
                                 ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """`archzoo train ARGS` in one process (tmp_path/one) and under torchrun with two gloo processes
    (tmp_path/two), both on the CPU (a machine with one GPU cannot give two processes one each); the model
    tensors of each run's last checkpoint."""
    from safetensors.torch import load_file

    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    subprocess.run([sys.executable, "-m", "archzoo.cli", "train", *args, "--device", "cpu",
                    "--out", str(tmp_path / "one")],
                   check=True, env=env, capture_output=True)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "--module", "archzoo.cli", "train", *args, "--device", "cpu", "--out", str(tmp_path / "two")]
    run = _run_group(command, env)
    if run is None:  # a rare stall of the two processes on localhost: said in the warnings summary, then once more
        warnings.warn(f"torchrun {args[0]} stalled for {TORCHRUN_TIMEOUT_S} s and was run again",
                      stacklevel=1)
        shutil.rmtree(tmp_path / "two", ignore_errors=True)
        run = _run_group(command, env)
        assert run is not None, f"torchrun stalled twice for {TORCHRUN_TIMEOUT_S} s"
    assert run.returncode == 0, run.stderr[-2000:]
    weights = [{k: v for k, v in load_file(str(tmp_path / name / "checkpoints" / "last.safetensors")).items()
                if k.startswith("model.")} for name in ("one", "two")]
    assert set(weights[0]) == set(weights[1])
    return weights[0], weights[1]


@pytest.fixture(scope="session")
def one_and_two_processes():
    """The function that trains a run in one process and in two (torchrun, gloo) and returns both
    runs' model tensors, for the distributed-equivalence tests of every task."""
    return _train_one_and_two_processes


@pytest.fixture
def cli_fails(capsys):
    """``cli_fails(argv, *needles)``: `archzoo ARGV` exits 2 with one line on stderr, no traceback, holding
    every needle; returns the line."""
    from archzoo.cli import main

    def check(argv: list[str], *needles: str) -> str:
        code = main(argv)
        err = capsys.readouterr().err.strip()
        assert code == 2, f"exit {code}, stderr {err!r}"
        assert len(err.splitlines()) == 1 and "Traceback" not in err, f"expected one line, got:\n{err}"
        for n in needles:
            assert n in err, f"{n!r} not in {err!r}"
        return err

    return check
