"""Simulated interactions with a known taste structure: the demo's shoppers and the offline
evaluation's second data set. User ``u`` belongs to taste group ``u % groups`` and item ``i``
to group ``i % groups``; a user's interactions come mostly from their group's items, the rest
from the whole catalogue, each set skewed towards a few popular items, so popularity is a fair
baseline and a recommender that recovers the groups beats it."""

from __future__ import annotations

import numpy as np

from liveshop.feed.recommender import Interactions

OWN_GROUP_SHARE = 0.8
MEAN_INTERACTIONS = 20
# Zipf-like popularity inside each item set: weight 1 / rank**SKEW.
SKEW = 0.8


def synthetic_interactions(seed: int, users: int, items: int, groups: int) -> Interactions:
    """Users 0..users-1, items 0..items-1, weight 1 per interaction, no (user, item) pair
    twice; each user's interactions are in the order they happened."""
    if users < 1 or groups < 1 or items < groups:
        raise ValueError("need at least one user, one group and as many items as groups")
    rng = np.random.default_rng(seed)
    every_item = np.arange(items)
    everything = _cumulative_popularity(rng, items)
    group_items = [every_item[every_item % groups == group] for group in range(groups)]
    group_popularity = [_cumulative_popularity(rng, len(members)) for members in group_items]
    user_ids, item_ids = [], []
    for user in range(users):
        group = user % groups
        wanted = 3 + int(rng.poisson(MEAN_INTERACTIONS - 3))
        own = int(rng.binomial(wanted, OWN_GROUP_SHARE))
        drawn = np.concatenate([
            _draw(rng, group_items[group], group_popularity[group], own),
            _draw(rng, every_item, everything, wanted - own)])
        rng.shuffle(drawn)
        # An item drawn twice is one interaction, at its first draw.
        chosen = drawn[np.sort(np.unique(drawn, return_index=True)[1])]
        user_ids.append(np.full(len(chosen), user))
        item_ids.append(chosen)
    users_column, items_column = np.concatenate(user_ids), np.concatenate(item_ids)
    return Interactions(users_column, items_column, np.ones(len(users_column), np.float32))


def _cumulative_popularity(rng: np.random.Generator, size: int) -> np.ndarray:
    """Cumulative Zipf-like weights over ``size`` items in a random order: drawing is then a
    binary search, so a million-item catalogue costs no more per draw than a small one."""
    weights = 1.0 / np.arange(1, size + 1) ** SKEW
    rng.shuffle(weights)
    return np.cumsum(weights)


def _draw(rng: np.random.Generator, members: np.ndarray, cumulative: np.ndarray,
          count: int) -> np.ndarray:
    """``count`` items of ``members`` drawn with replacement by popularity."""
    return members[np.searchsorted(cumulative, rng.random(count) * cumulative[-1], "right")]
