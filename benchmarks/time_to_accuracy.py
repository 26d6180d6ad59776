"""Time to 91.5% Fashion-MNIST test accuracy: the common reference recipe against archzoo's, side by side.

    python benchmarks/time_to_accuracy.py [--target 0.915] [--archzoo "lenet5_modern --recipe fast"] [--seeds 0 1 2]

Runs, one after the other on the same machine, (1) benchmarks/reference_mnist_example.py — PyTorch's
MNIST example network, Adadelta, StepLR, per-sample transforms through a DataLoader — for 3 epochs,
and (2) `archzoo train <archzoo args> --data fashion-mnist --seed S` for every seed. Both evaluate
the test split after every epoch. Reports each seed's final accuracy and wall time to the target,
the reference's time to its own final accuracy, and the ratio of that to the slowest seed's time.
The target holds only if every seed ends at the target or above and the slowest seed is at least
3x faster. Writes docs/results/time_to_accuracy.{md,json}.
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


def archzoo_run(args: str, target: float, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "archzoo.cli", "train", *shlex.split(args), "--data", "fashion-mnist",
               "--seed", str(seed), "--out", str(out), "--quiet"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - t0
        summary = json.loads((out / "summary.json").read_text())
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        config = json.loads((out / "config.json").read_text())
    curve = [(r["elapsed_s"], r["accuracy"]) for r in rows if r["split"] == "test"]
    return {"seed": seed, "final_accuracy": summary["metrics"]["test"]["accuracy"],
            "time_to_target_s": time_to(curve, target), "run_wall_s": summary["wall_time_s"],
            "process_wall_s": round(wall, 2), "epochs": summary["epochs_done"], "precision": config["precision"],
            "precision_reason": config["hardware"]["precision"], "curve": curve}


def time_to(curve: list[tuple[float, float]], level: float) -> float | None:
    return next((t for t, a in curve if a >= level), None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", type=float, default=0.915)
    p.add_argument("--archzoo", default="lenet5_modern --recipe fast", help="model and flags for archzoo train")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default="time_to_accuracy")
    args = p.parse_args()
    ref = reference(args.target)
    print(json.dumps({"reference": ref}), flush=True)
    runs = []
    for seed in args.seeds:
        runs.append(archzoo_run(args.archzoo, args.target, seed))
        print(json.dumps({"archzoo": runs[-1]}), flush=True)
    # the reference's own yardstick: the time it takes to reach the accuracy it ends at
    ref_curve = [(e["elapsed_s"], e["test_accuracy"]) for e in ref["epochs"]]
    ref_own = time_to(ref_curve, ref["final_accuracy"])
    times = [r["time_to_target_s"] for r in runs]
    slowest = None if None in times else max(times)
    ratio = ref_own / slowest if ref_own and slowest else None
    met = all(r["final_accuracy"] >= args.target for r in runs) and ratio is not None and ratio >= 3
    fmt = lambda v: f"{v:.1f} s" if v is not None else "not reached"  # noqa: E731
    pct = f"{100 * args.target:.1f}%"
    seeds = " ".join(map(str, args.seeds))
    lines = [f"# Time to {pct} Fashion-MNIST test accuracy, seeds {', '.join(map(str, args.seeds))}\n",
             f"Measured {stamp()} at commit {git_commit()} on {machine()} (load average {load_average():.1f}) by",
             f"`python benchmarks/time_to_accuracy.py --archzoo \"{args.archzoo}\" --seeds {seeds}`; the reference "
             "and every seed one after the other on the same machine. Times are wall seconds from the start of "
             "the run (data loading, the precision measurement of `--precision auto`, and evaluation included) to "
             "the end of the epoch whose test evaluation reached the accuracy.\n",
             f"| recipe | seed | precision | final test accuracy | time to {pct} | whole process |",
             "|---|---:|---|---:|---:|---:|",
             f"| reference: PyTorch MNIST example (Adadelta 1.0, StepLR 0.7, per-sample DataLoader), 3 epochs | "
             f"1 | fp32 | {100 * ref['final_accuracy']:.2f}% | {fmt(ref['time_to_target_s'])} "
             f"(to its final {100 * ref['final_accuracy']:.2f}%: {fmt(ref_own)}) | {ref['process_wall_s']:.1f} s |"]
    for r in runs:
        lines.append(f"| archzoo: `archzoo train {args.archzoo} --data fashion-mnist` ({r['epochs']} epochs) | "
                     f"{r['seed']} | {r['precision']} | {100 * r['final_accuracy']:.2f}% | "
                     f"{fmt(r['time_to_target_s'])} | {r['process_wall_s']:.1f} s |")
    lines += ["", f"Slowest seed to {pct}: {fmt(slowest)}; the reference to its own final accuracy: {fmt(ref_own)}; "
              f"ratio {f'{ratio:.2f}x' if ratio else 'n/a'}. Target (every seed ends at {pct} or more, and the "
              f"slowest is at least 3x faster than the reference to its final accuracy): "
              f"{'met' if met else 'missed'}.",
              "", "Reference epochs: " + "; ".join(f"epoch {e['epoch']}: {100 * e['test_accuracy']:.2f}% at "
                                                     f"{e['elapsed_s']:.1f} s" for e in ref["epochs"]),
              "", "Precision `auto` chose: " + "; ".join(f"seed {r['seed']}: {r['precision_reason']}" for r in runs)]
    data = {"reference": ref, "reference_time_to_own_final_s": ref_own, "archzoo": runs, "slowest_s": slowest,
            "ratio": ratio, "target_met": met, "archzoo_args": args.archzoo, "seeds": args.seeds}
    print(write_result(args.out, "\n".join(lines) + "\n", data))


if __name__ == "__main__":
    main()
