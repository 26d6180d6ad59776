"""Searches end to end on real Fashion-MNIST at a tiny budget: the log and summary, the validation split only,
budgets, failures, exact resume after SIGKILL, a local process pool and Ray, and retraining nas:RUN."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archzoo.nas import SearchConfig, read_trials, resolve_candidate, resume_search, search

# trials of 16 steps on 1,000 images, scored on 500: enough to tell the machinery works; LEARN trains enough
# (62 steps) for the accuracy to be far above chance
TINY = dict(data="fashion-mnist", trial_epochs=1, trial_subset=1500, val_size=500, threads=1)
LEARN = dict(trial_epochs=2, trial_subset=3000, val_size=1000)
pytestmark = pytest.mark.slow


def _cfg(tmp_path: Path, name: str = "s", **kw) -> SearchConfig:
    return SearchConfig(**{"space": "macro", "strategy": "evolution", "trials": 4, "population": 2,
                           "tournament": 2, **TINY, **kw, "out": str(tmp_path / name)})


def _key(records: list[dict]) -> list[tuple]:
    return [(r["trial"], tuple(r["genotype"]), r["status"], r.get("val_accuracy")) for r in records]


def test_a_search_logs_its_trials_and_summary(tmp_path: Path, real_data_root: Path, monkeypatch) -> None:
    from archzoo.engine.trainer import Trainer

    evaluated: list[str] = []
    real_evaluate = Trainer.evaluate

    def spy(self, split: str):
        evaluated.append(split)
        return real_evaluate(self, split)

    monkeypatch.setattr(Trainer, "evaluate", spy)
    summary = search(_cfg(tmp_path, max_params=61_706, **LEARN), progress=False)
    assert set(evaluated) == {"val"}  # the test split is never touched by a trial
    records = read_trials(tmp_path / "s")
    assert [r["trial"] for r in records] == [0, 1, 2, 3]
    for r in records:
        assert r["status"] == "ok" and r["params"] <= 61_706 and r["macs"] > 0 and r["train_s"] > 0
    best = max(records, key=lambda r: r["val_accuracy"])
    assert best["val_accuracy"] > 0.5  # 62 steps; ten classes, chance is 0.1
    assert summary["best"]["trial"] == best["trial"] and summary["completed"]
    assert summary["pareto_front"]["trials"] and (tmp_path / "s" / "progress.png").stat().st_size > 10_000
    model, overrides, _ = resolve_candidate(f"nas:{tmp_path / 's'}")
    assert model == "nas_macro" and list(overrides["genotype"]) == best["genotype"]
    assert resolve_candidate(f"nas:{tmp_path / 's'}#2")[2]["trial"] == 2


def _run_in_subprocess(cfg: SearchConfig) -> subprocess.Popen:
    code = ("import sys, json; from archzoo.nas import SearchConfig, search; "
            "search(SearchConfig(**json.loads(sys.argv[1])), progress=False)")
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(cfg.__dict__)], env=os.environ.copy())


def test_sigkill_and_resume_end_as_an_uninterrupted_search(tmp_path: Path, real_data_root: Path) -> None:
    whole = search(_cfg(tmp_path, "whole", trials=5), progress=False)
    proc = _run_in_subprocess(_cfg(tmp_path, "killed", trials=5))
    log = tmp_path / "killed" / "trials.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-way through the fourth trial (or just after the third)
    proc.wait()
    done = len(read_trials(tmp_path / "killed"))
    assert 3 <= done < 5
    resumed = resume_search(tmp_path / "killed", progress=False)
    assert _key(read_trials(tmp_path / "killed")) == _key(read_trials(tmp_path / "whole"))
    assert resumed["best"] == whole["best"]


def test_time_budget_stops_the_trial_in_flight(tmp_path: Path, real_data_root: Path) -> None:
    start = time.perf_counter()
    summary = search(_cfg(tmp_path, trials=0, max_time=6.0, trial_epochs=500), progress=False)
    assert time.perf_counter() - start < 6.0 + 8.0  # data loading and start-up aside, the budget holds
    records = read_trials(tmp_path / "s")
    assert [r["status"] for r in records] == ["stopped"] and records[0]["val_accuracy"] is None
    assert summary["completed"] and summary["best"] is None


def test_a_failing_trial_is_recorded_and_the_search_goes_on(tmp_path: Path, real_data_root: Path,
                                                           monkeypatch) -> None:
    import dataclasses

    from archzoo.nas import executors

    real = executors.run_trial

    def second_fails(spec):
        if spec.index == 1:  # a setting the engine rejects, as a bug in a candidate would fail it
            spec = dataclasses.replace(spec, settings={**spec.settings, "batch_size": 0})
        return real(spec)

    monkeypatch.setattr(executors, "run_trial", second_fails)
    summary = search(_cfg(tmp_path, trials=3), progress=False)
    records = read_trials(tmp_path / "s")
    assert [r["status"] for r in records] == ["ok", "failed", "ok"]
    assert "batch-size must be positive" in records[1]["error"]
    assert summary["status"] == {"ok": 2, "failed": 1}


def test_two_local_workers(tmp_path: Path, real_data_root: Path) -> None:
    summary = search(_cfg(tmp_path, strategy="random", trials=4, workers=2, **LEARN), progress=False)
    records = read_trials(tmp_path / "s")
    assert sorted(r["trial"] for r in records) == [0, 1, 2, 3]
    assert all(r["status"] == "ok" for r in records) and summary["completed"]
    assert max(r["val_accuracy"] for r in records) > 0.5


def test_ray_executor_on_a_local_instance(tmp_path: Path, real_data_root: Path) -> None:
    pytest.importorskip("ray", reason="the archzoo[ray] extra (pip install 'archzoo[ray]') runs trials on Ray")
    summary = search(_cfg(tmp_path, strategy="random", trials=2, workers=2, executor="ray",
                          data_root=str(real_data_root), **LEARN), progress=False)
    records = read_trials(tmp_path / "s")
    assert sorted(r["trial"] for r in records) == [0, 1]
    assert all(r["status"] == "ok" for r in records) and summary["completed"]
    assert max(r["val_accuracy"] for r in records) > 0.3  # the trials learnt on the Ray workers


def test_reinforce_and_a_proxy_ranked_search_run(tmp_path: Path, real_data_root: Path) -> None:
    summary = search(_cfg(tmp_path, "r", strategy="reinforce", trials=2, objective="accuracy,params"), progress=False)
    assert summary["trials_done"] == 2 and summary["strategy_settings"]["reference_cost"] > 0
    summary = search(_cfg(tmp_path, "p", strategy="random", trials=2, proxy="naswot", proxy_candidates=3),
                     progress=False)
    assert summary["status"] == {"ok": 2}


def test_proxy_correlation_over_a_finished_search(tmp_path: Path, real_data_root: Path) -> None:
    from archzoo.nas.report import proxy_correlation

    search(_cfg(tmp_path, strategy="random", trials=4), progress=False)
    result = proxy_correlation(tmp_path / "s")
    assert result["trials"] == len(result["val_accuracy"]) >= 3
    for name in ("synflow", "naswot"):
        rho = result[name]["spearman"]
        assert rho is None or -1 <= rho <= 1
        assert len(result[name]["scores"]) == result["trials"]


def test_cli_search_then_train_the_best(tmp_path: Path, real_data_root: Path, capsys) -> None:
    from archzoo.cli import main

    out = tmp_path / "cli"
    assert main(["search", "--space", "cell", "--strategy", "random", "--data", "fashion-mnist", "--trials", "2",
                 "--trial-epochs", "1", "--trial-subset", "1500", "--val-size", "500", "--threads", "1",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "2 trials" in printed and f"archzoo train nas:{out}" in printed
    assert main(["search", "--resume", str(out), "--trials", "3", "--quiet"]) == 0
    assert len(read_trials(out)) == 3
    run = tmp_path / "retrain"
    assert main(["train", f"nas:{out}#1", "--data", "fashion-mnist", "--epochs", "1", "--subset", "600",
                 "--out", str(run), "--quiet"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "nas_cell"
    assert config["model_overrides"]["genotype"] == next(r for r in read_trials(out) if r["trial"] == 1)["genotype"]
    assert config["epochs"] == 1 and config["optimizer"] == "adamw"  # the nas recipe, then the flags


def test_a_local_worker_that_dies_fails_its_own_trial_only(tmp_path: Path, real_data_root: Path) -> None:
    from archzoo.nas.executors import ProcessExecutor
    from archzoo.nas.spaces import SPACES
    from archzoo.nas.trial import TrialSpec

    space = SPACES["macro"]
    genes = space.sample(random.Random(0))
    settings = {"epochs": 1, "subset": 1500, "val_size": 500}

    def spec(index: int) -> TrialSpec:
        return TrialSpec(index=index, model=space.model, overrides=space.overrides(genes), data="fashion-mnist",
                         data_root=None, seed=0, settings=settings, threads=1)

    executor = ProcessExecutor(2)
    try:
        doomed, survivor = executor.submit(spec(0)), executor.submit(spec(1))
        os.kill(executor._busy[doomed][0].pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        records: dict = {}
        while len(records) < 2:
            records.update(executor.wait([h for h in (doomed, survivor) if h not in records]))
        assert records[doomed]["status"] == "failed" and "killed by SIGKILL" in records[doomed]["error"]
        assert records[survivor]["status"] == "ok"  # the other trial in flight went on
        again = executor.submit(spec(2))  # on the worker that replaced the dead one, or the survivor's
        assert executor.wait([again])[again]["status"] == "ok"
    finally:
        executor.close()
    assert not [p for p in multiprocessing.active_children() if p.name == "archzoo-trial-worker"]
