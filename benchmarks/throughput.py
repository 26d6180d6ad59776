"""Training-step throughput (images/s): forward + backward + optimizer step, median of repeats.

    python benchmarks/throughput.py lenet5_modern --input 1,28,28 --batch-size 64 \
        --variants plain channels_last compile channels_last+compile --out lenet5_modern_throughput
    python benchmarks/throughput.py resnet18 mobilenet_v2 --input 3,64,64 --batch-size 32 --torchvision

With --torchvision (and torchvision installed), torchvision's implementation of the same
architecture is measured in the same process, interleaved with archzoo's, and the ratio reported.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

import archzoo
from _common import git_commit, load_average, machine, median, stamp, write_result


def step_rate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, repeats: int,
              compiled: bool = False) -> float:
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    net = torch.compile(model) if compiled else model

    def run(n: int) -> None:
        for _ in range(n):
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    run(3 if not compiled else 6)  # warm-up (and compilation)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(steps)
        rates.append(steps * len(x) / (time.perf_counter() - t0))
    return median(rates)


def build(name: str, shape: tuple[int, ...], num_classes: int) -> torch.nn.Module:
    card = archzoo.model_card(name)
    overrides = {}
    if hasattr(card.config, "in_channels"):
        overrides["in_channels"] = shape[0]
    if hasattr(card.config, "num_classes"):
        overrides["num_classes"] = num_classes
    return archzoo.create_model(name, **overrides)


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
        for variant in args.variants:
            cl = "channels_last" in variant
            model = build(name, shape, args.num_classes)
            xb = x.contiguous(memory_format=torch.channels_last) if cl else x
            if cl:
                model = model.to(memory_format=torch.channels_last)
            row[variant] = step_rate(model, xb, y, args.steps, args.repeats, compiled="compile" in variant)
            if args.torchvision:
                import torchvision

                tv_name = archzoo.model_card(name).torchvision_name
                if tv_name:
                    tv = torchvision.models.get_model(tv_name, num_classes=args.num_classes)
                    if cl:
                        tv = tv.to(memory_format=torch.channels_last)
                    row[f"torchvision {variant}"] = step_rate(tv, xb, y, args.steps, args.repeats,
                                                              compiled="compile" in variant)
                    row[f"ratio {variant}"] = row[variant] / row[f"torchvision {variant}"]
        rows.append(row)
        print(row, flush=True)
    cols = [k for k in rows[0] if k != "model"]
    lines = [f"# Training-step throughput, input {args.input}, batch {args.batch_size}\n",
             f"Measured {stamp()} at commit {git_commit()} on {machine()} (load average {load_average():.1f}) by",
             f"`python benchmarks/throughput.py {' '.join(args.models)} --input {args.input} --batch-size "
             f"{args.batch_size} --variants {' '.join(args.variants)}{' --torchvision' if args.torchvision else ''}`."
             " Images/s of forward + backward + SGD step, median of "
             f"{args.repeats} repeats of {args.steps} steps.\n",
             "| model | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for r in rows:
        cells = [f"{r[c]:.2f}" if str(c).startswith("ratio") else f"{r[c]:,.0f}" for c in cols]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    print(write_result(args.out, "\n".join(lines) + "\n", rows))


if __name__ == "__main__":
    main()
