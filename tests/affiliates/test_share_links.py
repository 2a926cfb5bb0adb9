"""Share links earn creators the sales they bring: the buyer's last click on a creator's
link for the product within the window, at the plan's rate. A forged ref is ignored on
pages and refused by the API naming the field; nobody earns from their own purchase."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from liveshop.core.db import Database, utcnow
from liveshop.creators.orm import ShareClick
from tests.affiliates.conftest import (
    Stage,
    buy_from_cart,
    handle_of,
    lines_of_checkout,
    open_plan,
)
from tests.conftest import DEFAULT_PASSWORD, UserClient


def clicks(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ShareClick)) or 0


def test_a_share_link_click_earns_the_creator_the_sale_at_the_plan_rate(
        stage: Stage, db: Database) -> None:
    handle = handle_of(db, stage.nina.id)
    assert handle == "ninalive"
    page = stage.buyer.get(f"/products/{stage.scarf}?ref={handle}")
    assert page.status_code == 200
    assert "via Nina Live" in page.text
    checkout_id = buy_from_cart(stage.buyer, stage.scarf_variant)
    lines = lines_of_checkout(db, checkout_id)
    assert [(line.creator_id, line.commission_bp) for line in lines] == [(stage.nina.id, 1000)]
    # The receipt, the order page and the order API say whom it was bought through.
    assert "Bought via" in stage.buyer.get(f"/orders?checkout={checkout_id}").text
    assert ">Nina Live</a>" in stage.buyer.get(f"/orders/{lines[0].order_id}").text
    order = stage.buyer.get(f"/api/v1/orders/{lines[0].order_id}").json()
    assert [line["creator_id"] for line in order["lines"]] == [stage.nina.id]


def test_the_last_click_wins_and_an_old_click_earns_nothing(stage: Stage, db: Database
                                                              ) -> None:
    for creator in (stage.nina, stage.kai):
        stage.buyer.get(f"/products/{stage.scarf}?ref={handle_of(db, creator.id)}")
    lines = lines_of_checkout(db, buy_from_cart(stage.buyer, stage.scarf_variant))
    assert [line.creator_id for line in lines] == [stage.kai.id]

    # Eight days later the clicks are out of the 7-day window.
    with db.transaction() as session:
        session.execute(update(ShareClick).values(at=utcnow() - timedelta(days=8)))
    lines = lines_of_checkout(db, buy_from_cart(stage.buyer, stage.scarf_variant))
    assert [(line.creator_id, line.commission_bp) for line in lines] == [(None, 0)]


def test_no_plan_no_commission_and_a_click_counts_for_its_product_only(
        stage: Stage, db: Database) -> None:
    stage.buyer.get(f"/products/{stage.mug}?ref={handle_of(db, stage.nina.id)}")
    lines = lines_of_checkout(db, buy_from_cart(stage.buyer, stage.mug_variant))
    assert [line.creator_id for line in lines] == [None]  # the mug has no plan
    lines = lines_of_checkout(db, buy_from_cart(stage.buyer, stage.scarf_variant))
    assert [line.creator_id for line in lines] == [None]  # no click on the scarf


def test_a_creator_buying_through_their_own_link_earns_nothing(stage: Stage,
                                                               db: Database) -> None:
    stage.nina.get(f"/products/{stage.scarf}?ref={handle_of(db, stage.nina.id)}")
    lines = lines_of_checkout(db, buy_from_cart(stage.nina, stage.scarf_variant))
    assert [line.creator_id for line in lines] == [None]


def test_an_anonymous_click_is_the_buyers_once_they_sign_in(
        stage: Stage, db: Database, app: object) -> None:
    with TestClient(app) as browser:  # type: ignore[arg-type]
        landed = browser.get(f"/products/{stage.scarf}?ref=NinaLive")
        assert "via Nina Live" in landed.text
        signed_in = browser.post("/api/v1/auth/login", json={
            "email": stage.buyer.user["email"], "password": DEFAULT_PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
    with db.read() as session:
        assert session.scalars(select(ShareClick.buyer_id)).all() == [stage.buyer.id]


def test_forged_refs_are_ignored_on_pages_and_refused_by_the_api(
        stage: Stage, db: Database, make_user: Callable[..., UserClient]) -> None:
    for ref in ("nobody_here", "x" * 500, "<script>", "sam%20seller", ""):
        page = stage.buyer.get(f"/products/{stage.scarf}", params={"ref": ref})
        assert page.status_code == 200
        assert "via " not in page.text
    assert clicks(db) == 0
    # A seller has no handle: their name is no ref.
    assert "via" not in stage.buyer.get(f"/products/{stage.scarf}?ref=samseller").text

    for body, field in (({"ref": "nobody_here", "product_id": stage.scarf}, "ref"),
                        ({"ref": "x" * 101, "product_id": stage.scarf}, "ref"),
                        ({"ref": "ninalive"}, "product_id"),
                        ({"ref": "ninalive", "product_id": 10**9}, "product_id")):
        refused = stage.buyer.post("/api/v1/share-clicks", json=body)
        assert 400 <= refused.status_code < 500, refused.text
        assert refused.json()["error"]["field"].endswith(field), refused.json()
    assert clicks(db) == 0

    recorded = stage.buyer.post("/api/v1/share-clicks",
                                json={"ref": "@NinaLive", "product_id": stage.scarf})
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["creator"]["handle"] == "ninalive"
    lines = lines_of_checkout(db, buy_from_cart(stage.buyer, stage.scarf_variant))
    assert [line.creator_id for line in lines] == [stage.nina.id]


def test_a_targeted_plan_earns_its_higher_rate_once_accepted(stage: Stage, db: Database
                                                             ) -> None:
    ends = (utcnow() + timedelta(days=30)).isoformat()
    plan = open_plan(stage.owner, stage.shop_id, stage.scarf, 2500, kind="targeted",
                     creator_id=stage.nina.id, ends_at=ends)
    assert (plan["accepted"], plan["active"]) == (False, False)
    stage.buyer.get(f"/products/{stage.scarf}?ref=ninalive")
    lines = lines_of_checkout(db, buy_from_cart(stage.buyer, stage.scarf_variant))
    assert [line.commission_bp for line in lines] == [1000]  # the open plan's

    # Only the invited creator may accept it.
    assert stage.kai.post(f"/api/v1/affiliate-plans/{plan['id']}/accept").status_code == 404
    assert stage.nina.post(f"/api/v1/affiliate-plans/{plan['id']}/accept").status_code == 200
    lines = lines_of_checkout(db, buy_from_cart(stage.buyer, stage.scarf_variant))
    assert [line.commission_bp for line in lines] == [2500]


def test_a_show_share_link_records_a_click_on_the_show(stage: Stage, db: Database) -> None:
    created = stage.owner.post("/api/v1/shows", json={
        "shop_id": stage.shop_id, "title": "Tonight", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": [stage.scarf]})
    assert created.status_code == 201, created.text
    show_id = created.json()["id"]
    assert stage.buyer.get(f"/shows/{show_id}?ref=ninalive").status_code == 200
    assert stage.buyer.get(f"/shows/{show_id}?ref=forged!").status_code == 200
    with db.read() as session:
        assert session.execute(select(ShareClick.creator_id, ShareClick.show_id)).all() == [
            (stage.nina.id, show_id)]
