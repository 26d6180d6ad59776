"""Speed of the reference LSTM and MultiHeadAttention next to torch's kernels, forward + backward on CPU.

    python benchmarks/reference_kernels.py [--runs 7] [--threads 1] [--no-compile]
        [--out docs/results/reference_kernels.md]

Sequence 256, batch 32, hidden (embed) 256. Every variant is timed in the same process, the variants
interleaved run by run, and the table reports each one's median time and its ratio to torch's
(only ratios are meaningful on a shared machine). Targets: LSTM within 2x of nn.LSTM, MultiHeadAttention
within 1.2x of nn.MultiheadAttention.

LSTM variants: the plain reference (input projections for all steps in one matmul, a Python loop
over time for the recurrence, autograd for the backward), the same recurrence compiled by
TorchScript, the recurrence with its backward pass through time written by hand
(recurrent.lstm_recurrence_bptt), and a Python loop over a torch.compile'd cell step.

MultiHeadAttention variants: the reference module (eq. 1 written out, a block of heads at a time) with
and without the attention weights returned, each against nn.MultiheadAttention in the same mode, and the
reference module under torch.compile.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

import archzoo.nn as ann
from archzoo.nn import recurrent

T, B, H = 256, 32, 256
HEADS = 8


def _time(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _lstm_step_fn(model: nn.Module, x: Tensor) -> Callable[[], None]:
    def run() -> None:
        model.zero_grad(set_to_none=True)
        out, (_, c) = model(x)
        (out.sum() + c.sum()).backward()

    return run


def _compiled_step_recurrence() -> recurrent.Recurrence:
    step = torch.compile(recurrent.lstm_step, dynamic=False)

    def run(xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        outputs = []
        for gx in xp.unbind(0):
            h, c = step(gx, h, c, w_hh)
            outputs.append(h)
        return torch.stack(outputs), h, c

    return run


def lstm_variants(use_compile: bool) -> tuple[dict[str, Callable[[], None]], Callable[[], None]]:
    torch.manual_seed(0)
    x = torch.randn(T, B, H)
    ref = ann.LSTM(H, H)
    theirs = nn.LSTM(H, H)
    theirs.load_state_dict(ref.state_dict())
    variants = {"nn.LSTM (torch)": _lstm_step_fn(theirs, x), "reference LSTM": _lstm_step_fn(ref, x)}
    scripted = ann.LSTM(H, H)
    scripted.load_state_dict(ref.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated but still works
        scripted.recurrence = torch.jit.script(recurrent.lstm_recurrence)
    variants["reference LSTM, TorchScript recurrence"] = _lstm_step_fn(scripted, x)
    by_hand = ann.LSTM(H, H)
    by_hand.load_state_dict(ref.state_dict())
    by_hand.recurrence = recurrent.lstm_recurrence_bptt
    variants["reference LSTM, backpropagation through time by hand"] = _lstm_step_fn(by_hand, x)
    if use_compile:
        compiled = ann.LSTM(H, H)
        compiled.load_state_dict(ref.state_dict())
        compiled.recurrence = _compiled_step_recurrence()
        variants["reference LSTM, torch.compile'd cell step"] = _lstm_step_fn(compiled, x)

    def check() -> None:  # the variants compute the same thing
        with torch.no_grad():
            expected = theirs(x)[0]
            for model in (ref, scripted, by_hand):
                torch.testing.assert_close(model(x)[0], expected, atol=1e-4, rtol=1e-4)

    return variants, check


def _mha_fn(model: nn.Module, x: Tensor, need_weights: bool) -> Callable[[], None]:
    def run() -> None:
        model.zero_grad(set_to_none=True)
        out, _ = model(x, x, x, need_weights=need_weights)
        out.sum().backward()

    return run


def mha_variants(use_compile: bool) -> tuple[dict[str, Callable[[], None]], Callable[[], None]]:
    torch.manual_seed(0)
    x = torch.randn(B, T, H)
    ref = ann.MultiHeadAttention(H, HEADS, batch_first=True)
    theirs = nn.MultiheadAttention(H, HEADS, batch_first=True)
    theirs.load_state_dict(ref.state_dict())
    variants = {
        "nn.MultiheadAttention (torch), need_weights=False": _mha_fn(theirs, x, False),
        "reference MultiHeadAttention, need_weights=False": _mha_fn(ref, x, False),
        "nn.MultiheadAttention (torch), need_weights=True": _mha_fn(theirs, x, True),
        "reference MultiHeadAttention, need_weights=True": _mha_fn(ref, x, True),
    }
    if use_compile:
        compiled = torch.compile(ref, dynamic=False)
        variants["reference MultiHeadAttention, torch.compile, need_weights=False"] = _mha_fn(compiled, x, False)

    def check() -> None:
        with torch.no_grad():
            torch.testing.assert_close(ref(x, x, x)[0], theirs(x, x, x)[0], atol=1e-4, rtol=1e-4)

    return variants, check


def measure(variants: dict[str, Callable[[], None]], runs: int) -> dict[str, float]:
    for fn in variants.values():  # warm-up (and compilation) outside the timings
        fn()
        fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):  # interleaved, so a burst of load on the machine hits every variant alike
        for name, fn in variants.items():
            times[name].append(_time(fn))
    return {name: statistics.median(ts) for name, ts in times.items()}


def table(medians: dict[str, float], baseline: str, target: float) -> list[str]:
    base = medians[baseline]
    lines = ["| variant | median (s) | ratio to torch | target met |", "|---|---:|---:|:---:|"]
    for name, t in medians.items():
        ratio = t / base
        met = "-" if name == baseline else ("yes" if ratio <= target else "no")
        lines.append(f"| {name} | {t:.3f} | {ratio:.2f}x | {met} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (1: steadiest on a shared machine)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variants")
    parser.add_argument("--out", type=Path, default=Path("docs/results/reference_kernels.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    lstm, lstm_check = lstm_variants(not args.no_compile)
    lstm_check()
    lstm_medians = measure(lstm, args.runs)
    mha, mha_check = mha_variants(not args.no_compile)
    mha_check()
    mha_medians = measure(mha, args.runs)
    # the need_weights=True rows are compared with torch's need_weights=True path
    mha_false = {k: v for k, v in mha_medians.items() if "need_weights=False" in k}
    mha_true = {k: v for k, v in mha_medians.items() if "need_weights=True" in k}

    cmd = "python benchmarks/reference_kernels.py" + (" --no-compile" if args.no_compile else "")
    lines = [
        "# Reference kernels against torch's: forward + backward on CPU",
        "",
        f"Generated by `{cmd} --runs {args.runs} --threads {args.threads}`. torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, {args.threads} intra-op threads. Sequence {T}, batch {B}, "
        f"hidden/embed {H} ({HEADS} heads for attention), float32. Median of {args.runs} interleaved runs "
        "in one process; ratios are the figures to read (absolute times depend on the machine's load).",
        "",
        "## LSTM (target: within 2x of nn.LSTM)",
        "",
        *table(lstm_medians, "nn.LSTM (torch)", 2.0),
        "",
        "## MultiHeadAttention (target: within 1.2x of nn.MultiheadAttention)",
        "",
        *table(mha_false, "nn.MultiheadAttention (torch), need_weights=False", 1.2),
        "",
        "With the attention weights returned (need_weights=True; torch then takes its explicit softmax path):",
        "",
        *table(mha_true, "nn.MultiheadAttention (torch), need_weights=True", 1.2),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
