"""Time to 91.5% Fashion-MNIST test accuracy: the common reference recipe against archzoo's, side by side.

    python benchmarks/time_to_accuracy.py [--target 0.915] [--archzoo "lenet5_modern --recipe fast"]

Runs, one after the other on the same machine, (1) benchmarks/reference_mnist_example.py — PyTorch's
MNIST example network, Adadelta, StepLR, per-sample transforms through a DataLoader — for 3 epochs,
and (2) `archzoo train <archzoo args> --data fashion-mnist`. Reports each one's wall time to the
target (the reference evaluates after every epoch; archzoo's time is its whole run, evaluation
included, when its final test accuracy reaches the target) and the ratio. Writes
docs/results/time_to_accuracy.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import git_commit, load_average, machine, stamp, write_result

HERE = Path(__file__).resolve().parent


def reference(target: float) -> dict:
    cmd = [sys.executable, str(HERE / "reference_mnist_example.py"), "--epochs", "3", "--target", str(target)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    final = lines[-1]
    return {"epochs": lines[:-1], "time_to_target_s": final["time_to_target_s"],
            "final_accuracy": final["final_accuracy"], "process_wall_s": round(time.perf_counter() - t0, 2)}


def archzoo_run(args: str, target: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "archzoo.cli", "train", *shlex.split(args), "--data", "fashion-mnist",
               "--out", str(out), "--quiet"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - t0
        summary = json.loads((out / "summary.json").read_text())
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    acc = summary["metrics"]["test"]["accuracy"]
    curve = [(r["elapsed_s"], r["accuracy"]) for r in rows if r["split"] == "test"]
    reached = next((t for t, a in curve if a >= target), None)
    return {"final_accuracy": acc, "time_to_target_s": reached, "run_wall_s": summary["wall_time_s"],
            "process_wall_s": round(wall, 2), "epochs": summary["epochs_done"], "curve": curve}


def time_to(curve: list[tuple[float, float]], level: float) -> float | None:
    return next((t for t, a in curve if a >= level), None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--target", type=float, default=0.915)
    p.add_argument("--archzoo", default="lenet5_modern --recipe fast", help="model and flags for archzoo train")
    args = p.parse_args()
    ref = reference(args.target)
    print(json.dumps({"reference": ref}), flush=True)
    ours = archzoo_run(args.archzoo, args.target)
    print(json.dumps({"archzoo": ours}), flush=True)
    ratio = (ref["time_to_target_s"] / ours["time_to_target_s"]
             if ref["time_to_target_s"] and ours["time_to_target_s"] else None)
    # when the reference misses the target in its 3 epochs, compare at the accuracy it did reach
    ref_curve = [(e["elapsed_s"], e["test_accuracy"]) for e in ref["epochs"]]
    level = min(args.target, ref["final_accuracy"])
    ref_t, ours_t = time_to(ref_curve, level), time_to(ours["curve"], level)
    level_ratio = ref_t / ours_t if ref_t and ours_t else None
    fmt = lambda v: f"{v:.1f} s" if v is not None else "not reached"  # noqa: E731
    lines = [f"# Time to {100 * args.target:.1f}% Fashion-MNIST test accuracy\n",
             f"Measured {stamp()} at commit {git_commit()} on {machine()} (load average {load_average():.1f}) by",
             f"`python benchmarks/time_to_accuracy.py --archzoo \"{args.archzoo}\"`; both runs one after the other "
             "on the same machine. Times are wall seconds from the start of the run (data loading and evaluation "
             "included) to the end of the epoch whose test evaluation reached the target.\n",
             "| recipe | final test accuracy | time to target | whole process |", "|---|---:|---:|---:|",
             f"| reference: PyTorch MNIST example (Adadelta 1.0, StepLR 0.7, per-sample DataLoader), 3 epochs | "
             f"{100 * ref['final_accuracy']:.2f}% | {fmt(ref['time_to_target_s'])} | "
             f"{ref['process_wall_s']:.1f} s |",
             f"| archzoo: `archzoo train {args.archzoo} --data fashion-mnist` ({ours['epochs']} epochs) | "
             f"{100 * ours['final_accuracy']:.2f}% | {fmt(ours['time_to_target_s'])} | "
             f"{ours['process_wall_s']:.1f} s |",
             "", f"Ratio (reference time / archzoo time) to {100 * args.target:.1f}%: "
             f"{f'{ratio:.2f}x' if ratio else 'n/a (the reference did not reach it)'}. "
             f"To {100 * level:.2f}% (the lower of the target and the reference's final accuracy): reference "
             f"{fmt(ref_t)}, archzoo {fmt(ours_t)}, ratio {f'{level_ratio:.2f}x' if level_ratio else 'n/a'}.",
             "", "Reference epochs: " + "; ".join(f"epoch {e['epoch']}: {100 * e['test_accuracy']:.2f}% at "
                                                    f"{e['elapsed_s']:.1f} s" for e in ref["epochs"])]
    data = {"reference": ref, "archzoo": ours, "ratio": ratio, "level": level, "level_ratio": level_ratio,
            "archzoo_args": args.archzoo}
    print(write_result("time_to_accuracy", "\n".join(lines) + "\n", data))


if __name__ == "__main__":
    main()
