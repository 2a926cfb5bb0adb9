"""The recommender's learning part (liveshop/feed/recommender.py): training, neighbours,
scoring a history, storing and reading back, pruning past max_items, cold items."""

from __future__ import annotations

import random

import numpy as np
import pytest

from liveshop.feed.recommender import (
    Interactions,
    ItemNeighbours,
    ease_weights,
    most_popular,
    recency_weighted,
    train,
    user_item_matrix,
)
from liveshop.feed.synthetic import synthetic_interactions

# Two tastes: users 0-5 take items from {10, 11, 12, 13}, users 6-11 from {20, 21, 22, 23}.
TASTES = {0: [10, 11, 12, 13], 1: [20, 21, 22, 23]}


def _two_tastes() -> Interactions:
    rng = random.Random(3)
    users, items = [], []
    for user in range(12):
        taste = TASTES[user // 6]
        for item in rng.sample(taste, 3):
            users.append(user)
            items.append(item)
    return Interactions(np.array(users), np.array(items), np.ones(len(users)))


def test_interactions_take_the_documented_dtypes_and_refuse_bad_input() -> None:
    interactions = Interactions([1, 2], [3, 4], [1, 2])
    assert (interactions.user_ids.dtype, interactions.item_ids.dtype,
            interactions.weights.dtype) == (np.int64, np.int64, np.float32)
    with pytest.raises(ValueError, match="one length"):
        Interactions([1, 2], [3], [1, 1])
    with pytest.raises(ValueError, match="not negative"):
        Interactions([1], [3], [-1])
    with pytest.raises(ValueError, match="finite"):
        Interactions([1], [3], [np.nan])


def test_similar_items_are_of_the_same_taste_best_first() -> None:
    model = train(_two_tastes())
    for taste in TASTES.values():
        for item in taste:
            similar = model.similar(item, 3)
            assert [neighbour for neighbour, _ in similar] != []
            assert {neighbour for neighbour, _ in similar} <= set(taste) - {item}
            scores = [score for _, score in similar]
            assert scores == sorted(scores, reverse=True) and min(scores) > 0
    assert len(model.similar(10, 1)) == 1


@pytest.mark.parametrize("method", ["ease", "als"])
def test_both_methods_recover_the_taste_groups(method: str) -> None:
    groups = 4
    # Few factors for 80 items: with as many factors as items ALS fits the identity.
    params = {"factors": 8} if method == "als" else {}
    model = train(synthetic_interactions(8, users=400, items=80, groups=groups), method=method,
                  neighbours=5, **params)
    pairs = [(item, neighbour) for item, neighbour, _ in model.to_rows()]
    assert len(pairs) > 80 * 3
    same_group = np.mean([item % groups == neighbour % groups for item, neighbour in pairs])
    # By chance a quarter would be; a fifth of each user's items is from any group.
    assert same_group > 0.8


def test_a_history_recommends_its_taste_and_never_an_excluded_item() -> None:
    model = train(_two_tastes())
    found = model.recommend([10, 11], 2)
    assert {item for item, _ in found} <= {12, 13}
    # The history itself may come back unless excluded; exclude always holds.
    assert all(item not in {10, 11, 12} for item, _ in model.recommend([10, 11], 5,
                                                                      exclude={10, 11, 12}))
    as_mapping = model.recommend({10: 1.0, 11: 1.0}, 2)
    assert as_mapping == found
    # A weight scales its item's contribution.
    heavier = model.recommend({10: 1.0, 20: 5.0}, 1)
    assert heavier[0][0] in TASTES[1]


def test_recommend_adds_up_weighted_neighbour_scores() -> None:
    model = ItemNeighbours.from_rows([(1, 3, 0.5), (1, 4, 0.2), (2, 3, 0.1), (2, 5, 0.4)])
    found = model.recommend({1: 1.0, 2: 2.0}, 3)
    assert [item for item, _ in found] == [5, 3, 4]
    assert [round(score, 6) for _, score in found] == [0.8, 0.7, 0.2]
    assert model.recommend([1, 2], 1, exclude=[5]) == [(3, pytest.approx(0.6))]


def test_ties_go_to_the_smaller_item_id() -> None:
    model = ItemNeighbours.from_rows([(1, 9, 0.5), (1, 7, 0.5), (1, 8, 0.5)])
    assert [item for item, _ in model.similar(1, 3)] == [7, 8, 9]
    assert [item for item, _ in model.recommend([1], 2)] == [7, 8]


def test_a_cold_item_has_no_neighbours_and_recommends_nothing() -> None:
    model = train(_two_tastes())
    assert model.similar(999, 5) == []
    assert model.recommend([999], 5) == []
    assert model.recommend({999: 1.0, 10: 1.0}, 5) == model.recommend([10], 5)
    assert model.recommend([10], 0) == [] and model.similar(10, 0) == []


def test_nothing_learnt_from_no_interactions() -> None:
    model = train(Interactions([], [], []))
    assert len(model) == 0 and model.similar(1, 5) == [] and model.recommend([1], 5) == []
    assert most_popular(Interactions([], [], []), 3) == []


def test_rows_round_trip_whatever_their_order() -> None:
    model = train(synthetic_interactions(1, users=200, items=60, groups=4), neighbours=10)
    rows = list(model.to_rows())
    assert len(rows) <= 60 * 10 and all(score > 0 for _, _, score in rows)
    random.Random(5).shuffle(rows)
    again = ItemNeighbours.from_rows(rows)
    assert list(again.to_rows()) == list(model.to_rows())
    assert again.similar(7, 4) == model.similar(7, 4)
    assert again.recommend([1, 2, 3], 10, exclude=[5]) == model.recommend([1, 2, 3], 10,
                                                                          exclude=[5])
    assert list(ItemNeighbours.from_rows([]).to_rows()) == []


def test_each_item_keeps_at_most_its_n_best_neighbours() -> None:
    interactions = synthetic_interactions(2, users=300, items=40, groups=2)
    few = train(interactions, neighbours=3)
    many = train(interactions, neighbours=30)
    for item in few.items:
        assert len(few.similar(item, 100)) <= 3
        assert few.similar(item, 3) == many.similar(item, 3)


def test_past_max_items_only_the_most_popular_items_are_modelled() -> None:
    # Item 1 is in every basket, 2 and 3 in most, 4 in two: with max_items=3, 4 is cold.
    users = [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4]
    items = [1, 2, 3, 1, 2, 4, 1, 3, 1, 2, 1, 3, 4]
    model = train(Interactions(users, items, np.ones(len(users))), max_items=3)
    assert set(model.items) <= {1, 2, 3}
    assert model.similar(4, 5) == []
    assert all(neighbour != 4 for _, neighbour, _ in model.to_rows())
    assert 4 in {item for _, item, _ in train(Interactions(users, items,
                                                           np.ones(len(users)))).to_rows()}


def test_auto_takes_als_past_max_items() -> None:
    interactions = synthetic_interactions(4, users=200, items=50, groups=5)
    assert list(train(interactions, method="auto", max_items=100).to_rows()) == list(
        train(interactions).to_rows())
    past = train(interactions, method="auto", max_items=10)
    assert len(past) > 10  # ALS models every item: nothing pruned


def test_ease_weights_are_the_closed_form() -> None:
    interactions = synthetic_interactions(6, users=150, items=30, groups=3)
    matrix, _ = user_item_matrix(interactions)
    gram = (matrix.T @ matrix).toarray().astype(np.float64) + 20.0 * np.eye(30)
    precision = np.linalg.inv(gram)
    expected = -precision / np.diag(precision)[np.newaxis, :]
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(ease_weights(matrix, 20.0), expected, atol=1e-5)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        train(_two_tastes(), method="magic")
    with pytest.raises(ValueError, match="unknown parameters for ease: factors"):
        train(_two_tastes(), factors=3)
    with pytest.raises(ValueError, match="at least 1"):
        train(_two_tastes(), neighbours=0)


def test_most_popular_ranks_by_total_weight_then_id() -> None:
    interactions = Interactions([1, 2, 3, 1, 2], [7, 7, 8, 9, 9], [1, 1, 2, 0.5, 0.5])
    assert most_popular(interactions, 2) == [(7, 2.0), (8, 2.0)]
    assert most_popular(interactions, 10) == [(7, 2.0), (8, 2.0), (9, 1.0)]


def test_recency_weighting_halves_every_half_life() -> None:
    assert recency_weighted([1, 2, 3], half_life=1.0) == {1: 0.25, 2: 0.5, 3: 1.0}
    assert recency_weighted([(1, 2.0), (2, 1.0), (1, 1.0)], half_life=2.0) == {
        1: pytest.approx(1.0 + 2.0 * 0.5), 2: pytest.approx(0.5 ** 0.5)}
    assert recency_weighted([1, 2, 1], half_life=None) == {1: 2.0, 2: 1.0}


def test_synthetic_users_mostly_take_their_groups_items() -> None:
    interactions = synthetic_interactions(9, users=400, items=200, groups=8)
    again = synthetic_interactions(9, users=400, items=200, groups=8)
    assert np.array_equal(interactions.item_ids, again.item_ids)
    own = np.mean(interactions.user_ids % 8 == interactions.item_ids % 8)
    assert 0.75 < own < 0.9
    pairs = set(zip(interactions.user_ids.tolist(), interactions.item_ids.tolist(), strict=True))
    assert len(pairs) == len(interactions)
    assert set(np.unique(interactions.user_ids).tolist()) == set(range(400))
