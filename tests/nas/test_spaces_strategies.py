"""Search spaces (sampling, mutation, cost) and strategies (random, regularized evolution, REINFORCE) on
objectives cheap enough to run thousands of times: no training here."""

from __future__ import annotations

import random
import statistics

import pytest
import torch

import archzoo
from archzoo.nas import get_space, pareto_front
from archzoo.nas.strategies import (
    NoCandidateError,
    Objective,
    RandomSearch,
    RegularizedEvolution,
    Reinforce,
    default_population,
)

MACRO, CELL = get_space("macro"), get_space("cell")


def test_space_sizes() -> None:
    assert CELL.size() == 15_625  # NAS-Bench-201
    assert MACRO.size() == (3 * (8 + 8**2 + 8**3)) ** 3


@pytest.mark.parametrize("space", [MACRO, CELL], ids=["macro", "cell"])
def test_samples_are_canonical_and_mutations_change_one_gene_that_matters(space) -> None:
    rng = random.Random(0)
    for _ in range(200):
        genes = space.sample(rng)
        assert genes == space.canonical(genes)
        assert all(0 <= g < n for g, n in zip(genes, space.choices, strict=True))
        child = space.mutate(genes, rng)
        assert child != genes and child == space.canonical(child)
        changed = [k for k in range(len(genes)) if child[k] != genes[k]]
        active = space.active(genes)
        # one active gene changes; a depth change may also zero (or free) the ops it drops
        assert changed[0] in active
        assert sum(k in active and k in space.active(child) for k in changed) >= 1


def test_macro_canonical_form_zeroes_the_ops_past_the_depth() -> None:
    genes = (1, 0, 3, 4, 5) * 3  # depth 1: ops 2 and 3 of each stage unused
    assert MACRO.canonical(genes) == (1, 0, 3, 0, 0) * 3


def test_cost_is_the_built_networks() -> None:
    genes = MACRO.sample(random.Random(3))
    params, macs = MACRO.cost(genes, (1, 28, 28), 10)
    model = archzoo.create_model("nas_macro", genotype=genes, in_channels=1, num_classes=10)
    assert params == archzoo.count_params(model)
    assert macs == archzoo.count_flops(model, torch.randn(1, 1, 28, 28)).macs


# ---- strategies on a synthetic objective: the share of genes equal to a hidden target --------------------------

TARGET = (3, 1, 2, 4, 3, 0)


def _fake_record(index: int, genes: tuple[int, ...]) -> dict:
    acc = sum(a == b for a, b in zip(genes, TARGET, strict=True)) / len(TARGET)
    return {"trial": index, "genotype": list(genes), "status": "ok", "val_accuracy": acc, "params": 0, "macs": 0}


def _run(strategy, trials: int) -> float:
    best = 0.0
    for i in range(trials):
        record = _fake_record(i, strategy.propose(i))
        strategy.observe(i, record)
        best = max(best, record["val_accuracy"])
    return best


def _always(genes) -> bool:
    return True


def test_random_search_is_a_function_of_its_seed() -> None:
    a = RandomSearch(CELL, 5, Objective("accuracy"), _always)
    b = RandomSearch(CELL, 5, Objective("accuracy"), _always)
    assert [a.propose(i) for i in range(20)] == [b.propose(i) for i in range(20)]


def test_evolution_beats_random_search_on_a_structured_objective() -> None:
    obj = Objective("accuracy")
    evo = [_run(RegularizedEvolution(CELL, s, obj, _always, population=20, sample_size=5), 150) for s in range(8)]
    rnd = [_run(RandomSearch(CELL, s, obj, _always), 150) for s in range(8)]
    assert statistics.mean(evo) > statistics.mean(rnd)
    assert statistics.mean(evo) >= 5 / 6


def test_evolution_starts_random_then_mutates_and_ages() -> None:
    evo = RegularizedEvolution(CELL, 0, Objective("accuracy"), _always, population=5, sample_size=2)
    seen = []
    for i in range(30):
        genes = evo.propose(i)
        if i >= 5:  # a child: one mutation away from a member of the population
            members = [tuple(r["genotype"]) for r in evo.population]
            assert any(sum(a != b for a, b in zip(genes, m, strict=True)) == 1 for m in members)
        record = _fake_record(i, genes)
        evo.observe(i, record)
        seen.append(record)
        assert list(evo.population) == seen[-5:]  # the oldest leaves, however good


def test_reinforce_learns_the_target() -> None:
    ctrl = Reinforce(CELL, 0, Objective("accuracy"), _always)  # the default learning rate, 5e-3
    with torch.no_grad():
        before = float(ctrl.controller(TARGET)[1].sum())
    _run(ctrl, 300)
    with torch.no_grad():
        after = float(ctrl.controller(TARGET)[1].sum())
    assert before < -8 and after > -1  # the target: from 1 in 15,625 to better than 1 in 3


def test_reinforce_is_a_function_of_its_seed_and_calls() -> None:
    a, b = (Reinforce(MACRO, 1, Objective("accuracy"), _always) for _ in range(2))
    for i in range(10):
        ga, gb = a.propose(i), b.propose(i)
        assert ga == gb
        rec = {"trial": i, "genotype": list(ga), "status": "ok", "val_accuracy": random.Random(i).random()}
        a.observe(i, rec)
        b.observe(i, rec)


def test_default_population_scales_with_the_budget() -> None:
    assert default_population(100) == (20, 5)
    assert default_population(0) == (10, 3)  # a time budget
    assert default_population(10) == (4, 3)
    assert default_population(100_000) == (100, 25)


def test_constraints_nobody_meets_are_a_clear_error() -> None:
    with pytest.raises(NoCandidateError, match="--max-params"):
        RandomSearch(CELL, 0, Objective("accuracy"), lambda g: False).propose(0)


def test_pareto_front_and_two_objective_tournaments() -> None:
    recs = [{"status": "ok", "val_accuracy": a, "params": p} for a, p in
            [(0.90, 100), (0.91, 200), (0.89, 150), (0.92, 500), (0.80, 50), (0.91, 300)]]
    front = pareto_front(recs, Objective("accuracy,params"))
    assert [(r["val_accuracy"], r["params"]) for r in front] == [(0.90, 100), (0.91, 200), (0.92, 500), (0.80, 50)]
    rng = random.Random(0)
    winners = {Objective("accuracy,params").best(recs, rng)["params"] for _ in range(100)}
    assert winners == {100, 200, 500, 50}
    assert Objective("accuracy").best(recs, rng)["val_accuracy"] == 0.92
    with pytest.raises(ValueError, match="valid: accuracy, accuracy,params, accuracy,macs"):
        Objective("loss")
