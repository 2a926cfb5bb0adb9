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
    everything = _popularity(rng, items)
    group_items = [every_item[every_item % groups == group] for group in range(groups)]
    group_popularity = [_popularity(rng, len(members)) for members in group_items]
    user_ids, item_ids = [], []
    for user in range(users):
        group = user % groups
        wanted = min(3 + int(rng.poisson(MEAN_INTERACTIONS - 3)), items // 2)
        own = min(int(rng.binomial(wanted, OWN_GROUP_SHARE)), len(group_items[group]))
        chosen = np.concatenate([
            rng.choice(group_items[group], own, replace=False, p=group_popularity[group]),
            rng.choice(every_item, wanted - own, replace=False, p=everything)])
        chosen = chosen[np.sort(np.unique(chosen, return_index=True)[1])]
        rng.shuffle(chosen)
        user_ids.append(np.full(len(chosen), user))
        item_ids.append(chosen)
    users_column, items_column = np.concatenate(user_ids), np.concatenate(item_ids)
    return Interactions(users_column, items_column, np.ones(len(users_column), np.float32))


def _popularity(rng: np.random.Generator, size: int) -> np.ndarray:
    """Probabilities over ``size`` items, Zipf-like, in a random order."""
    weights = 1.0 / np.arange(1, size + 1) ** SKEW
    rng.shuffle(weights)
    return weights / weights.sum()
