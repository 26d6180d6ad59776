"""Search spaces: what a candidate is, how to draw one, how to mutate one, and what it costs.

A candidate is a genotype, a tuple of small integers (gene k takes one of ``choices[k]`` values); the
registered model ``space.model`` builds it (``create_model(space.model, genotype=...)``), so a candidate
is a plain nn.Module that the engine trains like any other, and its parameters and MACs are known
before any training (counted on the meta device).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from archzoo.models.nas import (
    CELL_EDGES,
    CELL_OPS,
    MACRO_CHOICES,
    MACRO_DEPTHS,
    MACRO_GENES_PER_STAGE,
    cell_string,
    macro_string,
)
from archzoo.registry import count_params, create_model, model_macs

Genotype = tuple[int, ...]


@dataclass(frozen=True)
class SearchSpace:
    """A space of genotypes over the registered model ``model``.

    ``choices[k]`` is the number of values gene k takes. ``active(g)`` lists the genes that matter for
    ``g`` (the macro space's ops past a stage's depth do not); ``canonical(g)`` writes the others as 0, so
    two genotypes of the same network are equal.
    """

    name: str
    model: str
    choices: tuple[int, ...]
    description: str

    def active(self, genes: Genotype) -> list[int]:
        if self.name != "macro":
            return list(range(len(self.choices)))
        out = []
        for s in range(len(genes) // MACRO_GENES_PER_STAGE):
            base = s * MACRO_GENES_PER_STAGE
            out += [base, base + 1] + [base + 2 + i for i in range(MACRO_DEPTHS[genes[base + 1]])]
        return out

    def canonical(self, genes: Sequence[int]) -> Genotype:
        g = tuple(int(v) for v in genes)
        keep = set(self.active(g))
        return tuple(v if k in keep else 0 for k, v in enumerate(g))

    def size(self) -> int:
        """How many distinct networks the space holds."""
        if self.name != "macro":
            return len(CELL_OPS) ** len(CELL_EDGES)
        total = 1
        for base in range(0, len(self.choices), MACRO_GENES_PER_STAGE):
            widths, ops = self.choices[base], self.choices[base + 2]
            total *= widths * sum(ops ** d for d in MACRO_DEPTHS)
        return total

    def sample(self, rng: random.Random) -> Genotype:
        """A genotype drawn uniformly gene by gene."""
        return self.canonical(rng.randrange(n) for n in self.choices)

    def mutate(self, genes: Genotype, rng: random.Random) -> Genotype:
        """Real et al. 2019's mutation: one gene that matters, chosen uniformly, set to another of its values."""
        k = rng.choice([k for k in self.active(genes) if self.choices[k] > 1])
        value = rng.randrange(self.choices[k] - 1)
        out = list(genes)
        out[k] = value if value < genes[k] else value + 1
        return self.canonical(out)

    def describe(self, genes: Sequence[int]) -> str:
        return macro_string(genes) if self.name == "macro" else cell_string(genes)

    def overrides(self, genes: Sequence[int]) -> dict[str, Any]:
        """The model options that build ``genes`` (``create_model(space.model, **overrides)``)."""
        return {"genotype": tuple(int(g) for g in genes)}

    def cost(self, genes: Sequence[int], input_shape: tuple[int, ...], num_classes: int) -> tuple[int, int]:
        """(parameters, forward MACs per image) of the network, counted on the meta device."""
        overrides = {**self.overrides(genes), "in_channels": input_shape[0], "num_classes": num_classes}
        with torch.device("meta"):
            params = count_params(create_model(self.model, **overrides))
        return params, model_macs(self.model, tuple(input_shape), **overrides)


SPACES: dict[str, SearchSpace] = {
    "macro": SearchSpace("macro", "nas_macro", MACRO_CHOICES,
                         "three stages of archzoo blocks: width, depth and an operation per layer"),
    "cell": SearchSpace("cell", "nas_cell", (len(CELL_OPS),) * len(CELL_EDGES),
                        "the NAS-Bench-201 cell: 6 edges, 5 operations each, stacked"),
}


def get_space(name: str) -> SearchSpace:
    if name not in SPACES:
        raise ValueError(f"unknown search space {name!r}; valid: {', '.join(SPACES)}")
    return SPACES[name]
