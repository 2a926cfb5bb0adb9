"""The feed's rules, one by one (liveshop/feed/model.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from liveshop.feed import model
from liveshop.feed.model import CardKind, Item, ItemType, Reason, Scored, Source

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def product(item_id: int, shop_id: int = 1, **facts: object) -> Item:
    values: dict[str, object] = {"markets": frozenset({"DE"}), "at": NOW} | facts
    return Item(ItemType.PRODUCT, item_id, CardKind.PRODUCT, shop_id, **values)  # type: ignore[arg-type]


def show(item_id: int, kind: CardKind, shop_id: int = 1, at: datetime = NOW,
         **facts: object) -> Item:
    return Item(ItemType.SHOW, item_id, kind, shop_id, frozenset({"DE"}), at=at,
                **facts)  # type: ignore[arg-type]


def popular(*items: Item) -> dict[Source, dict[str, tuple[float, str]]]:
    return {Source.POPULAR: {item.key: (float(len(items) - i), "Germany")
                             for i, item in enumerate(items)}}


def test_only_items_buyable_in_the_viewers_market_are_shown() -> None:
    assert model.can_show(product(1), "DE")
    assert not model.can_show(product(1), "UK")
    assert not model.can_show(product(1, in_stock=False), "DE")
    assert not model.can_show(product(1, active=False), "DE")  # a draft
    assert not model.can_show(product(1, shop_suspended=True), "DE")
    assert not model.can_show(show(2, CardKind.LIVE, private=True), "DE")
    # Out of stock matters for products only: a show is watched, not bought.
    assert model.can_show(show(2, CardKind.LIVE, in_stock=False), "DE")


def test_the_mix_leaves_out_what_the_model_says_but_the_viewer_may_not_see() -> None:
    items = {i.key: i for i in (product(1), product(2, markets=frozenset({"UK"})),
                                product(3, active=False))}
    ranked = model.mix(items, popular(*items.values()), market="DE")
    assert [s.item.item_id for s in ranked] == [1]


def test_at_most_two_items_of_one_shop_in_any_ten() -> None:
    # Shop 1 has the four best items, shops 2..9 two each behind them.
    items = [product(i, shop_id=1) for i in range(1, 5)]
    items += [product(100 + n, shop_id=2 + n // 2) for n in range(16)]
    ranked = [Scored(item, 100.0 - n) for n, item in enumerate(items)]
    placed = model.diversify(ranked)
    shops = [s.item.shop_id for s in placed]
    for start in range(len(shops) - 10 + 1):
        window = shops[start:start + 10]
        assert all(window.count(shop) <= 2 for shop in set(window)), shops
    assert shops[:2] == [1, 1]  # the best still lead
    assert len(placed) == len(items)


def test_a_market_with_too_few_shops_still_gets_every_item() -> None:
    ranked = [Scored(product(i, shop_id=1 + i % 2), 100.0 - i) for i in range(12)]
    assert len(model.diversify(ranked)) == 12


def test_no_already_bought_item_in_the_top_ten_unless_consumable() -> None:
    items = [product(i, shop_id=i) for i in range(1, 15)]
    ranked = [Scored(item, 100.0 - n) for n, item in enumerate(items)]
    reordered = model.bought_out_of_top(ranked, bought={1, 2})
    top = [s.item.item_id for s in reordered[:10]]
    assert 1 not in top and 2 not in top
    assert [s.item.item_id for s in reordered[10:12]] == [1, 2]
    coffee = [Scored(product(1, consumable=True), 10.0), Scored(product(2, shop_id=2), 5.0)]
    assert model.bought_out_of_top(coffee, bought={1})[0].item.item_id == 1


def test_cold_start_ranks_by_popularity_alone() -> None:
    items = {i.key: i for i in (product(1, shop_id=1), product(2, shop_id=2),
                                product(3, shop_id=3))}
    ranked = model.rank_for_you(items, popular(items["product:3"], items["product:1"],
                                               items["product:2"]), market="DE")
    assert [s.item.item_id for s in ranked] == [3, 1, 2]
    assert model.why(ranked[0].reason, ranked[0].item.kind) == "Popular in Germany"


def test_followed_live_and_social_outrank_popularity() -> None:
    live = show(7, CardKind.LIVE, shop_id=2)
    bought_by_followers = product(8, shop_id=3)
    best_seller = product(9, shop_id=4)
    items = {i.key: i for i in (live, bought_by_followers, best_seller)}
    signals = popular(best_seller, bought_by_followers) | {
        Source.FOLLOWED_LIVE: {live.key: (1.0, "Nina Live")},
        Source.SOCIAL: {bought_by_followers.key: (3.0, "Nina Live")},
    }
    ranked = model.rank_for_you(items, signals, market="DE")
    assert [s.item.key for s in ranked] == [live.key, bought_by_followers.key, best_seller.key]


def test_each_card_says_why() -> None:
    def why(source: Source, subject: str, kind: CardKind = CardKind.PRODUCT) -> str:
        return model.why(Reason(source, subject), kind)

    assert why(Source.FOLLOWED_LIVE, "Nina Live", CardKind.LIVE) == (
        "Nina Live, whom you follow, is live")
    assert why(Source.POPULAR, "Germany") == "Popular in Germany"
    assert why(Source.SIMILAR, "Kiez Kollektiv") == "Because you watched Kiez Kollektiv"
    assert why(Source.SOCIAL, "Nina Live") == "Because you follow Nina Live"
    assert why(Source.LIVE_NOW, "", CardKind.LIVE) == "Live now"
    assert why(Source.NEW, "Casa Sol") == "New from Casa Sol"
    assert why(Source.NEW, "Casa Sol", CardKind.UPCOMING) == "Coming up from Casa Sol"
    assert model.why(None, CardKind.PRODUCT) == ""


def test_not_interested_hides_the_item_and_ranks_its_shop_lower() -> None:
    items = {i.key: i for i in (product(1, shop_id=1), product(2, shop_id=1),
                                product(3, shop_id=2))}
    signals = {Source.POPULAR: {"product:1": (10.0, ""), "product:2": (9.0, ""),
                                "product:3": (6.0, "")}}
    assert [s.item.item_id for s in model.mix(items, signals, market="DE")] == [1, 2, 3]
    ranked = model.mix(items, signals, market="DE", dismissed={"product:1"},
                       dismissed_shops={1: 1})
    assert [s.item.item_id for s in ranked] == [3, 2]


def test_following_puts_live_first_then_upcoming_soonest_then_the_newest() -> None:
    items = [
        product(1, at=NOW - timedelta(days=1)),
        show(2, CardKind.REPLAY, at=NOW - timedelta(hours=2)),
        show(3, CardKind.UPCOMING, at=NOW + timedelta(days=2)),
        show(4, CardKind.UPCOMING, at=NOW + timedelta(hours=3)),
        show(5, CardKind.LIVE, at=NOW - timedelta(minutes=5)),
        product(6, markets=frozenset({"UK"})),
    ]
    ranked = model.rank_following(items, "DE")
    assert [s.item.key for s in ranked] == [
        "show:5", "show:4", "show:3", "show:2", "product:1"]


def test_weights_and_item_codes() -> None:
    assert model.interaction_weight(model.EventKind.PURCHASE, 1) > model.interaction_weight(
        model.EventKind.CLICK, 1)
    assert model.interaction_weight(model.EventKind.WATCH, 10_000) == model.MAX_WATCH_MINUTES
    assert model.aggregate_weight(model.EventKind.LIKE, 2, 2.0) == 6.0
    for item_type in (ItemType.PRODUCT, ItemType.SHOW):
        assert model.item_of(model.item_code(item_type, 42)) == (item_type, 42)


def test_event_times_far_off_are_refused() -> None:
    assert model.time_problem(NOW, NOW) is None
    assert model.time_problem(NOW + timedelta(hours=1), NOW) == "is in the future"
    assert model.time_problem(NOW - timedelta(days=3), NOW) == "is too far in the past"


def test_cursors_round_trip_and_refuse_forgeries() -> None:
    cursor = model.Cursor(1_700_000_000_000, 20)
    assert model.Cursor.decode(cursor.encode()) == cursor
    assert model.Cursor.decode("not a cursor") is None
    assert model.Cursor.decode(model.Cursor(1, 10_000).encode()) is None
