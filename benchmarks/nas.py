"""Architecture search on Fashion-MNIST: evolution against random search (and REINFORCE) at the same budget,
the best network retrained beside LeNet-5, the NAS-Bench-201 cell space, and the zero-cost proxies.

Parts (each writes its figures into docs/results/nas.{md,json}; runs are kept in --runs and reused):

- ``macro``: regularized evolution and random search on the macro space, seeds 0-2, and REINFORCE (seed 0), each
  ``--minutes`` of wall time with 2 workers of one thread (2 cores), candidates capped at lenet5_modern's
  61,706 parameters. Best validation accuracy per search, its mean over seeds.
- ``retrain``: the best candidate of the evolution searches, retrained with lenet5_modern's default recipe
  (`archzoo train nas:RUN#T --data fashion-mnist`), beside lenet5_modern itself trained by the same recipe in the
  same part: test accuracy, parameters, MACs. ``retrain-random``: the same for the random searches' best.
- ``cell``: random search and evolution on the NAS-Bench-201 cell space, ``--cell-trials`` trials each.
- ``proxies``: Spearman's rank correlation of synflow and NASWOT with the trained validation accuracy over the
  distinct cells of the cell space's random search (and the macro space's).

    python benchmarks/nas.py --parts macro retrain cell proxies --minutes 8 --cell-trials 50
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import measured, run_parts
from archzoo.cli import main as archzoo
from archzoo.engine.trainer import is_run_dir
from archzoo.nas import read_trials

PARTS = ("macro", "retrain", "retrain-random", "cell", "proxies")
FIGURES = Path(__file__).resolve().parent.parent / "docs" / "figures"
LENET_PARAMS = 61_706
SEEDS = (0, 1, 2)


def search(out: Path, *args: str) -> dict:
    """`archzoo search ARGS --out out`, resumed if it was cut short, reused when it finished."""
    summary = out / "summary.json"
    if not (summary.is_file() and json.loads(summary.read_text())["completed"]):
        argv = ["search", "--resume", str(out)] if (out / "search.json").is_file() else ["search", *args, "--out",
                                                                                           str(out)]
        code = archzoo([*argv, "--quiet"])
        if code != 0:
            raise SystemExit(f"archzoo {' '.join(argv)} failed ({code})")
    return json.loads(summary.read_text())


def train(model: str, out: Path, *args: str) -> dict:
    """`archzoo train MODEL --data fashion-mnist` into ``out``: reused when finished, resumed when cut short."""
    summary = out / "summary.json"
    if not (summary.is_file() and json.loads(summary.read_text())["completed"]):
        argv = (["train", "--resume", str(out)] if is_run_dir(out) else
                ["train", model, "--data", "fashion-mnist", "--out", str(out), "--device", "cpu", *args])
        code = archzoo([*argv, "--quiet"])
        if code != 0:
            raise SystemExit(f"archzoo train {model} failed ({code})")
    return json.loads((out / "summary.json").read_text())


def _row(s: dict) -> dict:
    best = s["best"] or {}
    return {"trials": s["trials_done"], "status": s["status"], "wall_s": s["wall_time_s"],
            "best_val": best.get("val_accuracy"), "best_trial": best.get("trial"), "best_params": best.get("params"),
            "best_macs": best.get("macs"), "best_arch": best.get("arch"),
            "strategy_settings": s["strategy_settings"]}


def part_macro(runs: Path, minutes: float) -> dict:
    common = ("--space", "macro", "--data", "fashion-mnist", "--max-time", str(minutes * 60), "--max-params",
              str(LENET_PARAMS), "--workers", "2", "--threads", "1")
    out: dict = {"minutes": minutes, "runs": {}}
    for strategy, seeds in (("evolution", SEEDS), ("random", SEEDS), ("reinforce", (0,))):
        for seed in seeds:
            name = f"macro-{strategy}-s{seed}"
            s = search(runs / name, *common, "--strategy", strategy, "--seed", str(seed))
            out["runs"][name] = {"strategy": strategy, "seed": seed, **_row(s)}
    for strategy in ("evolution", "random", "reinforce"):
        vals = [r["best_val"] for r in out["runs"].values() if r["strategy"] == strategy and r["best_val"] is not None]
        mean = sum(vals) / len(vals)
        sd = (sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 else None
        out[strategy] = {"mean_best_val": mean, "sd_best_val": sd, "seeds": len(vals)}
    plot_best_so_far(runs, out["runs"], FIGURES / "nas_macro_best_so_far.png")
    shutil.copy(runs / "macro-evolution-s0" / "progress.png", FIGURES / "nas_macro_evolution_s0.png")
    return out


def plot_best_so_far(runs: Path, rows: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from archzoo.nas.report import best_so_far

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = {"evolution": "C3", "random": "C0", "reinforce": "C2"}
    for name, row in rows.items():
        records = read_trials(runs / name)
        ax.step([r["elapsed_s"] / 60 for r in records], best_so_far(records), where="post",
                color=colours[row["strategy"]], alpha=0.8,
                label=row["strategy"] if row["seed"] == 0 else None)
    ax.set(xlabel="wall time (minutes, 2 workers)", ylabel="best validation accuracy so far",
           title="Macro space on Fashion-MNIST, <= 61,706 parameters")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def part_retrain(runs: Path, minutes: float, strategies: tuple[str, ...] = ("evolution",)) -> dict:
    out: dict = {}
    lenet = train("lenet5_modern", runs / "retrain-lenet5_modern")
    out["lenet5_modern"] = {"test_accuracy": lenet["metrics"]["test"]["accuracy"], "params": lenet["params"],
                            "wall_s": lenet["wall_time_s"], "arch": "LeNet-5 (ReLU, max-pool)"}
    for strategy in strategies:
        candidates = []
        for seed in SEEDS:
            s = json.loads((runs / f"macro-{strategy}-s{seed}" / "summary.json").read_text())
            if s["best"]:
                candidates.append((s["best"]["val_accuracy"], seed, s["best"]))
        val, seed, best = max(candidates, key=lambda c: c[0])
        source = runs / f"macro-{strategy}-s{seed}"
        summary = train(f"nas:{source}#{best['trial']}", runs / f"retrain-{strategy}-best")
        out[f"{strategy}_best"] = {"test_accuracy": summary["metrics"]["test"]["accuracy"], "params": summary["params"],
                                   "macs": best["macs"], "wall_s": summary["wall_time_s"], "arch": best["arch"],
                                   "search": source.name, "trial": best["trial"], "search_val": val}
    return out


def part_retrain_random(runs: Path, minutes: float) -> dict:
    return part_retrain(runs, minutes, ("random",))


def part_cell(runs: Path, minutes: float, trials: int) -> dict:
    common = ("--space", "cell", "--data", "fashion-mnist", "--trials", str(trials), "--workers", "2", "--threads",
              "1", "--trial-epochs", "1", "--trial-subset", "10000", "--val-size", "5000")
    out = {}
    for strategy in ("random", "evolution"):
        s = search(runs / f"cell-{strategy}-s0", *common, "--strategy", strategy)
        out[strategy] = _row(s)
    return out


def part_proxies(runs: Path, minutes: float) -> dict:
    from archzoo.nas.report import proxy_correlation

    out = {}
    for name in ("cell-random-s0", "macro-random-s0"):
        t0 = time.perf_counter()
        result = proxy_correlation(runs / name)
        out[name] = {"trials": result["trials"], "seconds": round(time.perf_counter() - t0, 1),
                     **{p: {"spearman": result[p]["spearman"], "scored": result[p]["scored"]}
                        for p in ("synflow", "naswot")}}
    return out


def _code(text: str) -> str:
    """Text as code in a table cell (the architectures' own '|' escaped)."""
    return "`" + text.replace("|", "\\|") + "`"


def _pct(v: float | None) -> str:
    return f"{100 * v:.2f}%" if v is not None else "-"


def markdown(results: dict, metas: dict) -> str:
    lines = ["# Architecture search on Fashion-MNIST", "",
             "Written by `benchmarks/nas.py`; the commands, settings and what the figures mean are in docs/nas.md.", ""]
    if "macro" in results:
        r = results["macro"]
        lines += ["## Macro space: evolution, random search and REINFORCE at the same budget", "",
                  *measured(metas, "macro"),
                  f"{r['minutes']:g} minutes of wall time per search, 2 workers of one thread, candidates of at most "
                  f"{LENET_PARAMS:,} parameters; each trial trains 2 epochs on 10,000 training images and is scored on "
                  "5,000 validation images carved from the training split (the test split is not touched).", "",
                  "| search | seed | trials | best val. accuracy | its parameters | its MACs | best architecture |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for row in r["runs"].values():
            if row["best_val"] is None:
                lines.append(f"| {row['strategy']} | {row['seed']} | {row['trials']} | no trial finished | | | |")
                continue
            lines.append(f"| {row['strategy']} | {row['seed']} | {row['trials']} | {_pct(row['best_val'])} | "
                         f"{row['best_params']:,} | {row['best_macs'] / 1e6:.2f}M | {_code(row['best_arch'])} |")
        lines += ["", "| strategy | seeds | mean best val. accuracy | sd |", "|---|---:|---:|---:|"]
        for strategy in ("evolution", "random", "reinforce"):
            f = r[strategy]
            sd = f"{100 * f['sd_best_val']:.2f}" if f["sd_best_val"] is not None else "-"
            lines.append(f"| {strategy} | {f['seeds']} | {_pct(f['mean_best_val'])} | {sd} |")
        lines += ["", "![best so far](../figures/nas_macro_best_so_far.png)", ""]
    if "retrain" in results:
        r = results["retrain"]
        lines += ["## The best candidates retrained beside LeNet-5", "", *measured(metas, "retrain"),
                  "lenet5_modern's default recipe (12 epochs, AdamW 2e-3, one-cycle, batch 64, 55,000 training "
                  "images) for each network; test accuracy on the 10,000 test images.", "",
                  "| network | test accuracy | parameters | training wall time | architecture |",
                  "|---|---:|---:|---:|---|"]
        rows = {**r, **results.get("retrain-random", {})}
        for key in ("lenet5_modern", "evolution_best", "random_best"):
            if key in rows:
                f = rows[key]
                lines.append(f"| {key.replace('_best', ' search, best')} | {_pct(f['test_accuracy'])} | "
                             f"{f['params']:,} | {f['wall_s']:.0f} s | {_code(f['arch'])} |")
        lines.append("")
    if "cell" in results:
        r = results["cell"]
        lines += ["## NAS-Bench-201 cell space", "", *measured(metas, "cell"),
                  "Each trial trains 1 epoch on 5,000 training images, scored on 5,000 validation images; the cells "
                  "are stacked one per stage at C = 8.", "",
                  "| strategy | trials | best val. accuracy | parameters | best cell |", "|---|---:|---:|---:|---|"]
        for strategy, f in r.items():
            lines.append(f"| {strategy} | {f['trials']} | {_pct(f['best_val'])} | {f['best_params']:,} | "
                         f"{_code(f['best_arch'])} |")
        lines.append("")
    if "proxies" in results:
        r = results["proxies"]
        lines += ["## Zero-cost proxies against trained accuracy", "", *measured(metas, "proxies"),
                  "| trials of | distinct networks | synflow Spearman | NASWOT Spearman | seconds to score all |",
                  "|---|---:|---:|---:|---:|"]
        for name, f in r.items():
            lines.append(f"| {name} | {f['trials']} | {f['synflow']['spearman']} | {f['naswot']['spearman']} | "
                         f"{f['seconds']:.0f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    p.add_argument("--runs", default="runs/nas", help="where the searches and runs are kept (reused when finished)")
    p.add_argument("--minutes", type=float, default=60, help="wall minutes per macro-space search (default 60)")
    p.add_argument("--cell-trials", type=int, default=60, help="trials per cell-space search (default 60)")
    args = p.parse_args()
    runs = Path(args.runs)

    def measure(part: str) -> dict:
        if part == "cell":
            return part_cell(runs, args.minutes, args.cell_trials)
        return globals()[f"part_{part.replace('-', '_')}"](runs, args.minutes)

    run_parts("nas", args.parts, measure, markdown)


if __name__ == "__main__":
    main()
