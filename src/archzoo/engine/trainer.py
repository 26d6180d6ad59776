"""The training loop: any task, any model, one process or many (torchrun), resumable exactly.

A run directory holds config.json, metrics.jsonl, summary.json and checkpoints/ (see DESIGN.md).
Exact resumption rests on three facts: batches are a pure function of (seed, epoch, step) (see
archzoo.data.Batcher); learning rates are a pure function of the step (archzoo.engine.optim); and
the checkpoint holds the model, the optimizers and the global RNG state (for dropout and the like).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from archzoo import tasks  # the module, read when called: the tasks import the engine's configuration
from archzoo.data import load_dataset
from archzoo.engine import distributed
from archzoo.engine.checkpoint import (
    CheckpointError,
    atomic_write_json,
    load_checkpoint,
    load_latest_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.device import describe as describe_device
from archzoo.engine.device import device_setting, resolve_device, use_deterministic_kernels
from archzoo.engine.optim import Schedule
from archzoo.engine.precision import Precision, resolve_precision, time_steps
from archzoo.engine.precision import describe as describe_precision
from archzoo.engine.progress import Progress
from archzoo.registry import count_params, create_model, model_card, resolve_config
from archzoo.tasks.base import check_fits

if TYPE_CHECKING:
    from archzoo.tasks import DataPlan, Task


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class RunDirError(ValueError):
    """The run directory cannot be used (not empty, or not a run)."""


# the settings that go to the dataset's loader when set: a parallel corpus's languages, a series' columns and time
DATA_OPTIONS = ("src_lang", "tgt_lang", "target", "covariates", "freq", "fill")


def load_data(cfg: TrainConfig) -> Any:
    """The dataset the run names, loaded (its task's plan cuts it into batches)."""
    options: dict[str, str] = {"encoding": cfg.encoding} if cfg.encoding != "utf-8" else {}
    options.update({name: getattr(cfg, name) for name in DATA_OPTIONS if getattr(cfg, name)})
    return load_dataset(cfg.data, root=cfg.data_root, **options)


def build_model(cfg: TrainConfig, plan: DataPlan) -> tuple[nn.Module, Any]:
    """The model with the settings that follow from the data, then the user's overrides."""
    base = resolve_config(cfg.model)
    fields = {f.name for f in dataclasses.fields(base)}
    overrides = {**plan.model_overrides(fields), **cfg.model_overrides}
    model_cfg = resolve_config(cfg.model, **overrides)
    return create_model(cfg.model, **overrides), model_cfg


class Trainer:
    """Trains ``cfg.model`` on ``cfg.data`` into ``run_dir``; ``fit()`` returns the summary."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, *, resume: bool = False, progress: bool = True) -> None:
        cfg.validate()
        cfg.out = str(run_dir)  # what the run writes beside its checkpoints goes here, also in a run moved since
        self.cfg, self.run_dir, self.resume = cfg, run_dir, resume
        self.dist = distributed.from_env()
        self.device = resolve_device(cfg.device, self.dist.local_rank)
        cfg.device = device_setting(cfg.device, self.device)  # what config.json records and a resume reuses
        if cfg.deterministic:
            use_deterministic_kernels(self.device)
        distributed.init(self.dist, self.device)
        torch.manual_seed(cfg.seed)
        ds = load_data(cfg)
        self.task: Task = tasks.make_task(cfg.objective or model_card(cfg.model).task, ds)
        self.plan = self.task.plan(ds, cfg, run_dir if resume else None)
        self.model, self.model_cfg = build_model(cfg, self.plan)
        self.train_batches, self.eval_batches = self.plan.batches(cfg, self.device, self.dist.rank,
                                                                  self.dist.world_size)
        if cfg.eval_splits:  # e.g. a search trial: the validation split only
            wanted = cfg.eval_splits.split(",")
            self.eval_batches = {name: b for name, b in self.eval_batches.items() if name in wanted}
            if not self.eval_batches:
                raise ConfigError(f"{cfg.data} has none of the splits eval_splits={cfg.eval_splits} names; carve a "
                                  "validation split with --set val_size=N")
        self.model.to(self.device)  # before check_fits: the batches already live on the device
        if self.plan.channels_last:
            self.model.to(memory_format=torch.channels_last)
        check_fits(self.plan, self.model, next(self.train_batches.epoch(0)), cfg.data)
        self.precision = self._resolve_precision()
        cfg.precision = self.precision.name  # the resolved value is recorded, so a resumed run keeps it
        self.optimizers = self.task.build_optimizers(self.model, cfg)
        self.schedule = Schedule(self.optimizers.values(), cfg, len(self.train_batches))
        self.net: nn.Module = self.model
        if cfg.compile:
            self.net = torch.compile(self.model)
        if self.dist.enabled:  # a task that calls parts of the model apart (a GAN's G and D) wraps them itself
            distribute = getattr(self.task, "distribute", None)
            self.net = distribute(self.net) if distribute is not None else nn.parallel.DistributedDataParallel(self.net)
        # train_sums: this epoch's sums of the figures the task asks to have averaged (its train_metrics);
        # unhealthy: evaluations in a row the task has found unhealthy (its unhealthy(metrics))
        self.state: dict[str, Any] = {"epoch": 0, "step": 0, "global_step": 0, "elapsed_s": 0.0,
                                      "best": None, "metrics_lines": 0, "train_sums": {}, "unhealthy": 0,
                                      "healthy_epoch": None}
        self.progress = Progress(len(self.train_batches), cfg.epochs, enabled=progress and self.dist.is_main)
        self.progress.note(f"{cfg.model} on {cfg.data}: device {describe_device(self.device)}, "
                           f"precision {describe_precision(self.precision)}")
        self._stop_reason: str | None = None
        self._evaluated: dict[tuple[int, str], dict[str, Any]] = {}  # (epoch, split) -> metrics, this process

    def _resolve_precision(self) -> Precision:
        """The run's precision; for ``auto`` on hardware with native bf16, rank 0 times training steps
        of the model in fp32 and bf16 and every rank takes its choice."""
        name, reason = resolve_precision(self.cfg.precision, self.device,
                                         self._time_precisions if self.dist.is_main else None)
        if self.dist.enabled and self.cfg.precision.strip().lower() == "auto":  # every rank takes rank 0's
            name = "bf16" if distributed.broadcast_flag(self.dist, name == "bf16") else "fp32"
        return Precision(name, self.device, reason)

    def _time_precisions(self) -> dict[str, float]:
        """Seconds of one training step in fp32 and in bf16, on copies of the model and its optimizers
        and the first batch; the run's weights, optimizer states and random numbers are untouched."""
        batch = next(self.train_batches.epoch(0))
        runners = {}
        for name in ("fp32", "bf16"):
            model, precision = copy.deepcopy(self.model), Precision(name, self.device)
            for module in model.modules():  # a copied cuDNN RNN holds its weights apart: put them back in one block
                if isinstance(module, nn.RNNBase):
                    module.flatten_parameters()
            optimizers = self.task.build_optimizers(model, self.cfg)

            def step(model: nn.Module = model, precision: Precision = precision,
                     optimizers: dict[str, torch.optim.Optimizer] = optimizers) -> None:
                with precision.autocast():
                    self.task.train_step(model, batch, optimizers, self.cfg, precision)

            runners[name] = step
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            return time_steps(runners, self.device)

    # ---------------------------------------------------------------------------------------
    @property
    def ckpt_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    def _write_config(self) -> None:
        cfg = self.cfg.to_json()
        cfg["out"] = str(self.run_dir)
        record = {**cfg, "model_config": dataclasses.asdict(self.model_cfg), "dataset": self.plan.record,
                  "task": self.task.name, "world_size": self.dist.world_size,
                  "hardware": {"device": describe_device(self.device), "precision": describe_precision(self.precision)}}
        atomic_write_json(self.run_dir / "config.json", record)

    def _save(self, name: str) -> None:
        if self.dist.is_main:
            state = {**self.state, "rng": rng_state(), "scaler": self.precision.state_dict()}
            task_tensors = self.task.state_tensors() if hasattr(self.task, "state_tensors") else None
            save_checkpoint(self.ckpt_dir, name, self.model.state_dict(), self.optimizers, state, task_tensors)

    def _restore(self) -> None:
        # `last`, or `previous` when `last` is damaged (said on stderr); metrics.jsonl is cut below to
        # the lines of whichever was loaded
        model_state, optim_states, state, _ = load_latest_checkpoint(self.ckpt_dir)
        self.model.load_state_dict(model_state)
        for key, opt in self.optimizers.items():
            opt.load_state_dict(optim_states[key])
            match_param_layout(opt)
        set_rng_state(state.pop("rng"))
        self.precision.load_state_dict(state.pop("scaler", {}))
        task_tensors = state.pop("task_tensors", {})
        if hasattr(self.task, "load_state_tensors"):
            self.task.load_state_tensors(task_tensors, self.device)
        self.state.update(state)
        metrics = self.run_dir / "metrics.jsonl"
        if self.dist.is_main and metrics.exists():  # drop lines written after the checkpoint
            lines = metrics.read_text().splitlines(keepends=True)[: self.state["metrics_lines"]]
            metrics.write_text("".join(lines))

    def _log_metrics(self, record: dict[str, Any]) -> None:
        if not self.dist.is_main:
            return
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        self.state["metrics_lines"] += 1
        if self.tb is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key not in ("epoch", "elapsed_s"):
                    self.tb.add_scalar(f"{record['split']}/{key}", value, record["epoch"])

    def evaluate(self, split: str) -> dict[str, Any]:
        self.model.eval()
        try:
            with self.precision.autocast():
                return self.task.evaluate(self.model, self.eval_batches[split].epoch(0))
        finally:
            self.model.train()

    def _elapsed(self) -> float:
        return self.state["elapsed_s"] + (time.perf_counter() - self._t0)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stop_reason = "interrupted"

    # ---------------------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        cfg = self.cfg
        self.tb = None
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.resume:
                self._restore()
                self._write_config()  # what the run goes on with: a new device, more epochs, another time limit
            else:
                self._write_config()
                self.plan.save(self.run_dir)
            if cfg.tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter
                except ImportError:
                    raise ConfigError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
                self.tb = SummaryWriter(str(self.run_dir / "tensorboard"))
        elif self.resume:
            self._restore()
        distributed.barrier(self.dist)
        self._t0 = time.perf_counter()
        previous = signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._loop()
            return self._finish()
        finally:
            signal.signal(signal.SIGINT, previous)
            if self.tb is not None:
                self.tb.close()

    def _loop(self) -> None:
        cfg, st = self.cfg, self.state
        set_progress = getattr(self.task, "set_progress", None)  # tasks whose loss follows the schedule (KL warm-up)
        averaged = tuple(getattr(self.task, "train_metrics", ()))  # figures logged as epoch means (a split "train")
        self.model.train()
        while st["epoch"] < cfg.epochs:
            epoch = st["epoch"]
            self.progress.start_epoch(epoch, st["step"])
            for batch in self.train_batches.epoch(epoch, st["step"]):
                self.schedule.set(st["global_step"])
                if set_progress is not None:
                    set_progress(st["global_step"] / len(self.train_batches))
                with self.precision.autocast():
                    out = self.task.train_step(self.net, batch, self.optimizers, cfg, self.precision)
                loss = float(out["loss"])
                if not math.isfinite(loss):
                    raise TrainingDiverged(
                        f"loss became {loss} at epoch {epoch + 1} step {st['step'] + 1}; lower --lr or set "
                        f"grad_clip (--set grad_clip=1.0); the last good checkpoint is kept in {self.ckpt_dir}"
                    )
                if averaged:  # one sum per figure, kept in the state so that a resumed epoch's means are exact
                    sums = st["train_sums"]
                    values = torch.stack([out[key].detach().float() for key in averaged]).tolist()  # one copy
                    for key, value in zip(averaged, values, strict=True):
                        sums[key] = sums.get(key, 0.0) + value
                st["step"] += 1
                st["global_step"] += 1
                self.progress.update(st["step"] - 1, loss, self.train_batches.batch_size)
                timed_out = cfg.max_time > 0 and self._elapsed() >= cfg.max_time
                if distributed.broadcast_flag(self.dist, self._stop_reason is not None or timed_out):
                    self._stop_reason = self._stop_reason or "max_time"
                    break
            else:
                st["epoch"] += 1
                st["step"] = 0
                self._end_epoch()
                continue
            st["elapsed_s"] = self._elapsed()
            self._t0 = time.perf_counter()
            self._save("last")
            self.progress.end_epoch(f"stopped ({self._stop_reason}) at epoch {epoch + 1} step {st['step']}; "
                                    f"resume with: archzoo train --resume {self.run_dir}")
            return

    def _end_epoch(self) -> None:
        st = self.state
        split = "val" if "val" in self.eval_batches else "test"
        record: dict[str, Any] = {}
        if st["train_sums"]:  # the epoch's means of the task's train_metrics (this process's batches)
            steps = len(self.train_batches)
            self._log_metrics({"epoch": st["epoch"], "split": "train", "elapsed_s": round(self._elapsed(), 3),
                               **{key: total / steps for key, total in st["train_sums"].items()}})
            st["train_sums"] = {}
        healthy, stop = True, None
        if self.dist.is_main and split in self.eval_batches:
            metrics = self.evaluate(split)
            self._evaluated[(st["epoch"], split)] = metrics
            record = {"epoch": st["epoch"], "split": split, "elapsed_s": round(self._elapsed(), 3), **metrics}
            self._log_metrics(record)
            healthy, stop = self._check_health(metrics)
            value = record[self.task.best_metric]  # a metric, or "epoch": the latest evaluation is best
            better = st["best"] is None or (value > st["best"] if self.task.higher_is_better else value < st["best"])
            if better:
                st["best"] = value
                st["best_epoch"] = st["epoch"]
        if distributed.broadcast_flag(self.dist, stop is not None):  # every process stops, before the checkpoint
            raise TrainingDiverged(stop or "the run's first process found the evaluation unhealthy (its message "
                                           "says why)")
        st["elapsed_s"] = self._elapsed()
        self._t0 = time.perf_counter()
        self._save("last")
        if self.dist.is_main and st.get("best_epoch") == st["epoch"]:
            self._save("best")
        if self.dist.is_main and healthy and hasattr(self.task, "unhealthy"):
            st["healthy_epoch"] = st["epoch"]
            self._save("healthy")
        distributed.barrier(self.dist)
        shown = {k: v for k, v in record.items() if isinstance(v, float) and k != "elapsed_s"}
        text = " ".join(f"{k} {v:.4f}" for k, v in shown.items())
        self.progress.end_epoch(f"epoch {st['epoch']}/{self.cfg.epochs} {record.get('split', '')} {text} "
                                f"({st['elapsed_s']:.1f}s)")

    def _check_health(self, metrics: dict[str, Any]) -> tuple[bool, str | None]:
        """Whether the task finds this evaluation healthy, and, after ``unhealthy_patience`` unhealthy ones in
        a row, the message the run stops with (before this epoch's checkpoint is written)."""
        unhealthy = getattr(self.task, "unhealthy", None)
        problem = unhealthy(metrics) if unhealthy is not None else None
        st = self.state
        st["unhealthy"] = st["unhealthy"] + 1 if problem else 0
        if problem and 0 < self.cfg.unhealthy_patience <= st["unhealthy"]:
            kept = (f"the last healthy epoch ({st['healthy_epoch']}) is kept in {self.ckpt_dir / 'healthy'}.*"
                    if st["healthy_epoch"] is not None else "no evaluation was healthy")
            return False, (f"{problem} at {st['unhealthy']} evaluations in a row (epoch {st['epoch']}); {kept}; "
                           "to go on regardless, resume with --set unhealthy_patience=0")
        return not problem, None

    def _finish(self) -> dict[str, Any]:
        st = self.state
        summary: dict[str, Any] = {}
        if self.dist.is_main:
            final: dict[str, dict[str, Any]] = {}
            if self._stop_reason is None:
                for split in self.eval_batches:
                    known = self._evaluated.get((st["epoch"], split))  # the last epoch's evaluation, if any
                    metrics = known if known is not None else self.evaluate(split)
                    final[split] = metrics
                    if known is None:
                        self._log_metrics({"epoch": st["epoch"], "split": split,
                                           "elapsed_s": round(self._elapsed(), 3), **metrics})
                self._save("last")
                final_metrics = getattr(self.task, "final_metrics", None)  # e.g. a generator's samples, judged
                if final_metrics is not None:
                    for split, metrics in final_metrics(self.model, self.cfg).items():
                        final[split] = metrics
                        self._log_metrics({"epoch": st["epoch"], "split": split,
                                           "elapsed_s": round(self._elapsed(), 3), **metrics})
            summary = {
                "model": self.cfg.model, "data": self.cfg.data, "task": self.task.name,
                "params": count_params(self.model), "epochs_done": st["epoch"],
                "device": self.cfg.device, "precision": self.cfg.precision,
                "completed": self._stop_reason is None, "stop_reason": self._stop_reason,
                "wall_time_s": round(self._elapsed(), 3),
                "train_samples_per_s": round(st["epoch"] * len(self.train_batches) * self.train_batches.batch_size
                                             / max(self._elapsed(), 1e-9), 1),
                "best": {"metric": self.task.best_metric, "value": st["best"], "epoch": st.get("best_epoch")},
                "metrics": final, "run_dir": str(self.run_dir),
            }
            summary_extras = getattr(self.task, "summary_extras", None)  # e.g. the baselines of the same evaluation
            if summary_extras is not None and self._stop_reason is None:
                summary.update(summary_extras())
            atomic_write_json(self.run_dir / "summary.json", summary)
        distributed.barrier(self.dist)
        return summary


def match_param_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give each restored state tensor its parameter's memory layout (a checkpoint stores them contiguous;
    a channels_last convolution's weight is not). The fused optimizers walk the parameter, its gradient and
    its state as flat memory, so a state tensor in another layout would be paired with the wrong weights."""
    for param, state in optimizer.state.items():
        for name, value in state.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                state[name] = torch.empty_like(param, dtype=value.dtype).copy_(value)


# ---- the functions the CLI calls ---------------------------------------------------------------

def _default_run_dir(cfg: TrainConfig) -> Path:
    return Path("runs") / f"{cfg.model}-{cfg.data}-{time.strftime('%Y%m%d-%H%M%S')}"


def is_run_dir(path: Path) -> bool:
    """A run directory: config.json and a checkpoint to resume from (last, or previous if last is lost)."""
    checkpoints = path / "checkpoints"
    return (path / "config.json").is_file() and any(
        (checkpoints / f"{name}.json").is_file() for name in ("last", "previous"))


def train(cfg: TrainConfig, *, progress: bool = True) -> dict[str, Any]:
    """Train a new run into ``cfg.out`` (or runs/<model>-<data>-<time>); returns the summary."""
    run_dir = Path(cfg.out) if cfg.out else _default_run_dir(cfg)
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        hint = f"; to continue it: archzoo train --resume {run_dir}" if is_run_dir(run_dir) else ""
        raise RunDirError(f"run directory {run_dir} is not empty; choose another --out{hint}")
    cfg.out = str(run_dir)
    trainer = Trainer(cfg, run_dir, progress=progress)
    try:
        return trainer.fit()
    finally:
        distributed.shutdown(trainer.dist)


def resume(run_dir: Path, *, progress: bool = True, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Continue the run in ``run_dir`` from its last checkpoint, exactly where it stopped."""
    if not is_run_dir(run_dir):
        raise RunDirError(f"{run_dir} is not an archzoo run directory (no config.json, or no checkpoint in "
                          f"{run_dir / 'checkpoints'}); pass the --out directory of an earlier `archzoo train`")
    cfg = TrainConfig.load(run_dir / "config.json")
    for key, value in (overrides or {}).items():  # e.g. more epochs, a new time limit
        setattr(cfg, key, value)
    trainer = Trainer(cfg, run_dir, resume=True, progress=progress)
    try:
        return trainer.fit()
    finally:
        distributed.shutdown(trainer.dist)


def evaluate_run(run_dir: Path, *, data: str | None = None, split: str = "test",
                 checkpoint: str = "last", data_root: str | None = None, device: str = "auto",
                 precision: str | None = None) -> dict[str, Any]:
    """Evaluate the weights of a run (its last or best checkpoint) on a split of its data or another.

    ``precision`` defaults to the run's own (so the figures match its summary.json), or fp32 where
    that cannot run on ``device`` (an fp16 run evaluated without CUDA).
    """
    if not (run_dir / "config.json").is_file():
        raise RunDirError(f"{run_dir} is not an archzoo run directory (no config.json)")
    cfg = TrainConfig.load(run_dir / "config.json")
    if data is not None:
        cfg.data = data
    if data_root is not None:
        cfg.data_root = data_root
    ds = load_data(cfg)
    task = tasks.make_task(cfg.objective or model_card(cfg.model).task, ds)
    plan = task.plan(ds, cfg, run_dir)
    model, _ = build_model(cfg, plan)
    try:
        state, _, _ = load_checkpoint(run_dir / "checkpoints", checkpoint)
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"the checkpoint does not fit {cfg.model} on {cfg.data}: {first}") from None
    target = resolve_device(device)
    if precision is None:
        precision = "fp32" if cfg.precision == "fp16" and target.type != "cuda" else cfg.precision
    name, reason = resolve_precision(precision, target)
    _, evals = plan.batches(cfg, target)
    if split not in evals:
        raise ConfigError(f"{cfg.data} has no split {split!r} to evaluate; choose one of: {', '.join(evals)}")
    model.to(target)
    if plan.channels_last:  # the layout the run trained and evaluated in
        model.to(memory_format=torch.channels_last)
    check_fits(plan, model, next(evals[split].epoch(0)), cfg.data)
    model.eval()
    with Precision(name, target, reason).autocast():
        metrics = task.evaluate(model, evals[split].epoch(0))
    return {"model": cfg.model, "data": cfg.data, "split": split, "checkpoint": checkpoint,
            "device": target.type, "precision": name, **metrics}
