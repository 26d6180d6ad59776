"""Where trials run: in this process, in a pool of local processes, or on a Ray cluster.

Every executor has the same three calls: ``submit(spec)`` starts a trial and returns a handle, ``wait(handles)``
blocks until at least one finishes and returns {handle: record}, ``close()`` stops what is left. Trials are pure
functions of their spec (archzoo.nas.trial), so the executor changes where they run, never what they compute.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import socket
from multiprocessing import connection as mp_connection
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
    """``workers`` long-lived local processes (spawned: a forked PyTorch may hang in its thread pools), one trial
    at a time each. A worker that dies (killed, out of memory) fails its own trial only and is replaced, where a
    process pool would break and lose every trial in flight."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._ctx = multiprocessing.get_context("spawn")
        self._idle = [self._start() for _ in range(workers)]
        self._busy: dict[int, tuple[Any, Any]] = {}  # trial index -> (process, connection)

    def _start(self) -> tuple[Any, Any]:
        ours, theirs = self._ctx.Pipe()
        proc = self._ctx.Process(target=_serve, args=(theirs,), name="archzoo-trial-worker")
        proc.start()
        theirs.close()
        return proc, ours

    def submit(self, spec: TrialSpec) -> int:
        if not self._idle:
            raise RuntimeError(f"all {self.workers} workers are busy: wait for a trial before submitting another")
        proc, conn = self._idle.pop()
        try:
            conn.send(spec)
        except OSError:  # the worker died while idle: a new one takes the trial
            proc.join(5)
            conn.close()
            proc, conn = self._start()
            conn.send(spec)
        self._busy[spec.index] = (proc, conn)
        return spec.index

    def wait(self, handles: list[Any]) -> dict[Any, dict[str, Any]]:
        owner = {}
        for handle in handles:
            proc, conn = self._busy[handle]
            owner[conn], owner[proc.sentinel] = handle, handle
        done = {owner[ready] for ready in mp_connection.wait(list(owner))}
        return {handle: self._collect(handle) for handle in done}

    def _collect(self, handle: int) -> dict[str, Any]:
        proc, conn = self._busy.pop(handle)
        try:
            record = conn.recv()  # sent before the worker died, if it did
        except (EOFError, OSError):
            proc.join(5)
            conn.close()
            self._idle.append(self._start())
            return {"status": "failed", "error": f"the worker process died ({_exit(proc.exitcode)}; out of memory "
                                                 "is the usual cause) and was replaced"}
        self._idle.append((proc, conn))
        return record

    def close(self) -> None:
        for _, conn in self._idle:
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc, _ in self._busy.values():
            proc.kill()  # a trial in flight when the search stops (interrupted): its result is not wanted
        for proc, conn in [*self._idle, *self._busy.values()]:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
            conn.close()
        self._idle, self._busy = [], {}


def _serve(conn: Any) -> None:
    """A worker's loop: trial specs in, records out, until None (or the search's end closes the pipe)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the search's to handle: it stops this worker
    _warm_up()
    while True:
        try:
            spec = conn.recv()
        except (EOFError, OSError):
            return
        if spec is None:
            return
        conn.send(run_trial(spec))


def _exit(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


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
