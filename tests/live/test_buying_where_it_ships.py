"""A tap buys in the market the room shows, and a purchase that cannot ship is refused
before any card is asked for (the quick-checkout sheet opens on payment_method_required)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.live.conftest import LiveShow, Person

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def _address(person: Person, country: str) -> None:
    saved = person.http.post("/api/v1/me/addresses", json={
        "full_name": person.name, "line1": "1 Street", "city": "Town", "postcode": "12345",
        "country": country, "is_default": True})
    assert saved.status_code == 201, saved.text


def _tap(person: Person, show: LiveShow, **body: Any) -> Any:
    return person.http.post(f"/api/v1/shows/{show.id}/buy",
                            json={"variant_id": show.variant_ids[0], **body},
                            headers={"Idempotency-Key": uuid.uuid4().hex})


def test_an_address_the_market_does_not_ship_to_is_named_before_a_card_is_asked_for(
        live_show: LiveShow, people: Callable[..., Person]) -> None:
    buyer = people("buyer", "Ann")
    _address(buyer, "GB")
    refused = _tap(buyer, live_show, market="DE")
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "address_not_in_market"
    # In the names the market picker and the address form use: no "UK" beside "GB".
    assert error["message"] == ("Orders priced for Deutschland ship to Germany only; switch "
                                "market to United Kingdom to ship to United Kingdom")
    # In the market the address is in, a missing card is what is asked for.
    asked = _tap(buyer, live_show, market="UK")
    assert asked.json()["error"]["code"] == "payment_method_required"


def test_a_tap_buys_in_the_market_whose_prices_the_room_shows(
        live_show: LiveShow, people: Callable[..., Person]) -> None:
    buyer = people("buyer", "Dora")
    _address(buyer, "DE")
    assert buyer.http.post("/api/v1/payment-methods", json={
        "card": CARD, "make_default": True}).status_code == 201
    # The visitor's own market is the UK (no Accept-Language); the room showed euros.
    paid = _tap(buyer, live_show, market="DE")
    assert paid.status_code == 201, paid.text
    assert (paid.json()["currency"], paid.json()["total"]) == ("EUR", 2900 + 499)
