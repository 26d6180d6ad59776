"""Model summaries: per-layer output shapes, parameters and MACs; totals; memory.

``summarize`` runs one forward pass with hooks on the leaf modules (modules without children, and
modules that own parameters directly), so every parameter is counted exactly once.
``training_step_peak_memory`` measures, not estimates, the memory one forward + backward + SGD
step takes: on CUDA the allocator's peak; on Linux CPUs the process's peak resident set size,
reset just before the step (/proc/self/clear_refs) and read just after it.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from archzoo.registry import count_flops, count_params


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int


@dataclass
class Summary:
    model: str
    input_shape: tuple[int, ...]  # the first input's (a translation model's source ids)
    rows: list[LayerRow] = field(default_factory=list)
    params: int = 0
    trainable_params: int = 0
    macs: int = 0
    param_bytes_fp32: int = 0
    output_shape: tuple[int, ...] | None = None
    peak_train_step_bytes: int | None = None
    peak_method: str = ""
    more_inputs: tuple[tuple[int, ...], ...] = ()  # shapes of the inputs after the first (a target's ids)

    def table(self) -> str:
        head = f"{'layer':<44} {'type':<22} {'output shape':<22} {'params':>12} {'MACs':>15}"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            shape = "x".join(map(str, r.output_shape)) if r.output_shape else "-"
            lines.append(f"{r.name[:44]:<44} {r.kind[:22]:<22} {shape[:22]:<22} {r.params:>12,} {r.macs:>15,}")
        lines.append("-" * len(head))
        inputs = ", ".join("x".join(map(str, shape)) for shape in (self.input_shape, *self.more_inputs))
        lines.append(f"input {inputs}  ->  output "
                     f"{'x'.join(map(str, self.output_shape or ()))}")
        lines.append(f"parameters: {self.params:,} ({self.trainable_params:,} trainable); "
                     f"{self.param_bytes_fp32 / 2**20:,.2f} MiB at fp32")
        lines.append(f"forward MACs: {self.macs:,} ({self.macs / 1e9:.3f} G); FLOPs = 2 x MACs = {2 * self.macs:,}")
        if self.peak_train_step_bytes is not None:
            lines.append(f"peak memory of one training step (batch {self.input_shape[0]}): "
                         f"{self.peak_train_step_bytes / 2**20:,.1f} MiB ({self.peak_method})")
        return "\n".join(lines)


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    out = []
    for name, m in model.named_modules():
        if name and (not any(True for _ in m.children()) or any(True for _ in m.parameters(recurse=False))):
            out.append((name, m))
    return out


def summarize(model: nn.Module, x: torch.Tensor | tuple[torch.Tensor, ...], name: str = "") -> Summary:
    """Per-layer table of ``model`` on input ``x``, or on ``model(*x)`` for a tuple (eval mode, no gradients)."""
    inputs = x if isinstance(x, tuple) else (x,)
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = []
    for mod_name, m in _leaves(model):
        def hook(_m: nn.Module, _i: object, out: object, key: str = mod_name) -> None:
            t = out[0] if isinstance(out, (tuple, list)) else out
            if isinstance(t, torch.Tensor):
                shapes[key] = tuple(t.shape)
        hooks.append(m.register_forward_hook(hook))
    model.eval()
    try:
        with torch.no_grad():
            out = model(*inputs)
        flops = count_flops(model, *inputs)
    finally:
        for h in hooks:
            h.remove()
    s = Summary(model=name or type(model).__name__, input_shape=tuple(inputs[0].shape),
                more_inputs=tuple(tuple(t.shape) for t in inputs[1:]))
    for mod_name, m in _leaves(model):
        own = sum(p.numel() for p in m.parameters(recurse=False))
        if not any(True for _ in m.children()):
            own = sum(p.numel() for p in m.parameters())
        s.rows.append(LayerRow(mod_name, type(m).__name__, shapes.get(mod_name), own, flops.by_module.get(mod_name, 0)))
    s.params = count_params(model, trainable_only=False)
    s.trainable_params = count_params(model)
    s.param_bytes_fp32 = 4 * s.params
    s.macs = flops.macs
    o = out[0] if isinstance(out, tuple) else out
    s.output_shape = tuple(o.shape)
    return s


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise OSError(f"{key} not in /proc/self/status")


def training_step_peak_memory(model: nn.Module, x: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[int | None, str]:
    """Peak bytes above the starting point for one forward + backward + SGD step of ``model`` on ``x``
    (``model(*x)`` for a tuple).

    Returns (bytes, method) or (None, reason) where the platform cannot measure it.
    """
    inputs = x if isinstance(x, tuple) else (x,)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def step() -> None:
        out = model(*inputs)
        out = out[0] if isinstance(out, tuple) else out
        out.float().square().mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    if inputs[0].device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base, "CUDA allocator peak"
    clear_refs = Path("/proc/self/clear_refs")
    if not clear_refs.exists():
        return None, "not measurable on this platform"
    gc.collect()
    base = _status_kib("VmRSS")
    try:
        clear_refs.write_text("5")  # reset the peak resident set size (VmHWM) to the current RSS
    except OSError:
        return None, "cannot reset the peak RSS on this system"
    step()
    return (_status_kib("VmHWM") - base) * 1024, "peak resident memory above the start, measured"
