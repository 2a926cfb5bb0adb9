"""A show sells its lineup (and the variant of its running sale), in the markets its shop
ships to, and nothing else: a tap on anything else is refused before any unit is claimed,
whether it arrives alone or with a crowd."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import Address, User
from liveshop.catalog.orm import ShopMarket
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Conflict, InvalidInput
from liveshop.live import sales, shows
from liveshop.live.claims import Tap
from liveshop.live.model import PurchaseTerms
from liveshop.live.orm import FlashSale, SalePurchase
from liveshop.live.schemas import BuyView, SaleIn, ShowCreate, ShowUpdate
from liveshop.live.sold_out import SoldOutGate
from liveshop.markets.model import MARKETS
from liveshop.orders.orm import Order
from tests.factories import VariantSpec, actor_of_token, create_product, create_shop, make_buyers
from tests.live.conftest import claim_together, purchases_of, tap
from tests.queries import statements

UK, DE = MARKETS["UK"], MARKETS["DE"]


@dataclass
class Room:
    """A live show (UK and DE) of a shop shipping to both, its lineup of one product with
    two sizes, a flash sale on the first; beside it a product of the same shop that is not
    in the lineup and a product of another shop."""

    show_id: int
    shop_id: int
    host: Actor
    lineup_product: int
    sale_variant: int
    lineup_variant: int
    unlisted_product: int
    unlisted_variant: int
    foreign_variant: int
    sale_id: int


def _seller(db: Database, name: str) -> Actor:
    with db.transaction() as session:
        user = User(email=f"{uuid.uuid4().hex[:8]}@shop.test", display_name=name,
                    password_hash="-", role=Role.SELLER.value)
        session.add(user)
        session.flush()
        return Actor(user.id, Role.SELLER, name)


@pytest.fixture
def room(db: Database) -> Room:
    host = _seller(db, "Host")
    shop = create_shop(db, host.user_id, {"UK": 399, "DE": 499})
    prices = {"UK": 2000, "DE": 2400}
    listed, (sale_variant, lineup_variant) = create_product(db, shop, [
        VariantSpec(prices=prices, stock=50, option1="S"),
        VariantSpec(prices=prices, stock=50, option1="M")])
    unlisted, (unlisted_variant,) = create_product(db, shop, [VariantSpec(prices, stock=50)])
    other_shop = create_shop(db, _seller(db, "Other").user_id, {"UK": 399, "DE": 499})
    _, (foreign_variant,) = create_product(db, other_shop, [VariantSpec(prices, stock=50)])
    show = shows.create_show(db, host, ShowCreate(
        shop_id=shop, title="Drop", scheduled_at=utcnow() + timedelta(minutes=1),
        markets=["UK", "DE"], product_ids=[listed]))
    shows.go_live(db, host, show.id)
    sale = sales.start_sale(db, host, show.id, SaleIn(
        variant_id=sale_variant, prices={"UK": 900, "DE": 1100}, quantity=20,
        per_buyer_limit=1, duration_seconds=300))
    return Room(show.id, shop, host, listed, sale_variant, lineup_variant, unlisted,
                unlisted_variant, foreign_variant, sale.id)


def _stop_shipping(db: Database, shop_id: int, market: str) -> None:
    with db.transaction() as session:
        session.execute(delete(ShopMarket).where(ShopMarket.shop_id == shop_id,
                                                 ShopMarket.market == market))


def _tap(client: Any, token: str, show_id: int, variant_id: int, market: str = "UK") -> Any:
    return client.post(f"/api/v1/shows/{show_id}/buy?market={market}",
                       json={"variant_id": variant_id, "quantity": 1},
                       headers={"Authorization": f"Bearer {token}",
                                "Idempotency-Key": uuid.uuid4().hex})


def _remaining(db: Database, sale_id: int) -> int:
    with db.read() as session:
        return session.get_one(FlashSale, sale_id).remaining


def _orders(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Order)) or 0


def _refusal(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["field"]


def test_a_tap_on_a_product_the_show_does_not_sell_is_refused(
        room: Room, db: Database, client: Any) -> None:
    buyer = make_buyers(db, 1)[0]
    foreign = _tap(client, buyer, room.show_id, room.foreign_variant)
    unlisted = _tap(client, buyer, room.show_id, room.unlisted_variant)
    unknown = _tap(client, buyer, room.show_id, 999_999)
    assert [_refusal(answer) for answer in (foreign, unlisted, unknown)] == [
        (422, "variant_id")] * 3
    assert _orders(db) == 0
    # The lineup sells at its price, the sale's variant at the sale's.
    regular = _tap(client, buyer, room.show_id, room.lineup_variant)
    assert regular.status_code == 201, regular.text
    assert regular.json()["total"] == 2000 + 399
    on_sale = _tap(client, buyer, room.show_id, room.sale_variant)
    assert on_sale.status_code == 202, on_sale.text


def test_the_sales_variant_sells_after_its_product_left_the_lineup(
        room: Room, db: Database, client: Any) -> None:
    shows.update_show(db, room.host, room.show_id, ShowUpdate(
        product_ids=[room.unlisted_product]))
    buyer = make_buyers(db, 1)[0]
    assert _tap(client, buyer, room.show_id, room.sale_variant).status_code == 202
    assert _refusal(_tap(client, buyer, room.show_id, room.lineup_variant)) == (422, "variant_id")
    assert _tap(client, buyer, room.show_id, room.unlisted_variant).status_code == 201


def test_a_market_the_shop_stopped_shipping_to_is_refused(
        room: Room, db: Database, client: Any) -> None:
    _stop_shipping(db, room.shop_id, "UK")
    buyer = make_buyers(db, 1)[0]
    regular = _tap(client, buyer, room.show_id, room.lineup_variant)
    on_sale = _tap(client, buyer, room.show_id, room.sale_variant)
    assert [_refusal(answer) for answer in (regular, on_sale)] == [(409, "market")] * 2
    assert _remaining(db, room.sale_id) == 20 and _orders(db) == 0
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SalePurchase)) == 0


def test_a_tap_reads_the_room_in_one_query(room: Room, db: Database,
                                           settings: Settings) -> None:
    buyer = actor_of_token(db, make_buyers(db, 1)[0])
    assert buyer is not None
    with statements(db, "SELECT") as reads:
        claimed = tap(purchases_of(db, settings), buyer, room.show_id, room.sale_variant,
                      "one")
    assert claimed.status == "pending"
    # The buyer's card and address (one query), and the show, shop, sale, lineup and
    # shipping together: nothing added per tap for the checks.
    assert len(reads) == 2, reads


def _claim(db: Database, taps: Sequence[Tap]) -> list[BuyView | PurchaseTerms | BaseException]:
    """What taps arriving together get (tests/live/test_claim_many.py)."""
    return claim_together(db, SoldOutGate(), taps)


def _buyers(db: Database, count: int) -> list[Actor]:
    actors = [actor_of_token(db, token) for token in make_buyers(db, count)]
    return [actor for actor in actors if actor is not None]


@pytest.mark.parametrize("variant", ["foreign_variant", "unlisted_variant"])
def test_a_batch_of_taps_on_a_product_the_show_does_not_sell_is_refused(
        room: Room, db: Database, variant: str) -> None:
    variant_id = getattr(room, variant)
    answers = _claim(db, [Tap(buyer, room.show_id, variant_id, 1, UK, f"k{index}")
                          for index, buyer in enumerate(_buyers(db, 3))])
    assert all(isinstance(answer, InvalidInput) and answer.field == "variant_id"
               for answer in answers), answers
    assert _orders(db) == 0


def test_a_batch_claims_its_taps_but_those_in_a_market_the_shop_stopped_shipping_to(
        room: Room, db: Database) -> None:
    _stop_shipping(db, room.shop_id, "DE")
    buyers = _buyers(db, 4)
    # The DE tapper lives in Germany: with a UK address the tap would be refused sooner,
    # for an address the DE market does not ship to (test_buying_where_it_ships.py).
    with db.transaction() as session:
        session.execute(update(Address).where(Address.user_id == buyers[1].user_id)
                        .values(country="DE"))
    taps = [Tap(buyer, room.show_id, room.sale_variant, 1, market, f"k{index}")
            for index, (buyer, market) in enumerate(zip(buyers, (UK, DE, UK, UK), strict=True))]
    with statements(db, "UPDATE FLASH_SALES") as sale_updates:
        answers = _claim(db, taps)
    uk_first, de, *uk_rest = answers
    assert isinstance(de, Conflict) and de.field == "market"
    assert all(isinstance(answer, BuyView) and answer.status == "pending"
               for answer in (uk_first, *uk_rest))
    assert len(sale_updates) == 1  # the UK taps were still claimed as one batch
    assert _remaining(db, room.sale_id) == 17
