"""The search: a strategy proposes candidates, an executor trains them, a budget ends it, a log resumes it.

A search directory holds ``search.json`` (the whole configuration), ``trials.jsonl`` (one line per finished
trial, appended and flushed as each finishes: genotype, parameters, MACs, validation accuracy, training
time, status), ``summary.json`` (the best candidate and the Pareto front, rewritten after every trial) and
``progress.png`` (best-so-far against trials and time, every trial against parameters).

Budget. ``trials`` caps the candidates, ``max_time`` the wall seconds. A trial is not started when the time
left is below the median time of the trials so far, and a started trial gets the time left as its own
limit: the engine stops it there and it is recorded as ``stopped``. A trial that fails (NaN loss, error)
is recorded as ``failed`` and the search goes on.

Resume. Each line records the trial's index and how many results the strategy had seen when it proposed
it. Resuming replays those calls on a fresh strategy (same seed), which rebuilds its state exactly, checks
that every replayed proposal matches its line, and re-runs the trials that were in flight. Trials are pure
functions of (genotype, budget, seed) and a genotype seen before is not trained again (its record is
reused, marked ``cached``), so with one worker a search killed at any point and resumed ends with the
same trials and the same result as one never interrupted. With several workers the order in which trials
finish depends on timing, so a resumed search is a valid search but not the same one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from archzoo.data import load_dataset
from archzoo.engine.checkpoint import atomic_write_json
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.recipes import recipe
from archzoo.nas.executors import EXECUTORS, ExecutorError, make_executor
from archzoo.nas.proxies import get_proxy
from archzoo.nas.spaces import SPACES, Genotype, get_space
from archzoo.nas.strategies import STRATEGIES, Objective, default_population, pareto_front
from archzoo.nas.trial import TrialSpec
from archzoo.registry import create_model, model_card


class SearchError(ConfigError):
    """A bad search setting, or a directory that is not a search; the message says what to do."""


@dataclass
class SearchConfig:
    space: str
    strategy: str
    data: str
    objective: str = "accuracy"  # accuracy | accuracy,params | accuracy,macs
    trials: int = 0  # candidates to train (0: no cap; then max_time must be set)
    max_time: float = 0.0  # wall seconds (0: no limit; then trials must be set)
    workers: int = 1
    executor: str = "local"  # local | ray
    address: str = ""  # ray: the cluster (host:port); "": a local instance
    seed: int = 0
    data_root: str | None = None
    max_params: int = 0  # candidates above this many parameters are not proposed (0: no limit)
    max_macs: int = 0  # nor above this many MACs per image (0: no limit)
    population: int = 0  # evolution: 0 scales it to the budget (archzoo.nas.strategies.default_population)
    tournament: int = 0
    trial_epochs: int = 2  # each candidate's training: epochs over trial_subset - val_size images
    trial_subset: int = 15_000
    val_size: int = 5_000  # carved from the training split with the search's seed; the test split is not touched
    threads: int = 0  # torch threads per trial (0: the cores divided among the workers)
    proxy: str = ""  # synflow | naswot: each proposal is the best of proxy_candidates by this zero-cost proxy
    proxy_candidates: int = 10
    out: str = ""

    def validate(self) -> None:
        if self.space not in SPACES:
            raise SearchError(f"unknown search space {self.space!r}; valid: {', '.join(SPACES)}")
        if self.strategy not in STRATEGIES:
            raise SearchError(f"unknown strategy {self.strategy!r}; valid: {', '.join(STRATEGIES)}")
        if self.objective not in Objective.NAMES:
            raise SearchError(f"unknown objective {self.objective!r}; valid: {', '.join(Objective.NAMES)}")
        if self.executor not in EXECUTORS:
            raise SearchError(f"unknown executor {self.executor!r}; valid: {', '.join(EXECUTORS)}")
        if self.trials < 0 or self.max_time < 0 or (self.trials == 0 and self.max_time == 0):
            raise SearchError(f"the budget must be positive: --trials N and/or --max-time SECONDS (got trials "
                              f"{self.trials}, max-time {self.max_time:g})")
        for name in ("workers", "trial_epochs", "val_size", "proxy_candidates"):
            if getattr(self, name) < 1:
                raise SearchError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in ("max_params", "max_macs", "population", "tournament", "threads", "trial_subset"):
            if getattr(self, name) < 0:
                raise SearchError(f"{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if self.trial_subset and self.trial_subset <= self.val_size:
            raise SearchError(f"trial-subset ({self.trial_subset}) must exceed val-size ({self.val_size}): the "
                              "validation images are carved from it")
        if self.proxy:
            try:
                get_proxy(self.proxy)
            except ValueError as exc:
                raise SearchError(str(exc)) from None
            if self.strategy == "reinforce":
                raise SearchError("--proxy pre-ranks the candidates of random search and evolution; the reinforce "
                                  "strategy samples from its policy (leave out --proxy)")

    def trial_threads(self) -> int:
        return self.threads or max(1, (os.cpu_count() or 1) // self.workers)


def is_search_dir(path: Path) -> bool:
    return (path / "search.json").is_file()


def _read_config(run_dir: Path) -> SearchConfig:
    if not is_search_dir(run_dir):
        raise SearchError(f"{run_dir} is not an archzoo search directory (no search.json); pass the --out directory "
                          "of an earlier `archzoo search`")
    try:
        data = json.loads((run_dir / "search.json").read_text())
        known = {f.name for f in dataclasses.fields(SearchConfig)}
        return SearchConfig(**{k: v for k, v in data.items() if k in known})
    except (json.JSONDecodeError, TypeError, AttributeError) as exc:
        raise SearchError(f"{run_dir / 'search.json'} is damaged ({exc}); start a new search") from None


def read_trials(run_dir: Path) -> list[dict[str, Any]]:
    """The finished trials in the order they finished; a line cut short by a kill (the last) is dropped."""
    path = run_dir / "trials.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


class Search:
    """Runs (or resumes) the search configured by ``cfg`` in ``run_dir``; ``run()`` returns the summary."""

    def __init__(self, cfg: SearchConfig, run_dir: Path, *, progress: bool = True) -> None:
        cfg.validate()
        self.cfg, self.run_dir, self.progress = cfg, run_dir, progress
        self.space = get_space(cfg.space)
        self.objective = Objective(cfg.objective)
        ds = load_dataset(cfg.data, root=cfg.data_root)
        if not (ds.is_image and ds.num_classes):
            raise SearchError(f"architecture search needs an image classification dataset; {cfg.data} is not one")
        self.input_shape, self.num_classes = tuple(ds.input_shape), int(ds.num_classes)
        self.settings = self._trial_settings()
        self._costs: dict[Genotype, tuple[int, int]] = {}
        self._proxy_batch = self._make_proxy_batch(ds) if cfg.proxy else None
        self.strategy = self._make_strategy()
        self.records: list[dict[str, Any]] = []
        self.results: dict[Genotype, dict[str, Any]] = {}  # finished trials by genotype (a repeat is not retrained)
        self.next_index = 0
        self.requeue: list[tuple[int, Genotype, int]] = []  # proposals replayed whose trials never finished
        self.interrupted = False

    # ---- set-up -----------------------------------------------------------------------------------------
    def _trial_settings(self) -> dict[str, Any]:
        """The engine settings of every trial: the space's recipe for the data, shortened to the trial budget."""
        settings = {k: v for k, v in recipe(self.space.model, "nas", self.cfg.data).items() if k != "model_overrides"}
        settings.update(epochs=self.cfg.trial_epochs, subset=self.cfg.trial_subset, val_size=self.cfg.val_size)
        return settings

    def cost(self, genes: Genotype) -> tuple[int, int]:
        if genes not in self._costs:
            self._costs[genes] = self.space.cost(genes, self.input_shape, self.num_classes)
        return self._costs[genes]

    def accept(self, genes: Genotype) -> bool:
        params, macs = self.cost(genes)
        return (not self.cfg.max_params or params <= self.cfg.max_params) and (
            not self.cfg.max_macs or macs <= self.cfg.max_macs)

    def _make_proxy_batch(self, ds: Any) -> torch.Tensor:
        """64 training images (never validation ones) as the trials see them, for the zero-cost proxy."""
        from archzoo.data import Batcher
        from archzoo.tasks.base import subset_and_carve

        probe = TrainConfig(model=self.space.model, data=self.cfg.data, seed=self.cfg.seed)
        for key, value in self.settings.items():
            setattr(probe, key, value)
        train = subset_and_carve(ds, probe).splits["train"]
        batcher = Batcher(train, 64, shuffle=True, seed=self.cfg.seed, mean=ds.mean, std=ds.std)
        return next(batcher.epoch(0))[0]

    def proxy_score(self, genes: Genotype, name: str | None = None) -> float:
        """The zero-cost proxy of ``genes`` on a fresh network built with the search's seed."""
        batch = self._proxy_batch
        if batch is None:
            raise SearchError("this search has no proxy batch (set --proxy)")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.cfg.seed)
            model = create_model(self.space.model, **self.space.overrides(genes), in_channels=self.input_shape[0],
                                 num_classes=self.num_classes)
            return get_proxy(name or self.cfg.proxy)(model, batch)

    def _make_strategy(self) -> Any:
        cfg = self.cfg
        rank = None
        if cfg.proxy:
            def rank(candidates: list[Genotype]) -> Genotype:
                return max(candidates, key=self.proxy_score)  # the first of equals: deterministic
        common = dict(space=self.space, seed=cfg.seed, objective=self.objective, accept=self.accept, rank=rank,
                      candidates=cfg.proxy_candidates)
        if cfg.strategy == "evolution":
            population, tournament = default_population(cfg.trials)
            return STRATEGIES["evolution"](**common, population=cfg.population or population,
                                           sample_size=cfg.tournament or min(tournament, cfg.population or tournament))
        if cfg.strategy == "reinforce":
            reference = 0.0
            if self.objective.cost is not None:  # MnasNet's target: the constraint, else the space's default network
                limit = cfg.max_params if self.objective.cost == "params" else cfg.max_macs
                default = self.cost(self.space.canonical(model_card(self.space.model).config.genotype))
                reference = float(limit or default[0 if self.objective.cost == "params" else 1])
            return STRATEGIES["reinforce"](**{**common, "rank": None}, reference_cost=reference)
        return STRATEGIES["random"](**common)

    # ---- the log ------------------------------------------------------------------------------------------
    def _replay(self, records: list[dict[str, Any]]) -> None:
        """Rebuild the strategy from the recorded trials: the same proposals, observed at the same points."""
        by_index = {r["trial"]: r for r in records}
        seen = 0
        for index in range(max(by_index, default=-1) + 1):
            record = by_index.get(index)
            if record is not None:
                while seen < record["proposed_after"]:
                    self._observe(records[seen], log=False)
                    seen += 1
            genes = self.strategy.propose(index)
            if record is None:  # in flight when the search stopped: run it again first
                self.requeue.append((index, genes, seen))
            elif list(genes) != list(record["genotype"]):
                raise SearchError(f"{self.run_dir}: trial {index} does not replay (recorded {record['genotype']}, "
                                  f"proposed {list(genes)}): the search was made by another version or its log was "
                                  "edited; start a new search")
        for record in records[seen:]:
            self._observe(record, log=False)
        self.next_index = max(by_index, default=-1) + 1

    def _observe(self, record: dict[str, Any], *, log: bool = True) -> None:
        if log:
            with open(self.run_dir / "trials.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())
        self.records.append(record)
        if record["status"] == "ok":
            self.results.setdefault(tuple(record["genotype"]), record)
        self.strategy.observe(record["trial"], record)

    # ---- the loop -------------------------------------------------------------------------------------------
    def _elapsed(self) -> float:
        return self._base_elapsed + time.perf_counter() - self._t0

    def _time_left(self) -> float:
        return self.cfg.max_time - self._elapsed() if self.cfg.max_time else float("inf")

    def _may_start(self) -> bool:
        if self.interrupted or (self.cfg.trials and self.next_index >= self.cfg.trials and not self.requeue):
            return False
        left = self._time_left()
        if left <= 0:
            return False
        times = [r["train_s"] for r in self.records if r["status"] == "ok" and not r.get("cached")]
        return not times or left >= statistics.median(times)  # a trial that cannot finish is not started

    def _next(self) -> tuple[int, Genotype, int]:
        if self.requeue:
            return self.requeue.pop(0)
        index = self.next_index
        self.next_index += 1
        return index, self.strategy.propose(index), len(self.records)

    def _record(self, index: int, genes: Genotype, proposed_after: int, result: dict[str, Any], cached: bool
                ) -> dict[str, Any]:
        params, macs = self.cost(genes)
        record = {"trial": index, "genotype": list(genes), "arch": self.space.describe(genes), "params": params,
                  "macs": macs, "proposed_after": proposed_after, **result, "elapsed_s": round(self._elapsed(), 3)}
        if cached:
            record.update(cached=True, train_s=0.0)
        self._observe(record)
        self._write_summary(completed=False)
        if self.progress:
            self._report(record)
        return record

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.interrupted = True

    def run(self, *, resume: bool = False) -> dict[str, Any]:
        cfg = self.cfg
        self.run_dir.mkdir(parents=True, exist_ok=True)
        records = read_trials(self.run_dir) if resume else []
        if resume:
            lines = [json.dumps(r) + "\n" for r in records]  # drops a last line cut short by a kill
            (self.run_dir / "trials.jsonl").write_text("".join(lines))
            self._replay(records)
        else:
            atomic_write_json(self.run_dir / "search.json", dataclasses.asdict(cfg))
        self._base_elapsed = max((r["elapsed_s"] for r in records), default=0.0)
        self._t0 = time.perf_counter()
        executor = make_executor(cfg.executor, cfg.workers, cfg.trial_threads(), cfg.address or None)
        inflight: dict[Any, tuple[int, Genotype, int]] = {}
        previous = signal.signal(signal.SIGINT, self._on_signal) if _main_thread() else None
        try:
            while True:
                while len(inflight) < cfg.workers and self._may_start():
                    index, genes, after = self._next()
                    known = self.results.get(genes)
                    if known is not None:  # trained before: the same pure function, the same result
                        self._record(index, genes, after, {k: known[k] for k in ("status", "val_accuracy",
                                                                                 "epochs_done")}, cached=True)
                        continue
                    spec = TrialSpec(index=index, model=self.space.model,
                                     overrides={**self.space.overrides(genes)}, data=cfg.data,
                                     data_root=cfg.data_root, seed=cfg.seed, settings=self.settings,
                                     deadline=time.time() + self._time_left() if cfg.max_time else 0.0,
                                     threads=cfg.trial_threads())
                    inflight[executor.submit(spec)] = (index, genes, after)
                if not inflight:
                    break
                for handle, result in executor.wait(list(inflight)).items():
                    index, genes, after = inflight.pop(handle)
                    if result.get("status") == "interrupted":
                        self.interrupted = True
                        self.requeue.insert(0, (index, genes, after))
                        continue
                    self._record(index, genes, after, result, cached=False)
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            executor.close()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        summary = self._write_summary(completed=not self.interrupted)
        if self.records:
            from archzoo.nas.report import plot_progress

            plot_progress(self.records, self.objective, self.run_dir / "progress.png",
                          title=f"{cfg.strategy} on the {cfg.space} space, {cfg.data} (seed {cfg.seed})")
        return summary

    # ---- results -------------------------------------------------------------------------------------------
    def _report(self, record: dict[str, Any]) -> None:
        cfg = self.cfg
        acc = record.get("val_accuracy")
        shown = f"val {acc:.4f}" if acc is not None else record["status"]
        best = max((r for r in self.records if r["status"] == "ok"), key=Objective.accuracy, default=None)
        budget = []
        if cfg.trials:
            budget.append(f"{len(self.records)}/{cfg.trials} trials")
        if cfg.max_time:
            budget.append(f"{max(self._time_left(), 0) / 60:.1f} min left")
        print(f"trial {record['trial']}: {shown}, {record['params']:,} params, {record['macs'] / 1e6:.1f}M MACs, "
              f"{record.get('train_s', 0):.1f}s{' (seen before)' if record.get('cached') else ''} | best "
              + (f"{best['val_accuracy']:.4f} (trial {best['trial']})" if best else "none yet")
              + f" | {', '.join(budget)}  {record['arch']}", file=sys.stderr, flush=True)

    def _write_summary(self, *, completed: bool) -> dict[str, Any]:
        summary = summarize(self.cfg, self.records, self.objective, completed=completed,
                            wall_time_s=self._elapsed(), strategy=self.strategy.settings(),
                            settings=self.settings, run_dir=self.run_dir)
        atomic_write_json(self.run_dir / "summary.json", summary)
        return summary


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def summarize(cfg: SearchConfig, records: list[dict[str, Any]], objective: Objective, *, completed: bool,
              wall_time_s: float, strategy: dict[str, Any], settings: dict[str, Any], run_dir: Path
              ) -> dict[str, Any]:
    """summary.json: the budget spent, the best candidate, the Pareto front of accuracy and cost."""
    ok = [r for r in records if r["status"] == "ok"]
    fields = ("trial", "genotype", "arch", "val_accuracy", "params", "macs")
    best = max(ok, key=Objective.accuracy, default=None)
    front_objective = objective if objective.cost is not None else Objective("accuracy,params")
    front = sorted(pareto_front(ok, front_objective), key=lambda r: r[front_objective.cost or "params"])
    counts: dict[str, int] = {}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {
        "space": cfg.space, "strategy": cfg.strategy, "data": cfg.data, "objective": cfg.objective, "seed": cfg.seed,
        "budget": {"trials": cfg.trials, "max_time_s": cfg.max_time, "workers": cfg.workers,
                   "executor": cfg.executor},
        "constraints": {"max_params": cfg.max_params, "max_macs": cfg.max_macs},
        "trials_done": len(records), "status": counts, "cached": sum(bool(r.get("cached")) for r in records),
        "wall_time_s": round(wall_time_s, 3), "completed": completed,
        "best": {k: best[k] for k in fields} if best else None,
        "pareto_front": {"objectives": ["val_accuracy", front_objective.cost],
                         "trials": [{k: r[k] for k in fields} for r in front]},
        "strategy_settings": strategy, "trial_settings": settings, "run_dir": str(run_dir),
        "retrain": f"archzoo train nas:{run_dir} --data {cfg.data}",
    }


# ---- the functions the CLI calls ----------------------------------------------------------------------------

def search(cfg: SearchConfig, *, progress: bool = True) -> dict[str, Any]:
    """A new search into ``cfg.out`` (a new or empty directory); returns the summary."""
    run_dir = Path(cfg.out) if cfg.out else Path("runs") / f"search-{cfg.space}-{cfg.strategy}-{cfg.data}-" \
                                                            f"{time.strftime('%Y%m%d-%H%M%S')}"
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        hint = f"; to continue it: archzoo search --resume {run_dir}" if is_search_dir(run_dir) else ""
        raise SearchError(f"search directory {run_dir} is not empty; choose another --out{hint}")
    cfg.out = str(run_dir)
    return Search(cfg, run_dir, progress=progress).run()


def resume_search(run_dir: Path, *, progress: bool = True, trials: int | None = None,
                  max_time: float | None = None) -> dict[str, Any]:
    """Continue the search in ``run_dir`` (optionally with a larger budget)."""
    cfg = _read_config(run_dir)
    if trials is not None:
        cfg.trials = trials
    if max_time is not None:
        cfg.max_time = max_time
    return Search(cfg, run_dir, progress=progress).run(resume=True)


def resolve_candidate(name: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``nas:RUN`` (the best trial) or ``nas:RUN#TRIAL`` -> (registered model, its overrides, the trial's record)."""
    target = name[len("nas:"):] if name.startswith("nas:") else name
    path, _, trial = target.partition("#")
    run_dir = Path(path)
    cfg = _read_config(run_dir)
    records = [r for r in read_trials(run_dir) if r["status"] == "ok"]
    if trial:
        try:
            wanted = int(trial)
        except ValueError:
            raise SearchError(f"nas:RUN#TRIAL needs a trial number after '#', got {trial!r}") from None
        chosen = next((r for r in records if r["trial"] == wanted), None)
        if chosen is None:
            done = sorted(r["trial"] for r in records)
            shown = f"{done[0]}..{done[-1]}" if done else "none"
            raise SearchError(f"{run_dir} has no finished trial {wanted} (finished trials: {shown}, {len(done)} in "
                              "all; see its trials.jsonl)")
    else:
        chosen = max(records, key=Objective.accuracy, default=None)
        if chosen is None:
            raise SearchError(f"{run_dir} has no finished trial yet; resume it: archzoo search --resume {run_dir}")
    space = get_space(cfg.space)
    return space.model, space.overrides(chosen["genotype"]), chosen


__all__ = ["ExecutorError", "Search", "SearchConfig", "SearchError", "is_search_dir", "read_trials",
           "resolve_candidate", "resume_search", "search", "summarize"]
