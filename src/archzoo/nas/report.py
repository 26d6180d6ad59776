"""What a search directory shows: its progress figure, and how well zero-cost proxies rank its trials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archzoo.nas.strategies import Objective, pareto_front


def best_so_far(records: list[dict[str, Any]]) -> list[float]:
    """The best validation accuracy after each trial, in the order the trials finished (nan before the first)."""
    best, out = float("nan"), []
    for r in records:
        acc = Objective.accuracy(r)
        if acc >= 0 and not acc <= best:
            best = acc
        out.append(best)
    return out


def plot_progress(records: list[dict[str, Any]], objective: Objective, path: Path, *, title: str = "") -> Path:
    """Three panels: best-so-far validation accuracy against trials and against wall time, and every finished
    trial's accuracy against its parameters with the Pareto front."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in records if r["status"] == "ok"]
    best = best_so_far(records)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    ax.scatter(range(1, len(records) + 1), [Objective.accuracy(r) if r["status"] == "ok" else float("nan")
                                            for r in records], s=10, alpha=0.4, label="trial")
    ax.plot(range(1, len(records) + 1), best, color="C3", label="best so far")
    ax.set(xlabel="trials finished", ylabel="validation accuracy")
    ax.legend(loc="lower right")
    ax = axes[1]
    ax.step([r["elapsed_s"] / 60 for r in records], best, where="post", color="C3")
    ax.set(xlabel="wall time (minutes)", ylabel="best validation accuracy so far")
    ax = axes[2]
    cost = objective.cost or "params"
    ax.scatter([r[cost] for r in ok], [r["val_accuracy"] for r in ok], s=12, alpha=0.5)
    front = sorted(pareto_front(ok, objective if objective.cost else Objective("accuracy,params")),
                   key=lambda r: r[cost])
    ax.step([r[cost] for r in front], [r["val_accuracy"] for r in front], where="post", color="C3",
            label="Pareto front")
    ax.set(xscale="log", xlabel="parameters" if cost == "params" else "MACs per image",
           ylabel="validation accuracy")
    ax.legend(loc="lower right")
    ok_acc = [r["val_accuracy"] for r in ok]
    if ok_acc:  # the interesting band: from the median trial to the best
        low = sorted(ok_acc)[len(ok_acc) // 4]
        for a in axes:
            a.set_ylim(low - 0.01, max(ok_acc) + 0.005)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def proxy_correlation(run_dir: Path, proxies: tuple[str, ...] = ("synflow", "naswot")) -> dict[str, Any]:
    """Spearman's rank correlation between each zero-cost proxy and the trained validation accuracy, over the
    distinct finished trials of the search in ``run_dir`` (scipy's spearmanr)."""
    from scipy.stats import spearmanr

    from archzoo.nas.search import Search, _read_config, read_trials

    cfg = _read_config(run_dir)
    unique: dict[tuple[int, ...], float] = {}
    for r in read_trials(run_dir):
        if r["status"] == "ok" and not r.get("cached"):
            unique[tuple(r["genotype"])] = r["val_accuracy"]
    out: dict[str, Any] = {"trials": len(unique)}
    search = Search(_with_proxy(cfg, proxies[0]), run_dir, progress=False)
    genotypes, accuracy = list(unique), list(unique.values())
    for name in proxies:
        scores = [search.proxy_score(g, name) for g in genotypes]
        finite = [(s, a) for s, a in zip(scores, accuracy, strict=True) if s != float("-inf")]
        rho = spearmanr([s for s, _ in finite], [a for _, a in finite]).statistic if len(finite) > 2 else None
        out[name] = {"spearman": None if rho is None else round(float(rho), 4), "scored": len(finite),
                     "scores": [round(s, 4) if s != float("-inf") else None for s in scores]}
    out["genotypes"] = [list(g) for g in genotypes]
    out["val_accuracy"] = accuracy
    return out


def _with_proxy(cfg: Any, proxy: str) -> Any:
    import dataclasses

    return dataclasses.replace(cfg, proxy=proxy, strategy="random" if cfg.strategy == "reinforce" else cfg.strategy)
