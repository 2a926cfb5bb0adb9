"""Training the item-to-item model from the interaction events, and keeping its result
as precomputed rows (``feed_item_neighbours``) that serving reads cheaply.

The learning itself is liveshop/feed/recommender.py's (EASE or implicit ALS on numpy/scipy).
Until a process has it, training records that it had nothing to train with and the feed
serves popularity, the social signal and live shows: the feed never needs a model."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

import numpy as np
from sqlalchemy import String, cast, delete, func, insert, select

from liveshop.core.db import Database, utcnow
from liveshop.feed import model
from liveshop.feed.model import EventKind, ItemType
from liveshop.feed.orm import FeedEvent, FeedTraining, ItemNeighbour

log = logging.getLogger("liveshop.feed.training")

TRAINING_DAYS = 90
NEIGHBOURS = 50
ROWS_PER_INSERT = 5_000


@dataclass(frozen=True)
class TrainingResult:
    method: str
    events: int
    users: int
    items: int
    neighbour_rows: int
    seconds: float


def recommender() -> ModuleType | None:
    """The learning module, if this build has it."""
    try:
        return importlib.import_module("liveshop.feed.recommender")
    except ImportError:
        return None


def interaction_arrays(db: Database, days: int = TRAINING_DAYS
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(user index, item code, weight) per (person, item) of the last ``days``, summed
    in SQL; a visitor is a person of their own until they log in. And the number of
    events read."""
    since = utcnow() - timedelta(days=days)
    person = func.coalesce(cast(FeedEvent.user_id, String), FeedEvent.visitor_id)
    learned = [k.value for k, w in model.KIND_WEIGHTS.items() if w > 0]
    query = (select(person, FeedEvent.item_type, FeedEvent.item_id, FeedEvent.kind,
                    func.count(), func.sum(FeedEvent.value))
             .where(FeedEvent.occurred_at >= since, FeedEvent.kind.in_(learned),
                    FeedEvent.item_type.in_([ItemType.PRODUCT.value, ItemType.SHOW.value]))
             .group_by(person, FeedEvent.item_type, FeedEvent.item_id, FeedEvent.kind))
    people: dict[str, int] = {}
    cells: dict[tuple[int, int], float] = {}
    events = 0
    with db.read() as session:
        for who, item_type, item_id, kind, count, value in session.execute(query):
            if who is None:
                continue
            events += int(count)
            user = people.setdefault(str(who), len(people))
            code = model.item_code(ItemType(item_type), int(item_id))
            weight = model.aggregate_weight(EventKind(kind), int(count), float(value or 0))
            cells[user, code] = cells.get((user, code), 0.0) + weight
    users = np.fromiter((u for u, _ in cells), dtype=np.int64, count=len(cells))
    items = np.fromiter((c for _, c in cells), dtype=np.int64, count=len(cells))
    weights = np.fromiter(cells.values(), dtype=np.float32, count=len(cells))
    return users, items, weights, events


def train(db: Database, *, method: str = "ease", days: int = TRAINING_DAYS,
          learner: ModuleType | Any | None = None,
          say: Callable[[str], None] = lambda line: None) -> TrainingResult:
    """Train on the events and replace the neighbour rows in one transaction (serving reads
    the old ones until it commits)."""
    started = time.perf_counter()
    users, items, weights, events = interaction_arrays(db, days)
    learner = learner if learner is not None else recommender()
    rows: list[dict[str, object]] = []
    if learner is None:
        say("no recommender in this build: the feed serves popularity and follows only")
        method = "none"
    elif len(weights):
        interactions = learner.Interactions(user_ids=users, item_ids=items, weights=weights)
        neighbours = learner.train(interactions, method=method, neighbours=NEIGHBOURS)
        rows = [{"item_code": int(item), "neighbour_code": int(other), "score": float(score)}
                for item, other, score in neighbours.to_rows()]
    with db.transaction() as session:
        session.execute(delete(ItemNeighbour))
        for start in range(0, len(rows), ROWS_PER_INSERT):
            session.execute(insert(ItemNeighbour), rows[start:start + ROWS_PER_INSERT])
        seconds = time.perf_counter() - started
        session.add(FeedTraining(method=method, events=events, items=len(set(items.tolist())),
                                 neighbour_rows=len(rows), seconds=seconds))
    result = TrainingResult(method, events, len(set(users.tolist())), len(set(items.tolist())),
                            len(rows), seconds)
    say(f"trained {result.method} on {result.events} events ({result.users} people, "
        f"{result.items} items): {result.neighbour_rows} neighbour rows in "
        f"{result.seconds:.1f} s")
    return result
