"""Architecture search on Fashion-MNIST: evolution against random search (and REINFORCE) at the same budget,
the best network retrained beside LeNet-5, the NAS-Bench-201 cell space, and the zero-cost proxies.

Parts (each writes its figures into docs/results/nas.{md,json}; runs are kept in --runs and reused):

- ``macro``: regularized evolution and random search on the macro space, seeds 0-2 (``--seeds``), and REINFORCE
  (seed 0), each ``--minutes`` of wall time with 2 workers of one thread (2 cores), candidates capped at
  lenet5_modern's 61,706 parameters. Best validation accuracy per search, its mean over seeds. Results are kept
  per budget, and the seeds of one budget accumulate over invocations: six 60-minute searches take six hours, so
  they can be run a seed pair at a time (``--seeds 1 --strategies evolution random``).
- ``retrain``: the best candidate of the evolution searches at ``--minutes`` (of the seeds whose runs are in
  ``--runs``), retrained with lenet5_modern's default recipe
  (`archzoo train nas:RUN#T --data fashion-mnist`), beside lenet5_modern itself trained by the same recipe in the
  same part: test accuracy, parameters, MACs; kept per budget like ``macro``. ``retrain-random``: the same for
  the random searches' best.
- ``cell``: random search and evolution on the NAS-Bench-201 cell space, ``--cell-trials`` trials each.
- ``proxies``: Spearman's rank correlation of synflow and NASWOT with the trained validation accuracy over the
  distinct cells of the cell space's random search (and the macro space's).

    python benchmarks/nas.py --parts macro retrain cell proxies --minutes 8 --cell-trials 60
    python benchmarks/nas.py --parts macro --minutes 60 --seeds 0 --strategies evolution random
    python benchmarks/nas.py --parts retrain retrain-random --minutes 60
    python benchmarks/nas.py --parts macro --minutes 60 --seeds 0 --strategies reinforce --trials 457
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine, measured, run_parts, stamp
from archzoo.cli import main as archzoo
from archzoo.engine.trainer import is_run_dir
from archzoo.nas import read_trials
from archzoo.nas.report import best_so_far
from archzoo.registry import model_macs

PARTS = ("macro", "retrain", "retrain-random", "cell", "proxies")
FIGURES = Path(__file__).resolve().parent.parent / "docs" / "figures"
LENET_PARAMS = 61_706
SEEDS = (0, 1, 2)
STRATEGIES = ("evolution", "random", "reinforce")


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
    return {"trials": s["trials_done"], "repeats": s.get("cached", 0), "status": s["status"],
            "wall_s": s["wall_time_s"],
            "best_val": best.get("val_accuracy"), "best_trial": best.get("trial"), "best_params": best.get("params"),
            "best_macs": best.get("macs"), "best_arch": best.get("arch"),
            "strategy_settings": s["strategy_settings"]}


def _budget(minutes: float) -> str:
    return f"{minutes:g}"


def _search_name(minutes: float, strategy: str, seed: int, trials: int = 0) -> str:
    return f"macro-{f'{trials}trials' if trials else f'{_budget(minutes)}min'}-{strategy}-s{seed}"


def _budgets(part: str) -> dict:
    """A part's figures already in docs/results/nas.json, by budget: seeds and retrainings measured by earlier
    invocations (a 60-minute budget fits a seed pair per invocation, not all of them)."""
    previous = RESULTS / "nas.json"
    return json.loads(previous.read_text())["results"].get(part, {}).get("budgets", {}) if previous.is_file() else {}


def _steps(curve: list[list[float]]) -> list[list[float]]:
    """A best-so-far curve by its steps: the points where it rises, and the last."""
    return [pt for i, pt in enumerate(curve) if i == 0 or i == len(curve) - 1 or pt[1] > curve[i - 1][1]]


def part_macro(runs: Path, minutes: float, seeds: tuple[int, ...], strategies: tuple[str, ...],
               trials: int = 0) -> dict:
    """The searches of one budget. ``trials`` > 0 gives the searches run now that many trials instead of the wall
    time (capped at twice it): the budget to use on a machine slower than the one its other searches ran on, since
    a trial's work is fixed (2 epochs) and only their number depends on the machine (and on what else it runs)."""
    budget_args = ("--trials", str(trials), "--max-time", str(2 * minutes * 60)) if trials else (
        "--max-time", str(minutes * 60))
    common = ("--space", "macro", "--data", "fashion-mnist", *budget_args, "--max-params", str(LENET_PARAMS),
              "--workers", "2", "--threads", "1")
    rows = dict(_budgets("macro").get(_budget(minutes), {}).get("runs", {}))
    for strategy in strategies:
        for seed in seeds if strategy != "reinforce" else [s for s in seeds if s == 0]:  # REINFORCE: seed 0 only
            out = runs / _search_name(minutes, strategy, seed, trials)
            s = search(out, *common, "--strategy", strategy, "--seed", str(seed))
            records = read_trials(out)
            curve = _steps([[round(r["elapsed_s"] / 60, 3), b] for r, b in
                            zip(records, best_so_far(records), strict=True) if b == b])  # from the first that finished
            row = {"strategy": strategy, "seed": seed, **_row(s), "machine": machine(), "date": stamp(),
                   "curve": curve}
            if trials:
                row["trial_budget"] = trials
            rows[f"{strategy}-s{seed}"] = row
    rows = dict(sorted(rows.items(), key=lambda kv: (STRATEGIES.index(kv[1]["strategy"]), kv[1]["seed"])))
    budget: dict = {"minutes": minutes, "runs": rows}
    for strategy in STRATEGIES:
        vals = [r["best_val"] for r in rows.values() if r["strategy"] == strategy and r["best_val"] is not None]
        if vals:
            mean = sum(vals) / len(vals)
            sd = (sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 else None
            budget[strategy] = {"mean_best_val": mean, "sd_best_val": sd, "seeds": len(vals)}
    plot_best_so_far(rows, minutes, FIGURES / _figure_name(minutes))
    return {"budgets": {**_budgets("macro"), _budget(minutes): budget}}


def _figure_name(minutes: float) -> str:
    return "nas_macro_best_so_far.png" if minutes == 8 else f"nas_macro_{_budget(minutes)}min_best_so_far.png"


def plot_best_so_far(rows: dict, minutes: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = {"evolution": "C3", "random": "C0", "reinforce": "C2"}
    labelled = set()
    for row in rows.values():
        if "curve" not in row:  # measured before the curves were kept
            continue
        label = row["strategy"] + (f" ({row['trial_budget']} trials, slower machine)" if row.get("trial_budget")
                                   else "")
        ax.step([c[0] for c in row["curve"]], [c[1] for c in row["curve"]], where="post",
                color=colours[row["strategy"]], alpha=0.8, linestyle="--" if row.get("trial_budget") else "-",
                label=None if label in labelled else label)
        labelled.add(label)
    if not labelled:
        plt.close(fig)
        return
    ax.set(xlabel="wall time (minutes, 2 workers)", ylabel="best validation accuracy so far",
           title=f"Macro space on Fashion-MNIST, {_budget(minutes)} minutes, <= 61,706 parameters")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def part_retrain(runs: Path, minutes: float, strategy: str = "evolution") -> dict:
    """The best of the strategy's searches at this budget (over the seeds whose runs are here), retrained beside
    lenet5_modern; the retrainings of other budgets measured earlier are kept."""
    out: dict = {"minutes": minutes, "machine": machine(), "date": stamp()}
    lenet = train("lenet5_modern", runs / "retrain-lenet5_modern")
    out["lenet5_modern"] = {"test_accuracy": lenet["metrics"]["test"]["accuracy"], "params": lenet["params"],
                            "macs": model_macs("lenet5_modern", (1, 28, 28)), "wall_s": lenet["wall_time_s"],
                            "arch": "LeNet-5 (ReLU, max-pool)"}
    candidates = []
    for seed in SEEDS:
        summary = runs / _search_name(minutes, strategy, seed) / "summary.json"
        if summary.is_file() and (s := json.loads(summary.read_text()))["best"]:
            candidates.append((s["best"]["val_accuracy"], seed, s["best"]))
    if not candidates:
        raise SystemExit(f"no finished {strategy} search of {minutes:g} minutes in {runs}: run --parts macro first")
    val, seed, best = max(candidates, key=lambda c: c[0])
    source = runs / _search_name(minutes, strategy, seed)
    summary = train(f"nas:{source}#{best['trial']}", runs / f"retrain-{_budget(minutes)}min-{strategy}-best")
    out[f"{strategy}_best"] = {"test_accuracy": summary["metrics"]["test"]["accuracy"], "params": summary["params"],
                               "macs": best["macs"], "wall_s": summary["wall_time_s"], "arch": best["arch"],
                               "search": source.name, "trial": best["trial"], "search_val": val,
                               "seeds_compared": sorted(c[1] for c in candidates)}
    return {"budgets": {**_budgets("retrain" if strategy == "evolution" else f"retrain-{strategy}"),
                        _budget(minutes): out}}


def part_retrain_random(runs: Path, minutes: float) -> dict:
    return part_retrain(runs, minutes, "random")


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
    for name in ("cell-random-s0", _search_name(minutes, "random", 0)):
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
        lines += ["## Macro space: evolution, random search and REINFORCE at the same budget", "",
                  *measured(metas, "macro"),
                  "Each search has its budget of wall time with 2 workers of one thread, candidates of at most "
                  f"{LENET_PARAMS:,} parameters; each trial trains 2 epochs on 10,000 training images and is scored on "
                  "5,000 validation images carved from the training split (the test split is not touched). A search's "
                  "machine is in its row: the line above names only the invocation that wrote this part last.", ""]
        for budget, r in sorted(results["macro"]["budgets"].items(), key=lambda kv: -float(kv[0])):
            lines += [f"### {budget} minutes per search", "",
                      "| search | seed | trials | best val. accuracy | its parameters | its MACs | best architecture | "
                      "measured on |", "|---|---:|---:|---:|---:|---:|---|---|"]
            for row in r["runs"].values():
                where = f"{row['date'][:10]}, {row['machine'].split(',')[0]}"
                if row["best_val"] is None:
                    lines.append(f"| {row['strategy']} | {row['seed']} | {row['trials']} | no trial finished | | | | "
                                 f"{where} |")
                    continue
                lines.append(f"| {row['strategy']} | {row['seed']} | {row['trials']} | {_pct(row['best_val'])} | "
                             f"{row['best_params']:,} | {row['best_macs'] / 1e6:.2f}M | {_code(row['best_arch'])} | "
                             f"{where} |")
            for row in r["runs"].values():
                if row.get("trial_budget"):
                    lines += ["", f"{row['strategy']} (seed {row['seed']}) had a budget of {row['trial_budget']} "
                              f"trials rather than {budget} minutes (`--trials {row['trial_budget']}`), because its "
                              f"machine runs a trial more slowly than the one of the other rows; it took "
                              f"{row['wall_s'] / 60:.0f} minutes. {row['repeats']} of its trials proposed an "
                              f"encoding it had already tried (its result reused, not trained again), so it trained "
                              f"{row['trials'] - row['repeats']} candidates."]
            lines += ["", "| strategy | seeds | mean best val. accuracy | sd |", "|---|---:|---:|---:|"]
            for strategy in STRATEGIES:
                if strategy in r:
                    f = r[strategy]
                    sd = f"{100 * f['sd_best_val']:.2f}" if f["sd_best_val"] is not None else "-"
                    lines.append(f"| {strategy} | {f['seeds']} | {_pct(f['mean_best_val'])} | {sd} |")
            lines += ["", f"![best so far, {budget} minutes](../figures/{_figure_name(float(budget))})", ""]
    if "retrain" in results:
        lines += ["## The best candidates retrained beside LeNet-5", "", *measured(metas, "retrain"),
                  "lenet5_modern's default recipe (12 epochs, AdamW 2e-3, one-cycle, batch 64, 55,000 training "
                  "images) for each network; test accuracy on the 10,000 test images. The line above names only the "
                  "invocation that wrote this part last; each budget's machine is under its heading.", ""]
        rivals = results.get("retrain-random", {}).get("budgets", {})
        for budget, r in sorted(results["retrain"]["budgets"].items(), key=lambda kv: -float(kv[0])):
            rows = {**r, **rivals.get(budget, {})}
            lines += [f"### The best of the {budget}-minute searches", "",
                      f"Measured {r['date']} on {r['machine']}.", "",
                      "| network | test accuracy | parameters | MACs | training wall time | architecture |",
                      "|---|---:|---:|---:|---:|---|"]
            for key in ("lenet5_modern", "evolution_best", "random_best"):
                if key in rows:
                    f = rows[key]
                    lines.append(f"| {key.replace('_best', ' search, best')} | {_pct(f['test_accuracy'])} | "
                                 f"{f['params']:,} | {f['macs'] / 1e6:.2f}M | {f['wall_s']:.0f} s | "
                                 f"{_code(f['arch'])} |")
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
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS),
                   help="seeds of the macro searches to run now (default 0 1 2); seeds measured earlier at the same "
                        "budget are kept")
    p.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES),
                   help="strategies of the macro searches to run now (default all three)")
    p.add_argument("--trials", type=int, default=0,
                   help="macro: give the searches run now this many trials instead of --minutes of wall time (capped "
                        "at twice it), kept under --minutes' budget: for a machine slower than the one that budget's "
                        "other searches ran on (their mean trial count is the fair figure)")
    p.add_argument("--cell-trials", type=int, default=60, help="trials per cell-space search (default 60)")
    args = p.parse_args()
    runs = Path(args.runs)

    def measure(part: str) -> dict:
        if part == "cell":
            return part_cell(runs, args.minutes, args.cell_trials)
        if part == "macro":
            return part_macro(runs, args.minutes, tuple(args.seeds), tuple(args.strategies), args.trials)
        return globals()[f"part_{part.replace('-', '_')}"](runs, args.minutes)

    run_parts("nas", args.parts, measure, markdown)


if __name__ == "__main__":
    main()
