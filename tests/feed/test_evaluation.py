"""Offline evaluation (liveshop/feed/evaluation.py): metrics on hand-computed examples, the
temporal split, and the MovieLens 100K and synthetic evaluations with tuned parameters."""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from liveshop import cli
from liveshop.feed import evaluation, movielens
from liveshop.feed.evaluation import (
    capped_recall_at_k,
    ndcg_at_k,
    recall_at_k,
    score,
    temporal_split,
)
from liveshop.feed.recommender import Interactions

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / movielens.DEFAULT_CACHE
ON_CI = os.environ.get("CI", "").lower() == "true"


def test_metrics_on_a_hand_computed_example() -> None:
    recommended = [5, 2, 7, 4]
    relevant = {2, 4, 9}
    # k=3: one hit (2, at rank 2) of three held-out items.
    assert recall_at_k(recommended, relevant, 3) == pytest.approx(1 / 3)
    assert capped_recall_at_k(recommended, relevant, 3) == pytest.approx(1 / 3)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(recommended, relevant, 3) == pytest.approx((1 / math.log2(3)) / ideal)
    # k=4: both 2 and 4 hit; the ideal list still has three hits.
    assert recall_at_k(recommended, relevant, 4) == pytest.approx(2 / 3)
    assert ndcg_at_k(recommended, relevant, 4) == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(5)) / ideal)
    # More held out than k: recall divides by all of them, the capped one by k.
    many = set(range(100, 112))
    assert recall_at_k([100, 1, 101], many, 2) == pytest.approx(1 / 12)
    assert capped_recall_at_k([100, 1, 101], many, 2) == pytest.approx(1 / 2)
    assert ndcg_at_k([100, 101], many, 2) == pytest.approx(1.0)


def test_score_averages_over_every_user_with_held_out_items() -> None:
    held_out = {1: {10}, 2: {20, 21}, 3: {30}}
    result = score("x", {1: [10, 11], 2: [21]}, held_out, k=2)
    # User 3 got no list: a miss, not left out.
    assert result.recall == pytest.approx((1 + 0.5 + 0) / 3)
    assert result.capped_recall == pytest.approx((1 + 0.5 + 0) / 3)
    assert result.ndcg == pytest.approx((1 + 1 / (1 + 1 / math.log2(3)) + 0) / 3)


def test_the_temporal_split_holds_out_each_users_last_fifth() -> None:
    # User 1: ten interactions given out of time order; user 2: five, two at the same time;
    # user 3: one (kept for training).
    times_1 = [9, 3, 1, 7, 5, 2, 8, 4, 6, 10]
    users = [1] * 10 + [2] * 5 + [3]
    items = [100 + t for t in times_1] + [200, 201, 202, 203, 204] + [300]
    times = [*times_1, 1, 2, 3, 3, 2, 1]
    split = temporal_split(Interactions(users, items, np.ones(len(users))), np.array(times))
    assert split.held_out == {1: {109, 110}, 2: {203}}
    # Training rows stay sorted by user then time (ties in the order given).
    assert split.train.user_ids.tolist() == [1] * 8 + [2] * 4 + [3]
    assert split.train.item_ids.tolist() == [101, 102, 103, 104, 105, 106, 107, 108,
                                             200, 201, 204, 202, 300]
    assert split.train_times.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 2, 3, 1]


def test_tuning_looks_at_the_validation_split_only() -> None:
    interactions = evaluation.synthetic_interactions(3, users=200, items=60, groups=4)
    split = temporal_split(interactions, np.arange(len(interactions)))
    seen = []

    def rank(model: object, part: evaluation.Split, users: list[int], k: int,
             **params: object) -> dict[int, list[int]]:
        seen.append(part)
        return {}

    method = evaluation.Method("probe", lambda train, **params: None, rank,
                               {"a": (1, 2)}, {"b": (3,)})
    assert evaluation.tune(method, split) == {"a": 1, "b": 3}
    assert len(seen) == 2
    for part in seen:
        assert len(part.train) < len(split.train)
        assert not set(part.held_out) - set(split.held_out)
        held = {(user, item) for user, items in part.held_out.items() for item in items}
        test = {(user, item) for user, items in split.held_out.items() for item in items}
        assert not held & test


def _movielens_cached() -> None:
    """The wheel comes with `make install`; on CI it must be there, never fetched here."""
    if movielens.wheel_path(CACHE).exists():
        return
    if ON_CI:
        pytest.fail(f"{movielens.wheel_path(CACHE)} is missing: `make install` fetches it")
    movielens.fetch(CACHE)


def test_movielens_100k_is_read_out_of_recboles_wheel() -> None:
    _movielens_cached()
    ratings = movielens.load(CACHE, download=False)
    assert len(ratings) == 100_000
    assert len(np.unique(ratings.user_ids)) == 943
    assert len(np.unique(ratings.item_ids)) == 1682
    assert set(np.unique(ratings.ratings).tolist()) == {1, 2, 3, 4, 5}
    assert ratings.timestamps.min() > 874_000_000  # September 1997


def test_a_wheel_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(movielens.wheel_path(tmp_path), "w") as wheel:
        wheel.writestr(movielens.MEMBER, "user_id:token\titem_id:token\n1\t2\n")
    with pytest.raises(ValueError, match="sha256"):
        movielens.load(tmp_path, download=False)
    with pytest.raises(movielens.DatasetMissing, match="make install"):
        movielens.load(tmp_path / "empty", download=False)
    with pytest.raises(ValueError, match="unexpected columns"):
        movielens.parse_inter(b"user_id:token\titem_id:token\n1\t2\n")


def test_movielens_evaluation_with_the_tuned_parameters() -> None:
    """The figures of docs/benchmarks.md, re-run without tuning. The issue's 0.17 is not
    reached (the report says so); the ratio to MostPop is."""
    _movielens_cached()
    report = evaluation.evaluate_movielens(CACHE, download=False,
                                           chosen=evaluation.TUNED_ON_MOVIELENS)
    by_name = {entry.method: entry for entry in report.scores}
    project = by_name[evaluation.PROJECT]
    most_popular = by_name[evaluation.MOST_POPULAR.name]
    assert most_popular.recall == pytest.approx(0.067, abs=0.002)
    assert project.recall == pytest.approx(0.153, abs=0.003)
    assert project.recall >= 1.8 * most_popular.recall
    assert project.recall > by_name[evaluation.IMPLICIT_ALS.name].recall
    assert project.recall > by_name[evaluation.EASE_WITHOUT_RECENCY.name].recall
    assert dict(report.verdicts) == {
        f"project Recall@10 {project.recall:.3f} >= 0.17": False,
        f"project / MostPop Recall@10 {project.recall / most_popular.recall:.2f}x >= 1.8x":
            True}


def test_the_recommender_recovers_the_synthetic_taste_groups() -> None:
    chosen = {evaluation.PROJECT: {"method": "ease", "l2": 300.0, "half_life": None}}
    report = evaluation.evaluate_synthetic(
        seed=11, users=600, items=300, groups=6, chosen=chosen,
        methods=[evaluation.MOST_POPULAR, evaluation.EASE_WITH_RECENCY])
    assert report.passed
    project, most_popular = (report.scores[1].recall, report.scores[0].recall)
    assert project > 2 * most_popular


def test_the_command_prints_the_tables_and_fails_on_a_missed_target(
        monkeypatch: pytest.MonkeyPatch) -> None:
    missed = evaluation.Report("MovieLens", [evaluation.Score("MostPop", 0.1, 0.1, 0.1)],
                               [("project Recall@10 0.153 >= 0.17", False)])
    met = evaluation.Report("Synthetic", [evaluation.Score("MostPop", 0.1, 0.1, 0.1)],
                            [("ratio", True)])
    calls = []

    def movielens_report(cache_dir: Path, chosen: object = None) -> evaluation.Report:
        calls.append((cache_dir, chosen))
        return missed

    monkeypatch.setattr(evaluation, "evaluate_movielens", movielens_report)
    monkeypatch.setattr(evaluation, "evaluate_synthetic", lambda: met)
    result = CliRunner().invoke(cli.app, ["feed", "evaluate", "--quick", "--cache-dir", "c"])
    assert result.exit_code == 1
    assert "| MostPop | 0.100 |" in result.output
    assert "NOT MET: project Recall@10 0.153 >= 0.17" in result.output
    assert calls == [(Path("c"), evaluation.TUNED_ON_MOVIELENS)]
    monkeypatch.setattr(evaluation, "evaluate_movielens", lambda cache_dir, chosen: met)
    assert CliRunner().invoke(cli.app, ["feed", "evaluate"]).exit_code == 0
