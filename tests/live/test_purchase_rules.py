"""The rules of buying in a live room (liveshop/live/model.py), without a database: what a
tap buys at, the per-buyer limit, one tap per buyer at a time and fitting taps to the units
left."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveshop.core.errors import Conflict, InvalidInput
from liveshop.live.model import (
    PurchaseTerms,
    RoomForTap,
    ShowStatus,
    fit_to_units_left,
    limit_reached,
    one_tap_per_buyer,
    within_limit,
)

ROOM = RoomForTap(status=ShowStatus.LIVE, markets=",UK,DE,", creator_id=7, sale_id=3,
                  per_buyer_limit=2, prices={"UK": 900, "DE": 1100}, remaining=5, version=4,
                  sells_variant=True, ships_to=frozenset({"UK", "DE"}))


def test_a_tap_during_a_sale_buys_at_its_price_in_the_tappers_market() -> None:
    assert ROOM.terms("DE") == PurchaseTerms(creator_id=7, sale_id=3, sale_price=1100)


def test_without_a_sale_a_tap_buys_at_the_regular_price() -> None:
    room = replace(ROOM, sale_id=None, prices={})
    assert room.terms("UK") == PurchaseTerms(creator_id=7, sale_id=None, sale_price=None)


@pytest.mark.parametrize(("change", "market", "error", "field"), [
    ({"status": ShowStatus.SCHEDULED}, "UK", Conflict, "show_id"),
    ({"sells_variant": False}, "UK", InvalidInput, "variant_id"),
    ({}, "FR", Conflict, "market"),  # not one of the show's markets
    ({"ships_to": frozenset({"DE"})}, "UK", Conflict, "market"),
])
def test_a_room_refuses_what_it_does_not_sell(change: dict[str, object], market: str,
                                              error: type[Exception], field: str) -> None:
    with pytest.raises(error) as refused:
        replace(ROOM, **change).terms(market)  # type: ignore[arg-type]
    assert getattr(refused.value, "field", None) == field


def test_the_per_buyer_limit_counts_what_the_buyer_holds() -> None:
    assert within_limit(0, 2, 2) and within_limit(1, 1, 2)
    assert not within_limit(2, 1, 2) and not within_limit(0, 3, 2)
    assert (limit_reached(2).code, limit_reached(2).field) == ("limit_reached", "quantity")


def test_a_buyers_second_tap_waits_for_a_later_round() -> None:
    assert one_tap_per_buyer([5, 6, 5, 7, 6, 5]) == ([0, 1, 3], [2, 4, 5])


def test_taps_are_served_first_come_until_the_units_run_out() -> None:
    fitting = fit_to_units_left([1, 2, 1, 1, 3], remaining=4)
    assert fitting.served == [0, 1, 2]
    # More than is left at all: sold out for it. One that would fit alone, after one that
    # did not fit, waits: a later tap does not pass it.
    assert fitting.too_many == [] and fitting.later == [3, 4]
    assert fit_to_units_left([3, 1, 1], remaining=2).too_many == [0]
    assert fit_to_units_left([3, 1, 1], remaining=2).served == [1, 2]


@given(st.lists(st.integers(min_value=1, max_value=4), max_size=20),
       st.integers(min_value=0, max_value=12))
def test_fitting_never_serves_more_than_is_left_and_places_every_tap(
        quantities: list[int], remaining: int) -> None:
    fitting = fit_to_units_left(quantities, remaining)
    assert sum(quantities[index] for index in fitting.served) <= remaining
    assert sorted(fitting.served + fitting.too_many + fitting.later) == list(
        range(len(quantities)))
    assert all(quantities[index] > remaining for index in fitting.too_many)
    # Progress: with units left, the first tap that can be served alone is served.
    can_fit = [index for index, quantity in enumerate(quantities) if quantity <= remaining]
    assert not can_fit or fitting.served[:1] == can_fit[:1]
