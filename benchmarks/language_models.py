"""Character language models on Tiny Shakespeare, side by side: validation loss against wall time.

    python benchmarks/language_models.py                      # nanogpt-cpu, the default gpt recipe, char_lstm, char_gru
    python benchmarks/language_models.py --runs nanogpt-cpu gpt
    python benchmarks/language_models.py --runs gru-30min --out language_models_30min
    python benchmarks/language_models.py --runs lstm-fused lstm-reference --out char_lstm_cells

Each run is `archzoo train MODEL --data tinyshakespeare [flags]` in its own process, one after the
other on the same machine; the validation loss is over the whole held-out text (111,540
characters) after every epoch. Reports each run's final and best validation loss, the wall time to
reach 1.88 nats (nanoGPT's CPU figure), the ratio of the nanogpt-cpu recipe's time to the default
recipe's, and draws every curve on one plot (docs/figures/<out>.png). Writes docs/results/<out>.{md,json}.
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

from _common import RESULTS, git_commit, load_average, machine, stamp, write_result

FIGURES = RESULTS.parent / "figures"
TARGET = 1.88

# name -> (archzoo train arguments, what the row says)
RUNS: dict[str, tuple[str, str]] = {
    "nanogpt-cpu": ("gpt --recipe nanogpt-cpu", "nanoGPT's CPU configuration on archzoo's gpt (4x128, 2,000 steps)"),
    "gpt": ("gpt", "archzoo's default gpt recipe"),
    "gru-30min": ("char_gru --recipe 30min --max-time 1800", "char_gru 2x512, the 30-minute recipe"),
    "char_lstm": ("char_lstm", "char-rnn LSTM, default recipe"),
    "char_gru": ("char_gru", "char-rnn GRU, default recipe"),
    "lstm-fused": ("char_lstm --set hidden_size=128 --epochs 2 --set epoch_steps=100",
                   "char_lstm 2x128, torch's fused LSTM"),
    "lstm-reference": ("char_lstm --set hidden_size=128 --epochs 2 --set epoch_steps=100 --set cell=reference",
                       "char_lstm 2x128, archzoo.nn's written-out LSTM"),
}


def run(name: str) -> dict:
    args, what = RUNS[name]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "archzoo.cli", "train", *shlex.split(args), "--data", "tinyshakespeare",
               "--out", str(out), "--quiet"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - t0
        summary = json.loads((out / "summary.json").read_text())
        config = json.loads((out / "config.json").read_text())
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    curve = [(r["elapsed_s"], r["loss"]) for r in rows if r["split"] == "val"]
    return {"name": name, "args": args, "what": what, "model": config["model"], "params": summary["params"],
            "precision": config["precision"], "epochs": summary["epochs_done"],
            "final_loss": summary["metrics"]["val"]["loss"], "best_loss": min(loss for _, loss in curve),
            "time_to_target_s": next((t for t, loss in curve if loss <= TARGET), None),
            "wall_time_s": summary["wall_time_s"], "process_wall_s": round(wall, 1), "curve": curve}


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        xs, ys = zip(*r["curve"], strict=True)
        ax.plot(xs, ys, marker="o", markersize=3, label=f"{r['name']} ({r['params'] / 1e6:.2f}M, {r['precision']})")
    ax.axhline(TARGET, color="grey", linestyle="--", linewidth=0.8, label=f"{TARGET} nats")
    ax.set_xlabel("wall time (s, 2 CPU cores)")
    ax.set_ylabel("validation loss (nats per character, whole text)")
    ax.set_title("Tiny Shakespeare: validation loss against wall time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", nargs="+", default=["nanogpt-cpu", "gpt", "char_lstm", "char_gru"], choices=list(RUNS))
    p.add_argument("--out", default="language_models")
    args = p.parse_args()
    results = []
    for name in args.runs:
        results.append(run(name))
        print(json.dumps({k: v for k, v in results[-1].items() if k != "curve"}), flush=True)
    fmt = lambda v: f"{v:.1f} s" if v is not None else "not reached"  # noqa: E731
    lines = ["# Character language models on Tiny Shakespeare\n",
             f"Measured {stamp()} at commit {git_commit()} on {machine()} (load average {load_average():.1f}) by",
             f"`python benchmarks/language_models.py {' '.join(sys.argv[1:])}`; every run one after the other on "
             "the same machine, validation loss over the whole held-out text after every epoch.\n",
             f"| run | `archzoo train ... --data tinyshakespeare` | parameters | precision | final val loss | best val "
             f"loss | time to {TARGET} | wall time |", "|---|---|---:|---|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['what']} | `{r['args']}` | {r['params']:,} | {r['precision']} | {r['final_loss']:.4f} | "
                     f"{r['best_loss']:.4f} | {fmt(r['time_to_target_s'])} | {r['wall_time_s']:.1f} s |")
    by = {r["name"]: r for r in results}
    if "nanogpt-cpu" in by and "gpt" in by:
        ref, ours = by["nanogpt-cpu"], by["gpt"]
        ratio = ours["time_to_target_s"] / ref["wall_time_s"] if ours["time_to_target_s"] else None
        lines += ["", f"The default recipe reaches {TARGET} after {fmt(ours['time_to_target_s'])}, "
                  f"{f'{ratio:.2f}' if ratio else 'n/a'} of the {ref['wall_time_s']:.1f} s that nanogpt-cpu takes "
                  f"(target: at most 0.5)."]
    if "lstm-fused" in by and "lstm-reference" in by:
        f, r = by["lstm-fused"], by["lstm-reference"]
        slower = r["wall_time_s"] / f["wall_time_s"]
        lines += ["", f"Written-out LSTM against the fused one after the same steps: validation loss "
                  f"{r['final_loss']:.4f} against {f['final_loss']:.4f} (difference "
                  f"{r['final_loss'] - f['final_loss']:+.4f} nats); wall time {slower:.2f}x."]
    figure = FIGURES / f"{args.out}.png"
    plot(results, figure)
    lines += ["", f"![validation loss against wall time](../figures/{figure.name})"]
    print(write_result(args.out, "\n".join(lines) + "\n", results))


if __name__ == "__main__":
    main()
