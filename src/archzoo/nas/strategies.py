"""Search strategies: each proposes genotypes and learns from the trials' results.

A strategy is a pure function of its seed and the sequence of calls it receives: ``propose(index)`` for
trial ``index``, ``observe(index, record)`` when that trial's record (validation accuracy, parameters,
MACs) is in. That is what makes a search resumable exactly: replaying the recorded calls rebuilds the
strategy's state (archzoo.nas.search).

- ``random``: genotypes drawn uniformly.
- ``evolution``: regularized (aging) evolution, Real et al. 2019, "Regularized Evolution for Image
  Classifier Architecture Search", https://arxiv.org/abs/1802.01548, algorithm 1: the first P trials are
  random; then each proposal samples S members of the population, mutates the best, and each result joins
  the population as its oldest member leaves.
- ``reinforce``: Zoph & Le 2017, "Neural Architecture Search with Reinforcement Learning",
  https://arxiv.org/abs/1611.01578, section 3.2: an LSTM controller emits the genotype gene by gene, each
  a softmax over that gene's values fed the previous choice's embedding; after each trial, REINFORCE with
  an exponential moving average of the rewards as the baseline. One architecture per update (the paper
  averages m = 100 per update over 800 GPUs), so the learning rate is larger than the paper's 6e-4.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from archzoo.nas.spaces import Genotype, SearchSpace

Accept = Callable[[Genotype], bool]  # a constraint (parameters, MACs) a proposal must meet
Rank = Callable[[list[Genotype]], Genotype]  # picks one of several candidates (a zero-cost proxy)

MAX_DRAWS = 1000  # draws before a constraint no candidate meets is an error


class NoCandidateError(ValueError):
    """No candidate of the space meets the search's constraints."""


def _draw(draw: Callable[[], Genotype], accept: Accept, what: str) -> Genotype:
    for _ in range(MAX_DRAWS):
        genes = draw()
        if accept(genes):
            return genes
    raise NoCandidateError(f"none of {MAX_DRAWS} {what} met the search's constraints (--max-params, --max-macs); "
                           "loosen them")


class Objective:
    """What the search maximises: validation accuracy, or accuracy and a cost (params or MACs) as two
    objectives (a Pareto front). A failed or stopped trial scores below every finished one."""

    NAMES = ("accuracy", "accuracy,params", "accuracy,macs")

    def __init__(self, name: str) -> None:
        if name not in self.NAMES:
            raise ValueError(f"unknown objective {name!r}; valid: {', '.join(self.NAMES)}")
        self.name = name
        self.cost = name.split(",")[1] if "," in name else None

    @staticmethod
    def accuracy(record: dict[str, Any]) -> float:
        value = record.get("val_accuracy")
        return float(value) if record.get("status") == "ok" and value is not None else -1.0

    def point(self, record: dict[str, Any]) -> tuple[float, ...]:
        """The record as a point to maximise in every coordinate."""
        acc = self.accuracy(record)
        return (acc,) if self.cost is None else (acc, -float(record[self.cost]))

    def best(self, records: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
        """The tournament's winner: the most accurate; with two objectives, one of the non-dominated, at random."""
        if self.cost is None:
            return max(records, key=self.accuracy)
        return rng.choice(pareto_front(records, self))


def dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and a != b


def pareto_front(records: list[dict[str, Any]], objective: Objective) -> list[dict[str, Any]]:
    """The records no other record dominates (in the order given)."""
    points = [objective.point(r) for r in records]
    return [r for r, p in zip(records, points, strict=True) if not any(dominates(q, p) for q in points)]


class RandomSearch:
    def __init__(self, space: SearchSpace, seed: int, objective: Objective, accept: Accept,
                 rank: Rank | None = None, candidates: int = 1) -> None:
        self.space, self.accept, self.rank, self.candidates = space, accept, rank, candidates
        self.rng = random.Random(seed)

    def _one(self) -> Genotype:
        return _draw(lambda: self.space.sample(self.rng), self.accept, "random candidates")

    def propose(self, index: int) -> Genotype:
        if self.rank is None or self.candidates <= 1:
            return self._one()
        return self.rank([self._one() for _ in range(self.candidates)])

    def observe(self, index: int, record: dict[str, Any]) -> None:
        pass

    def settings(self) -> dict[str, Any]:
        return {}


class RegularizedEvolution(RandomSearch):
    """Aging evolution with population ``population`` and tournaments of ``sample_size``."""

    def __init__(self, space: SearchSpace, seed: int, objective: Objective, accept: Accept,
                 rank: Rank | None = None, candidates: int = 1, population: int = 20, sample_size: int = 5) -> None:
        super().__init__(space, seed, objective, accept, rank, candidates)
        if population < 2 or not 1 <= sample_size <= population:
            raise ValueError(f"evolution needs population >= 2 and 1 <= tournament <= population, got population "
                             f"{population} and tournament {sample_size}")
        self.objective, self.population_size, self.sample_size = objective, population, sample_size
        self.population: deque[dict[str, Any]] = deque()

    def propose(self, index: int) -> Genotype:
        if index < self.population_size or not self.population:  # the random initial population
            return super().propose(index)
        tournament = self.rng.sample(list(self.population), min(self.sample_size, len(self.population)))
        parent = tuple(self.objective.best(tournament, self.rng)["genotype"])

        def child() -> Genotype:
            return _draw(lambda: self.space.mutate(parent, self.rng), self.accept, "mutations of the tournament's "
                                                                                     "winner")

        if self.rank is None or self.candidates <= 1:
            return child()
        return self.rank([child() for _ in range(self.candidates)])

    def observe(self, index: int, record: dict[str, Any]) -> None:
        self.population.append(record)
        if len(self.population) > self.population_size:
            self.population.popleft()  # the oldest dies, however good (the "regularized" of the title)

    def settings(self) -> dict[str, Any]:
        return {"population": self.population_size, "tournament": self.sample_size}


class Controller(nn.Module):
    """Zoph & Le's controller: an LSTM cell that emits one gene per step, a softmax over that gene's values;
    the next step reads the chosen value's embedding (the first reads a learned start vector)."""

    def __init__(self, choices: tuple[int, ...], hidden: int = 64) -> None:
        super().__init__()
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.embed = nn.ModuleList(nn.Embedding(n, hidden) for n in choices)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in choices)

    def forward(self, genes: Genotype | None = None, generator: torch.Generator | None = None
                ) -> tuple[Genotype, torch.Tensor, torch.Tensor]:
        """Sample a genotype (or score ``genes``): (genotype, log-probability per gene, entropy per gene)."""
        x, state = self.start, None
        out, log_probs, entropies = [], [], []
        for k, head in enumerate(self.heads):
            state = self.lstm(x, state)
            logp = torch.log_softmax(head(state[0]), dim=-1)[0]  # (choices[k],)
            if genes is None:
                choice = int(torch.multinomial(logp.exp().detach(), 1, generator=generator))
            else:
                choice = int(genes[k])
            out.append(choice)
            log_probs.append(logp[choice])
            entropies.append(-(logp.exp() * logp).sum())
            x = self.embed[k](torch.tensor([choice]))  # (1, hidden)
        return tuple(out), torch.stack(log_probs), torch.stack(entropies)


class Reinforce:
    """REINFORCE on a :class:`Controller`; reward = validation accuracy, or with two objectives MnasNet's
    accuracy * (cost / reference) ** -0.07 (Tan et al. 2019, equation 2, the soft constraint)."""

    def __init__(self, space: SearchSpace, seed: int, objective: Objective, accept: Accept,
                 rank: Rank | None = None, candidates: int = 1, lr: float = 5e-3, baseline_decay: float = 0.9,
                 entropy_weight: float = 1e-3, reference_cost: float = 0.0) -> None:
        if rank is not None and candidates > 1:
            raise ValueError("the reinforce strategy samples from its policy: a zero-cost proxy cannot pre-rank its "
                             "candidates (use random or evolution with --proxy)")
        self.space, self.objective, self.accept = space, objective, accept
        self.lr, self.baseline_decay, self.entropy_weight = lr, baseline_decay, entropy_weight
        self.reference_cost = reference_cost
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.controller = Controller(space.choices)
        self.generator = torch.Generator().manual_seed(seed)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=lr)
        self.baseline: float | None = None
        self.raw: dict[int, Genotype] = {}  # what the controller emitted for each trial (before canonical form)

    def propose(self, index: int) -> Genotype:
        def draw() -> Genotype:
            with torch.no_grad():
                raw, _, _ = self.controller(generator=self.generator)
            self.raw[index] = raw
            return self.space.canonical(raw)

        return _draw(draw, self.accept, "controller samples")

    def reward(self, record: dict[str, Any]) -> float:
        acc = max(self.objective.accuracy(record), 0.0)
        if self.objective.cost is None or not self.reference_cost:
            return acc
        return acc * (float(record[self.objective.cost]) / self.reference_cost) ** -0.07

    def observe(self, index: int, record: dict[str, Any]) -> None:
        raw = self.raw.pop(index, None)
        if raw is None:
            raw = tuple(record["genotype"])
        reward = self.reward(record)
        if self.baseline is None:
            self.baseline = reward
        advantage = reward - self.baseline
        # genes that do not change the network (the macro space's unused ops) carry no credit
        active = torch.tensor(self.space.active(self.space.canonical(raw)))
        _, log_probs, entropies = self.controller(raw)
        loss = -advantage * log_probs[active].sum() - self.entropy_weight * entropies[active].sum()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward

    def settings(self) -> dict[str, Any]:
        return {"lr": self.lr, "baseline_decay": self.baseline_decay, "entropy_weight": self.entropy_weight,
                "reference_cost": self.reference_cost}


STRATEGIES = {"random": RandomSearch, "evolution": RegularizedEvolution, "reinforce": Reinforce}


def default_population(trials: int) -> tuple[int, int]:
    """Regularized evolution's population and tournament scaled to the budget: about a fifth of the trials in
    the population (Real et al. keep 100 over 20,000 trials; on a small budget a smaller share would leave no
    room to evolve), a quarter of it in each tournament (at least 3 where the population allows). A time budget
    counts as 50 trials."""
    n = trials or 50
    population = max(4, min(100, round(n / 5)))
    return population, min(population, max(3, population // 4))
