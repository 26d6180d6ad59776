"""Bad input to `archzoo search` and `archzoo train nas:...`: exit 2, one line that says what to do."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BASE = ["search", "--space", "macro", "--strategy", "random", "--data", "fashion-mnist", "--trials", "2"]


def test_unknown_names_list_the_valid_ones(cli_fails, tmp_path: Path) -> None:
    out = ["--out", str(tmp_path / "s")]
    cli_fails(["search", "--space", "micro", "--strategy", "random", "--data", "fashion-mnist", "--trials", "2", *out],
              "unknown search space 'micro'", "macro, cell")
    cli_fails(["search", "--space", "cell", "--strategy", "bayes", "--data", "fashion-mnist", "--trials", "2", *out],
              "unknown strategy 'bayes'", "random, evolution, reinforce")
    cli_fails([*BASE, "--objective", "loss", *out], "unknown objective 'loss'", "accuracy,params")
    cli_fails([*BASE, "--executor", "slurm", *out], "unknown executor 'slurm'", "local, ray")
    cli_fails([*BASE, "--proxy", "snip", *out], "unknown zero-cost proxy 'snip'", "synflow, naswot")


def test_a_budget_must_be_positive(cli_fails, tmp_path: Path) -> None:
    cmd = ["search", "--space", "macro", "--strategy", "random", "--data", "fashion-mnist", "--out", str(tmp_path)]
    cli_fails(cmd, "budget must be positive", "--trials N", "--max-time")
    cli_fails([*cmd, "--trials", "0"], "budget must be positive")
    cli_fails([*cmd, "--max-time", "-5"], "budget must be positive")
    cli_fails([*cmd, "--trials", "3", "--workers", "0"], "workers must be at least 1")


def test_ray_missing_says_how_to_install_it(cli_fails, tmp_path: Path, monkeypatch, real_data_root: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    cli_fails([*BASE, "--executor", "ray", "--out", str(tmp_path / "s")], "pip install 'archzoo[ray]'")


def test_a_ray_address_that_does_not_answer(cli_fails, tmp_path: Path, real_data_root: Path) -> None:
    pytest.importorskip("ray", reason="the archzoo[ray] extra (pip install 'archzoo[ray]') runs trials on Ray")
    cli_fails([*BASE, "--executor", "ray", "--address", "127.0.0.1:9", "--out", str(tmp_path / "s")],
              "no Ray cluster answers at '127.0.0.1:9'", "ray start --head")
    cli_fails([*BASE, "--address", "127.0.0.1:9", "--out", str(tmp_path / "t")], "needs --executor ray")


def test_resume_of_a_directory_that_is_not_a_search(cli_fails, tmp_path: Path) -> None:
    cli_fails(["search", "--resume", str(tmp_path)], "is not an archzoo search directory")
    cli_fails(["search", "--resume", str(tmp_path), "--space", "cell"], "leave out --space")
    cli_fails(["search", "--space", "macro"], "search needs --strategy, --data")


def test_nas_run_trial_that_does_not_exist(cli_fails, tmp_path: Path) -> None:
    run = tmp_path / "s"
    run.mkdir()
    (run / "search.json").write_text(json.dumps({"space": "cell", "strategy": "random", "data": "fashion-mnist",
                                                 "trials": 2}))
    (run / "trials.jsonl").write_text(json.dumps({"trial": 0, "genotype": [3] * 6, "status": "ok",
                                                  "val_accuracy": 0.5}) + "\n")
    cli_fails(["train", f"nas:{run}#7", "--data", "fashion-mnist"], "has no finished trial 7", "0..0")
    cli_fails(["train", f"nas:{run}#x", "--data", "fashion-mnist"], "needs a trial number")
    cli_fails(["train", f"nas:{tmp_path / 'nothing'}", "--data", "fashion-mnist"], "not an archzoo search directory")


def test_a_non_empty_out_is_refused(cli_fails, tmp_path: Path) -> None:
    (tmp_path / "search.json").write_text("{}")
    cli_fails([*BASE, "--out", str(tmp_path)], "is not empty", f"archzoo search --resume {tmp_path}")
