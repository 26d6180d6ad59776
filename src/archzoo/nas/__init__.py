"""Neural architecture search: search spaces over archzoo's blocks, strategies that explore them, trials that
train candidates through the engine, in this process, a local pool or on Ray.

    from archzoo.nas import SearchConfig, search
    summary = search(SearchConfig(space="macro", strategy="evolution", data="fashion-mnist", max_time=3600,
                                  out="runs/search"))

The best candidate then trains like any registered model: ``archzoo train nas:runs/search --data fashion-mnist``.
"""

from archzoo.nas.executors import EXECUTORS, ExecutorError
from archzoo.nas.proxies import PROXIES, naswot, synflow
from archzoo.nas.search import (
    Search,
    SearchConfig,
    SearchError,
    is_search_dir,
    read_trials,
    resolve_candidate,
    resume_search,
    search,
)
from archzoo.nas.spaces import SPACES, SearchSpace, get_space
from archzoo.nas.strategies import STRATEGIES, Objective, pareto_front
from archzoo.nas.trial import TrialSpec, run_trial

__all__ = [
    "EXECUTORS", "PROXIES", "SPACES", "STRATEGIES", "ExecutorError", "Objective", "Search", "SearchConfig",
    "SearchError", "SearchSpace", "TrialSpec", "get_space", "is_search_dir", "naswot", "pareto_front", "read_trials",
    "resolve_candidate", "resume_search", "run_trial", "search", "synflow",
]
