"""Draws each reference activation and its derivative (by autograd) into docs/figures/activations.png.

    python benchmarks/plot_activations.py [--out docs/figures/activations.png]

Needs matplotlib (a dev dependency). The curves come from archzoo.nn.functional, the very functions
that tests/nn/test_functional.py proves equal to torch's.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import Tensor

from archzoo.nn import functional as F

CURVES: list[tuple[str, Callable[[Tensor], Tensor]]] = [
    ("sigmoid  1/(1+e^-z)", F.sigmoid),
    ("tanh", F.tanh),
    ("relu  max(0, z)", F.relu),
    ("leaky_relu  a=0.1", lambda z: F.leaky_relu(z, 0.1)),
    ("PReLU  a=0.25", lambda z: F.prelu(z, torch.tensor([0.25], dtype=z.dtype))),
    ("elu  alpha=1", F.elu),
    ("swish  beta=1 (SiLU)", F.swish),
    ("swish  beta=4", lambda z: F.swish(z, 4.0)),
    ("gelu  exact", F.gelu),
    ("gelu  tanh approx.", lambda z: F.gelu(z, "tanh")),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/figures/activations.png"))
    args = parser.parse_args()
    z = torch.linspace(-4, 4, 801, dtype=torch.float64, requires_grad=True)
    fig, axes = plt.subplots(2, 5, figsize=(17, 6.5), sharex=True)
    for ax, (name, fn) in zip(axes.flat, CURVES, strict=True):
        y = fn(z)
        (dy,) = torch.autograd.grad(y.sum(), z)
        ax.plot(z.detach(), y.detach(), label="f(z)", lw=2)
        ax.plot(z.detach(), dy, label="f'(z)", lw=1.5, ls="--")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(name, fontsize=10)
        ax.set_ylim(-1.5, 4.0)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(loc="upper left")
    fig.suptitle("archzoo.nn.functional activations and their derivatives (autograd), z in [-4, 4]")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
