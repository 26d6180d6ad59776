"""Training-step throughput (images/s): forward + backward + optimizer step, median of repeats.

    python benchmarks/throughput.py lenet5_modern --input 1,28,28 --batch-size 64 \
        --variants plain channels_last compile channels_last+compile --out lenet5_modern_throughput
    python benchmarks/throughput.py resnet18 mobilenet_v2 --input 3,64,64 --batch-size 32 --torchvision

With --torchvision (and torchvision installed), torchvision's implementation of the same
architecture is measured in the same process, its repeats alternating with archzoo's, and the
ratio reported; models torchvision lacks get empty torchvision cells.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch
import torch.nn.functional as F

import archzoo
from _common import git_commit, load_average, machine, median, stamp, write_result
from archzoo.engine.precision import Precision


def stepper(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, compiled: bool = False,
            precision: Precision | None = None):
    """A function running n training steps of ``model`` (warmed up, and compiled if asked), in the
    engine's way for ``precision`` (autocast around forward and loss, its optimizer step)."""
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    net = torch.compile(model) if compiled else model
    precision = precision or Precision("fp32")

    def run(n: int) -> None:
        for _ in range(n):
            with precision.autocast():
                loss = F.cross_entropy(net(x), y)
            precision.optimize(loss, model, opt)

    run(3 if not compiled else 6)  # warm-up (and compilation)
    return run


def step_rates(runners: dict[str, object], batch: int, steps: int, repeats: int) -> dict[str, float]:
    """Median images/s of each runner; repeats alternate between the runners (and their order), so
    that a slow patch of the machine hits all of them alike."""
    rates: dict[str, list[float]] = {k: [] for k in runners}
    order = list(runners)
    for r in range(repeats):
        for key in order if r % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            runners[key](steps)
            rates[key].append(steps * batch / (time.perf_counter() - t0))
    return {k: median(v) for k, v in rates.items()}


def build(name: str, shape: tuple[int, ...], num_classes: int) -> torch.nn.Module:
    card = archzoo.model_card(name)
    overrides = {}
    if hasattr(card.config, "in_channels"):
        overrides["in_channels"] = shape[0]
    if hasattr(card.config, "num_classes"):
        overrides["num_classes"] = num_classes
    overrides.update(size_overrides(name, shape))
    return archzoo.create_model(name, **overrides)


def size_overrides(name: str, shape: tuple[int, ...]) -> dict[str, int]:
    """ViTs are built for one image size (their position embeddings): set it to the input's."""
    card = archzoo.model_card(name)
    if getattr(card.config, "image_size", None) not in (None, shape[-1]) and card.family == "vit":
        return {"image_size": shape[-1]}
    return {}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("models", nargs="+")
    p.add_argument("--input", default="3,64,64")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--variants", nargs="+", default=["plain", "channels_last"])
    p.add_argument("--torchvision", action="store_true")
    p.add_argument("--out", default="throughput")
    args = p.parse_args()
    shape = tuple(int(v) for v in args.input.split(","))
    torch.manual_seed(0)
    x = torch.randn(args.batch_size, *shape)
    y = torch.randint(0, args.num_classes, (args.batch_size,))
    rows = []
    for name in args.models:
        row: dict[str, object] = {"model": name}
        tv_name = archzoo.model_card(name).torchvision_name if args.torchvision else None
        for variant in args.variants:
            cl = "channels_last" in variant
            compiled = "compile" in variant
            model = build(name, shape, args.num_classes)
            xb = x.contiguous(memory_format=torch.channels_last) if cl else x
            if cl:
                model = model.to(memory_format=torch.channels_last)
            runners = {variant: stepper(model, xb, y, compiled)}
            if tv_name:
                import torchvision

                tv = torchvision.models.get_model(tv_name, num_classes=args.num_classes,
                                                  **size_overrides(name, shape))
                if cl:
                    tv = tv.to(memory_format=torch.channels_last)
                runners[f"torchvision {variant}"] = stepper(tv, xb, y, compiled)
            row.update(step_rates(runners, args.batch_size, args.steps, args.repeats))
            if tv_name:
                row[f"ratio {variant}"] = row[variant] / row[f"torchvision {variant}"]
            del runners, model
        rows.append(row)
        print(row, flush=True)
    cols = list(dict.fromkeys(k for r in rows for k in r if k != "model"))
    lines = [f"# Training-step throughput, input {args.input}, batch {args.batch_size}\n",
             f"Measured {stamp()} at commit {git_commit()} on {machine()} (load average {load_average():.1f}) by",
             f"`python benchmarks/throughput.py {' '.join(sys.argv[1:])}`."
             " Images/s of forward + backward + SGD step, median of "
             f"{args.repeats} repeats of {args.steps} steps.\n",
             "| model | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for r in rows:
        cells = ["" if c not in r else f"{r[c]:.2f}" if c.startswith("ratio") else f"{r[c]:,.0f}" for c in cols]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    for c in (c for c in cols if c.startswith("ratio")):
        ratios = [r[c] for r in rows if c in r]
        geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
        lines.append(f"\n{c}: geometric mean {geo:.3f} over {len(ratios)} models (min {min(ratios):.2f}, "
                     f"max {max(ratios):.2f}).")
    print(write_result(args.out, "\n".join(lines) + "\n", rows))


if __name__ == "__main__":
    main()
