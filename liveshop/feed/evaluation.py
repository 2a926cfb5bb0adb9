"""Offline evaluation of the recommender (``liveshop feed evaluate``).

Protocol (docs/feed-recommender.md):

- **Temporal split**: each user's interactions sorted by time (ties in file order); the last
  20% (rounded, at least one; users with a single interaction keep it for training) are held
  out. Every interaction counts as an implicit positive with weight 1.
- **Tuning** on the training part only: its own temporal split (the last 20% of each user's
  training interactions) picks each method's parameters from a small grid by Recall@10; the
  method is then trained on the whole training part and scored once on the held-out part.
- **Metrics** over the users with held-out items, items seen in training never recommended:
  Recall@k = hits in the top k / number of held-out items (the standard definition, used for
  the targets); R@k capped = hits / min(k, held-out), printed beside it; NDCG@k with binary
  gains, ideal DCG over min(k, held-out) hits.
- **Methods**: MostPop (total weight, the feed's cold-start fallback), implicit's ALS scoring
  with its own user factors (the usual baseline), and the project's recommender served
  through ``ItemNeighbours.recommend`` (top-50 neighbours per item, as stored): EASE, and the
  ALS item neighbours that take over past ``max_items``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from liveshop.feed import movielens
from liveshop.feed.recommender import (
    ALS_DEFAULTS,
    DEFAULT_HALF_LIFE,
    Interactions,
    ItemNeighbours,
    fit_als,
    most_popular,
    recency_weighted,
    train,
    user_item_matrix,
)
from liveshop.feed.synthetic import synthetic_interactions

K = 10
HOLDOUT = 0.2
# The bar for the project's recommender on MovieLens 100K.
TARGET_RECALL = 0.17
TARGET_RATIO_TO_MOST_POPULAR = 1.8

EASE_GRID: dict[str, Sequence[Any]] = {"l2": (100.0, 300.0, 600.0, 1000.0)}
ALS_GRID: dict[str, Sequence[Any]] = {"factors": (64, 128), "regularization": (0.05, 1.0),
                                      "alpha": (1.0, 10.0)}
HALF_LIFE_GRID: dict[str, Sequence[Any]] = {"half_life": (3.0, 5.0, 8.0, None)}

# users' held-out items, by user
HeldOut = dict[int, set[int]]


@dataclass(frozen=True)
class Split:
    train: Interactions
    train_times: np.ndarray
    held_out: HeldOut


@dataclass(frozen=True)
class Score:
    method: str
    recall: float
    capped_recall: float
    ndcg: float
    params: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def temporal_split(interactions: Interactions, times: np.ndarray,
                   holdout: float = HOLDOUT) -> Split:
    """Hold out each user's last ``holdout`` share of interactions by time."""
    times = np.asarray(times)
    # By user, then time, then position: a stable order for equal timestamps.
    order = np.lexsort((np.arange(len(times)), times, interactions.user_ids))
    users = interactions.user_ids[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    tested = np.where(counts > 1, np.maximum(1, np.floor(counts * holdout + 0.5)), 0)
    position = np.arange(len(users)) - np.repeat(starts, counts)
    tested_sorted = position >= np.repeat(counts - tested, counts)
    test_rows, train_rows = order[tested_sorted], order[~tested_sorted]
    held_out: HeldOut = {}
    for user, item in zip(interactions.user_ids[test_rows].tolist(),
                          interactions.item_ids[test_rows].tolist(), strict=True):
        held_out.setdefault(user, set()).add(item)
    # Training rows stay sorted by user and time: histories are read oldest first.
    train_part = Interactions(interactions.user_ids[train_rows],
                              interactions.item_ids[train_rows],
                              interactions.weights[train_rows])
    return Split(train_part, times[train_rows], held_out)


def recall_at_k(recommended: Sequence[int], relevant: set[int], k: int = K) -> float:
    return _hits(recommended, relevant, k) / len(relevant)


def capped_recall_at_k(recommended: Sequence[int], relevant: set[int], k: int = K) -> float:
    return _hits(recommended, relevant, k) / min(k, len(relevant))


def ndcg_at_k(recommended: Sequence[int], relevant: set[int], k: int = K) -> float:
    dcg = sum(1.0 / np.log2(rank + 2) for rank, item in enumerate(recommended[:k])
              if item in relevant)
    ideal = sum(1.0 / np.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return float(dcg / ideal)


def _hits(recommended: Sequence[int], relevant: set[int], k: int) -> int:
    return sum(1 for item in recommended[:k] if item in relevant)


def score(method: str, recommendations: Mapping[int, Sequence[int]], held_out: HeldOut,
          k: int = K, params: Mapping[str, Any] | None = None, seconds: float = 0.0) -> Score:
    """Mean metrics over every user with held-out items (no list counts as no hit)."""
    lists = [(recommendations.get(user, []), relevant) for user, relevant in held_out.items()]
    return Score(method,
                 float(np.mean([recall_at_k(found, wanted, k) for found, wanted in lists])),
                 float(np.mean([capped_recall_at_k(found, wanted, k) for found, wanted in lists])),
                 float(np.mean([ndcg_at_k(found, wanted, k) for found, wanted in lists])),
                 dict(params or {}), seconds)


def _histories(split: Split) -> dict[int, list[tuple[int, float]]]:
    """Each user's training interactions, oldest first (the split keeps them in that order)."""
    histories: dict[int, list[tuple[int, float]]] = {}
    train_part = split.train
    for user, item, weight in zip(train_part.user_ids.tolist(), train_part.item_ids.tolist(),
                                  train_part.weights.tolist(), strict=True):
        histories.setdefault(user, []).append((item, weight))
    return histories


@dataclass(frozen=True)
class Method:
    """How a method is evaluated: ``fit`` learns from the training interactions with
    ``fit_grid``'s parameters, ``rank`` lists each user's top k with ``rank_grid``'s (tuned
    inside each fitted model, so a grid point costs one fit per ``fit_grid`` point only)."""

    name: str
    fit: Callable[..., Any]
    rank: Callable[..., dict[int, list[int]]]
    fit_grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    rank_grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)


def _fit_most_popular(interactions: Interactions) -> list[int]:
    return [item for item, _ in most_popular(interactions, len(interactions))]


def _rank_most_popular(ranking: list[int], split: Split, users: Sequence[int],
                       k: int) -> dict[int, list[int]]:
    """The most popular items the user has not interacted with."""
    seen = {user: {item for item, _ in history} for user, history in _histories(split).items()}
    return {user: list(itertools.islice(
                (item for item in ranking if item not in seen.get(user, set())), k))
            for user in users}


def _fit_neighbours(interactions: Interactions, **params: Any) -> ItemNeighbours:
    return train(interactions, **params)


def _rank_neighbours(model: ItemNeighbours, split: Split, users: Sequence[int], k: int, *,
                     half_life: float | None = DEFAULT_HALF_LIFE) -> dict[int, list[int]]:
    """The project's serving path: the user's history, recency-weighted, through the stored
    neighbours, training items excluded."""
    histories = _histories(split)
    lists = {}
    for user in users:
        history = recency_weighted(histories.get(user, []), half_life)
        lists[user] = [item for item, _ in model.recommend(history, k, exclude=history)]
    return lists


def _fit_als(interactions: Interactions, **params: Any) -> tuple[Any, Any, np.ndarray]:
    matrix, items = user_item_matrix(interactions)
    return fit_als(matrix, {**ALS_DEFAULTS, **params}), matrix, items


def _rank_als(fitted: tuple[Any, Any, np.ndarray], split: Split, users: Sequence[int],
              k: int) -> dict[int, list[int]]:
    """implicit's ALS recommending from its own user factors, training items filtered."""
    model, matrix, items = fitted
    user_keys = np.unique(split.train.user_ids)
    rows = np.searchsorted(user_keys, users)
    lists: dict[int, list[int]] = {user: [] for user in users}
    known = [(user, row) for user, row in zip(users, rows.tolist(), strict=True)
             if row < len(user_keys) and user_keys[row] == user]
    if known:
        picked = np.array([row for _, row in known])
        ids, _ = model.recommend(picked, matrix[picked], N=k, filter_already_liked_items=True)
        for (user, _), found in zip(known, ids, strict=True):
            lists[user] = items[found[found >= 0]].tolist()
    return lists


MOST_POPULAR = Method("MostPop", _fit_most_popular, _rank_most_popular)
IMPLICIT_ALS = Method("implicit ALS (user factors)", _fit_als, _rank_als, ALS_GRID)
EASE_WITHOUT_RECENCY = Method("project: EASE neighbours, no recency", _fit_neighbours,
                              _rank_neighbours, {"method": ("ease",), **EASE_GRID},
                              {"half_life": (None,)})
PROJECT = "project: EASE neighbours + recency"
EASE_WITH_RECENCY = Method(PROJECT, _fit_neighbours, _rank_neighbours,
                           {"method": ("ease",), **EASE_GRID}, HALF_LIFE_GRID)
ALS_NEIGHBOURS = Method("project: ALS neighbours + recency (past max_items)", _fit_neighbours,
                        _rank_neighbours, {"method": ("als",), **ALS_GRID}, HALF_LIFE_GRID)
METHODS = (MOST_POPULAR, IMPLICIT_ALS, EASE_WITHOUT_RECENCY, EASE_WITH_RECENCY, ALS_NEIGHBOURS)

# What tuning chose on MovieLens 100K's validation split (docs/benchmarks.md): `liveshop feed
# evaluate --quick` and the test re-run the evaluation with them instead of tuning again.
TUNED_ON_MOVIELENS: dict[str, dict[str, Any]] = {
    IMPLICIT_ALS.name: {"factors": 64, "regularization": 1.0, "alpha": 10.0},
    EASE_WITHOUT_RECENCY.name: {"method": "ease", "l2": 600.0, "half_life": None},
    PROJECT: {"method": "ease", "l2": 600.0, "half_life": 5.0},
    ALS_NEIGHBOURS.name: {"method": "als", "factors": 64, "regularization": 1.0, "alpha": 1.0,
                      "half_life": 8.0},
}


def _grid(grid: Mapping[str, Sequence[Any]]) -> Iterator[dict[str, Any]]:
    for values in itertools.product(*grid.values()):
        yield dict(zip(grid, values, strict=True))


def tune(method: Method, split: Split, k: int = K) -> dict[str, Any]:
    """The grid point with the best validation Recall@k, validated on the training part's
    own temporal split (the test part is never looked at)."""
    validation = temporal_split(split.train, split.train_times)
    users = sorted(validation.held_out)
    best: tuple[float, dict[str, Any]] = (-1.0, {})
    for fit_params in _grid(method.fit_grid):
        model = method.fit(validation.train, **fit_params)
        for rank_params in _grid(method.rank_grid):
            lists = method.rank(model, validation, users, k, **rank_params)
            recall = score("validation", lists, validation.held_out, k).recall
            if recall > best[0]:
                best = (recall, {**fit_params, **rank_params})
    return best[1]


def run(method: Method, split: Split, params: Mapping[str, Any], k: int = K) -> Score:
    """Fit on the whole training part with ``params`` and score on the held-out part."""
    started = time.perf_counter()
    fit_params = {name: value for name, value in params.items() if name in method.fit_grid}
    rank_params = {name: value for name, value in params.items() if name not in fit_params}
    model = method.fit(split.train, **fit_params)
    lists = method.rank(model, split, sorted(split.held_out), k, **rank_params)
    return score(method.name, lists, split.held_out, k, params, time.perf_counter() - started)


def compare(interactions: Interactions, times: np.ndarray, k: int = K,
            chosen: Mapping[str, Mapping[str, Any]] | None = None,
            methods: Sequence[Method] = METHODS) -> list[Score]:
    """Every method on one temporal split: tuned on validation, or with the ``chosen``
    parameters per method name (a fast re-run of a tuned evaluation)."""
    split = temporal_split(interactions, times)
    scores = []
    for method in methods:
        started = time.perf_counter()
        if chosen is not None:
            params = dict(chosen.get(method.name, {}))
        else:
            params = tune(method, split, k) if method.fit_grid or method.rank_grid else {}
        entry = run(method, split, params, k)
        scores.append(replace(entry, seconds=time.perf_counter() - started))
    return scores


@dataclass(frozen=True)
class Report:
    title: str
    scores: list[Score]
    verdicts: list[tuple[str, bool]]

    @property
    def passed(self) -> bool:
        return all(ok for _, ok in self.verdicts)


def _by_method(scores: Sequence[Score], method: str) -> Score:
    return next(entry for entry in scores if entry.method == method)


def _ratio_to_most_popular(scores: Sequence[Score]) -> tuple[Score, float]:
    project = _by_method(scores, PROJECT)
    return project, project.recall / _by_method(scores, MOST_POPULAR.name).recall


def evaluate_movielens(cache_dir: Path = movielens.DEFAULT_CACHE, *, download: bool = True,
                       k: int = K, chosen: Mapping[str, Mapping[str, Any]] | None = None,
                       methods: Sequence[Method] = METHODS) -> Report:
    """Every interaction (any rating) is a positive with weight 1."""
    ratings = movielens.load(cache_dir, download=download)
    interactions = Interactions(ratings.user_ids, ratings.item_ids,
                                np.ones(len(ratings), np.float32))
    scores = compare(interactions, ratings.timestamps, k, chosen, methods)
    project, ratio = _ratio_to_most_popular(scores)
    return Report(
        f"MovieLens 100K ({len(ratings):,} ratings, {len(np.unique(ratings.user_ids))} users), "
        f"each user's last {HOLDOUT:.0%} by time held out, k={k}",
        scores,
        [(f"project Recall@{k} {project.recall:.3f} >= {TARGET_RECALL}",
          project.recall >= TARGET_RECALL),
         (f"project / MostPop Recall@{k} {ratio:.2f}x >= {TARGET_RATIO_TO_MOST_POPULAR}x",
          ratio >= TARGET_RATIO_TO_MOST_POPULAR)])


def evaluate_synthetic(seed: int = 7, users: int = 2_000, items: int = 1_000,
                       groups: int = 10, k: int = K,
                       chosen: Mapping[str, Mapping[str, Any]] | None = None,
                       methods: Sequence[Method] = METHODS) -> Report:
    """The simulated shoppers: the recommender must recover the taste groups, which shows
    as clearly beating popularity (at least 2x its Recall@k)."""
    interactions = synthetic_interactions(seed, users, items, groups)
    # Each user's interactions are generated in the order they happened.
    scores = compare(interactions, np.arange(len(interactions)), k, chosen, methods)
    _, ratio = _ratio_to_most_popular(scores)
    return Report(
        f"Synthetic taste groups (seed {seed}, {users:,} users, {items:,} items, "
        f"{groups} groups, {len(interactions):,} interactions), the last {HOLDOUT:.0%} of "
        f"each user's held out, k={k}",
        scores, [(f"project / MostPop Recall@{k} {ratio:.2f}x >= 2x", ratio >= 2.0)])


def format_report(report: Report, k: int = K) -> str:
    lines = [report.title, "",
             f"| method | Recall@{k} | R@{k} capped | NDCG@{k} | parameters (tuned) | s |",
             "|---|---|---|---|---|---|"]
    for entry in report.scores:
        params = ", ".join(f"{name}={value}" for name, value in entry.params.items()) or "-"
        lines.append(f"| {entry.method} | {entry.recall:.3f} | {entry.capped_recall:.3f} | "
                     f"{entry.ndcg:.3f} | {params} | {entry.seconds:.1f} |")
    lines.append("")
    lines += [f"{'met' if ok else 'NOT MET'}: {verdict}" for verdict, ok in report.verdicts]
    return "\n".join(lines)
