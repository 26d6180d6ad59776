"""Numeric precision, in one place: which one a run uses, autocast, and the gradient scaler.

``--precision`` takes ``fp32`` (the default), ``bf16``, ``fp16`` or ``auto``:

- ``bf16`` and ``fp16`` are mixed precision: the forward pass and the loss run under
  ``torch.autocast`` (matrix products and convolutions in 16 bits, reductions and norms in fp32),
  while the weights, their gradients and the optimizer states stay fp32 ("master weights"), and so
  do checkpoints. ``fp16`` needs CUDA and a gradient scaler (its range is too narrow for small
  gradients); the scaler's state is checkpointed with the run. bf16 has fp32's range and needs none.
- ``auto`` is fp32 where the device has no native bf16 (archzoo.engine.device.native_bf16). Where
  it has, whether bf16 pays depends on the model and on the machine, and no rule of thumb predicts
  it (benchmarks/precision.py, README): on one AVX512_BF16 CPU, resnet20 ran 1.7x faster in bf16
  and mobilenet_v3_small 2x slower (its hardswish and squeeze-excite layers run slower in bf16
  than the convolutions gain); lenet5_modern gained on one CPU generation and lost on another. So
  ``auto`` measures: before training, the engine times a few training steps of copies of the model
  in fp32 and in bf16 on the first batch (:func:`time_steps`) and takes bf16 only when its step is
  at least :data:`AUTO_MIN_SPEEDUP` times faster. The choice, and the two times, are recorded.

The engine builds one :class:`Precision` per run: it wraps every task's ``train_step`` and
``evaluate`` in :meth:`Precision.autocast`, and tasks step their optimizers through
:meth:`Precision.optimize` (which scales the loss for fp16). Tasks never call autocast themselves.
"""

from __future__ import annotations

import contextlib
import statistics
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from archzoo.engine.config import ConfigError
from archzoo.engine.device import NATIVE_BF16_CPU_FLAGS, native_bf16

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

# `auto` takes bf16 when a measured bf16 step is at least this much faster than fp32: the margin
# keeps timing noise from choosing a precision that is not really faster
AUTO_MIN_SPEEDUP = 1.05


class _CpuAttentionInFp32(TorchFunctionMode):
    """Scaled dot-product attention in fp32 under CPU autocast.

    torch's CPU attention kernels are slower in bf16 than in fp32: with ViT-Ti's shapes (batch 32,
    3 heads, 17 tokens of 64) forward + backward took 3.5 ms in bf16 against 0.7 ms in fp32, and
    the bf16 attention backward was 30% of a whole bf16 training step (benchmarks/precision.py,
    README). So the attention core runs in fp32, on its bf16 inputs widened; its output is given
    back in the autocast dtype, as autocast itself would. Only the forward's Python calls pass
    through this mode; backward runs in C++ and follows the fp32 the forward recorded.
    """

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if func is not F.scaled_dot_product_attention or not torch.is_autocast_enabled("cpu"):
            return func(*args, **kwargs)
        dtype = torch.get_autocast_dtype("cpu")
        wide = [a.float() if isinstance(a, Tensor) and a.is_floating_point() else a for a in args]
        mask = kwargs.get("attn_mask")
        if isinstance(mask, Tensor) and mask.is_floating_point():
            kwargs = {**kwargs, "attn_mask": mask.float()}
        with torch.autocast("cpu", enabled=False):
            return func(*wide, **kwargs).to(dtype)


class PrecisionWarning(UserWarning):
    """A precision that will run, but slowly (bf16 emulated on a CPU without bf16 instructions)."""


def resolve_precision(requested: str, device: torch.device,
                      measure: Callable[[], dict[str, float]] | None = None) -> tuple[str, str]:
    """``(precision, reason)`` for ``--precision requested`` on ``device``.

    ``measure`` returns the seconds of one training step in ``fp32`` and ``bf16``; it decides
    ``auto`` where bf16 is native (without it, ``auto`` there is bf16).
    """
    name = requested.strip().lower()
    if name not in PRECISIONS:
        raise ConfigError(f"unknown precision {requested!r}; choose one of: {', '.join(PRECISIONS)}")
    native = native_bf16(device)
    if name == "fp16":
        if device.type != "cuda":
            raise ConfigError("--precision fp16: fp16 autocast needs a CUDA device; on the CPU use --precision bf16 "
                              "(or auto)")
        return "fp16", "asked for"
    if name == "bf16":
        if device.type == "cuda" and not native:
            raise ConfigError(f"--precision bf16: {torch.cuda.get_device_name(device)} has no bf16; "
                              "use --precision fp16 (or auto)")
        if not native:
            warnings.warn(f"--precision bf16 on a CPU without {' or '.join(NATIVE_BF16_CPU_FLAGS)}: bf16 is emulated "
                          "and training will be much slower than fp32; --precision auto picks fp32 here",
                          PrecisionWarning, stacklevel=2)
        return "bf16", "asked for"
    if name == "fp32":
        return "fp32", "asked for"
    if not native:
        where = "this GPU" if device.type == "cuda" else "this CPU"
        return "fp32", f"auto: no native bf16 on {where}"
    if measure is None:
        return "bf16", "auto: native bf16"
    seconds = measure()
    speedup = seconds["fp32"] / seconds["bf16"]
    measured = (f"a training step took {1e3 * seconds['bf16']:.1f} ms in bf16, {1e3 * seconds['fp32']:.1f} ms "
                f"in fp32: {speedup:.2f}x")
    if speedup >= AUTO_MIN_SPEEDUP:
        return "bf16", f"auto: {measured}"
    return "fp32", f"auto: {measured}, below the {AUTO_MIN_SPEEDUP:.2f}x that bf16 must gain"


def time_steps(runners: dict[str, Callable[[], None]], device: torch.device, repeats: int = 5,
               budget_s: float = 30.0) -> dict[str, float]:
    """Median seconds per call of each runner (one training step each): one warm-up call each,
    then up to ``repeats`` timed rounds that alternate the runners (so that a slow moment of the
    machine hits all of them alike), fewer when the warm-up shows they would pass ``budget_s``."""

    def timed(run: Callable[[], None]) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - t0

    warm = sum(timed(run) for run in runners.values())
    rounds = max(1, min(repeats, int(budget_s / max(warm, 1e-9))))
    times: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(timed(runners[name]))
    return {name: statistics.median(t) for name, t in times.items()}


@dataclass
class Precision:
    """A resolved precision on a device: the autocast context and the optimizer step to match."""

    name: str = "fp32"
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    reason: str = ""

    def __post_init__(self) -> None:
        if self.name not in DTYPES:
            raise ConfigError(f"unknown precision {self.name!r}; choose one of: {', '.join(DTYPES)}")
        self.scaler: torch.amp.GradScaler | None = (
            torch.amp.GradScaler(self.device.type) if self.name == "fp16" else None
        )

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.name]

    @property
    def mixed(self) -> bool:
        return self.name != "fp32"

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The context the forward pass and loss run in (a no-op for fp32)."""
        if not self.mixed:
            return contextlib.nullcontext()
        stack = contextlib.ExitStack()
        stack.enter_context(torch.autocast(self.device.type, dtype=self.dtype))
        if self.device.type == "cpu":
            stack.enter_context(_CpuAttentionInFp32())
        return stack

    @contextlib.contextmanager
    def _no_autocast(self) -> Iterator[None]:
        # backward runs outside autocast: its ops follow the dtypes the forward pass saved
        if self.mixed:
            with torch.autocast(self.device.type, enabled=False):
                yield
        else:
            yield

    def optimize(self, loss: Tensor, model: nn.Module | Sequence[nn.Module],
                 optimizer: torch.optim.Optimizer | Sequence[torch.optim.Optimizer], grad_clip: float = 0.0) -> None:
        """backward, optional gradient-norm clipping, step; gradients are freed (set to None) first.

        ``model`` and ``optimizer`` may be equally long sequences (a GAN's several discriminators): one
        backward of ``loss``, then each model's gradients clipped on their own and each optimizer stepped.
        With fp16 the loss is scaled before backward and the gradients unscaled before clipping;
        a step whose gradients overflowed is skipped and the scale lowered (torch.amp.GradScaler).
        """
        models = list(model) if isinstance(model, Sequence) else [model]
        optimizers = list(optimizer) if isinstance(optimizer, Sequence) else [optimizer]
        if len(models) != len(optimizers):
            raise ValueError(f"{len(models)} models for {len(optimizers)} optimizers: give one optimizer per model")
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        with self._no_autocast():
            if self.scaler is None:
                loss.backward()
                for net, opt in zip(models, optimizers, strict=True):
                    if grad_clip > 0:
                        nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
                    opt.step()
                return
            self.scaler.scale(loss).backward()
            for net, opt in zip(models, optimizers, strict=True):
                if grad_clip > 0:
                    self.scaler.unscale_(opt)
                    nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
                self.scaler.step(opt)
            self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        """The scaler's state (plain numbers, for the checkpoint's JSON); empty without a scaler."""
        if self.scaler is None:
            return {}
        return {k: (float(v) if isinstance(v, float) else v) for k, v in self.scaler.state_dict().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


def describe(precision: Precision) -> str:
    return f"{precision.name} ({precision.reason})" if precision.reason else precision.name


__all__ = ["AUTO_MIN_SPEEDUP", "DTYPES", "PRECISIONS", "Precision", "PrecisionWarning", "describe",
           "resolve_precision", "time_steps"]
