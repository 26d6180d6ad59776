"""Where trials run: in this process, in a pool of local processes, or on a Ray cluster.

Every executor has the same three calls: ``submit(spec)`` starts a trial and returns a handle, ``wait(handles)``
blocks until at least one finishes and returns {handle: record}, ``close()`` stops what is left. Trials are pure
functions of their spec (archzoo.nas.trial), so the executor changes where they run, never what they compute.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import socket
from typing import Any

from archzoo.engine.config import ConfigError
from archzoo.nas.trial import TrialSpec, first_line, run_trial

EXECUTORS = ("local", "ray")


class ExecutorError(ConfigError):
    """The executor cannot start (Ray missing, a cluster that does not answer)."""


class InlineExecutor:
    """One worker: the trial runs in this process when waited on (no process start-up, nothing to pickle)."""

    workers = 1

    def __init__(self) -> None:
        self._pending: dict[int, TrialSpec] = {}

    def submit(self, spec: TrialSpec) -> int:
        self._pending[spec.index] = spec
        return spec.index

    def wait(self, handles: list[Any]) -> dict[Any, dict[str, Any]]:
        handle = handles[0]
        return {handle: run_trial(self._pending.pop(handle))}

    def close(self) -> None:
        self._pending.clear()


class ProcessExecutor:
    """``workers`` local processes (spawned: a forked PyTorch may hang in its thread pools)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_warm_up)

    def submit(self, spec: TrialSpec) -> cf.Future:
        return self.pool.submit(run_trial, spec)

    def wait(self, handles: list[Any]) -> dict[Any, dict[str, Any]]:
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        return {f: _result(f.result) for f in done}

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class RayExecutor:
    """Trials as Ray tasks, each given ``threads`` CPUs, on the cluster at ``address`` (None: a local instance
    of ``workers`` x ``threads`` CPUs). Every node needs archzoo and the dataset (ARCHZOO_DATA, or --data-root
    naming a path that exists on each node)."""

    def __init__(self, workers: int, threads: int, address: str | None) -> None:
        try:
            import ray
        except ImportError:
            raise ExecutorError("--executor ray needs Ray: pip install 'archzoo[ray]' (or pip install ray)") from None
        self.ray, self.workers = ray, workers
        if address and address != "auto":
            _probe(address)  # Ray itself retries an address that does not answer for minutes
        try:
            if address:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
            else:
                ray.init(num_cpus=workers * max(threads, 1), include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ExecutorError(f"cannot reach a Ray cluster at {address!r} ({first_line(exc)}); start one "
                                "with `ray start --head` and pass its address (host:6379), or leave out --address "
                                "for a local instance") from None
        self.remote = ray.remote(num_cpus=max(threads, 1), max_retries=0)(run_trial)

    def submit(self, spec: TrialSpec) -> Any:
        return self.remote.remote(spec)

    def wait(self, handles: list[Any]) -> dict[Any, dict[str, Any]]:
        done, _ = self.ray.wait(handles, num_returns=1)
        return {ref: _result(lambda ref=ref: self.ray.get(ref)) for ref in done}

    def close(self) -> None:
        self.ray.shutdown()


def _warm_up() -> None:
    """Import the engine and every model in a new worker, so that its first trial's clock starts on training."""
    from archzoo import engine, registry

    registry.list_models()
    del engine


def _probe(address: str, timeout: float = 5.0) -> None:
    """ExecutorError unless something listens at ``address`` (host:port, or ray://host:port for Ray Client)."""
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    try:
        with socket.create_connection((host or "localhost", int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        reason = "not host:port" if isinstance(exc, ValueError) else exc.strerror or type(exc).__name__
        raise ExecutorError(f"no Ray cluster answers at {address!r} ({reason}); start one with `ray start --head` "
                            "and pass the address it prints (host:6379), or leave out --address for a local "
                            "instance") from None


def _result(get: Any) -> dict[str, Any]:
    """A trial's record; a worker that died (killed, out of memory) records a failed trial."""
    try:
        return get()
    except Exception as exc:
        return {"status": "failed", "error": f"the worker failed: {type(exc).__name__}: {first_line(exc)}"}


def make_executor(name: str, workers: int, threads: int, address: str | None) -> Any:
    if name not in EXECUTORS:
        raise ExecutorError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")
    if name == "ray":
        return RayExecutor(workers, threads, address)
    if address:
        raise ExecutorError("--address names a Ray cluster: it needs --executor ray")
    return InlineExecutor() if workers == 1 else ProcessExecutor(workers)
