"""A buyer's voucher at checkout, over the API and the service: the platform pays the
discount, the budget is reserved with the checkout and given back when it fails, bad codes
are refused naming ``voucher_code`` with nothing reserved, and 200 buyers at once never
spend more than the budget. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import Address
from liveshop.checkout import carts, service
from liveshop.checkout.orm import Checkout
from liveshop.checkout.schemas import CheckoutIn
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import DomainError
from liveshop.incentives.orm import Voucher, VoucherRedemption
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey
from liveshop.markets.model import MARKETS
from tests.checkout.conftest import (
    DECLINED_CARD,
    OK_CARD,
    UK_ADDRESS,
    Catalog,
    add,
    check_out,
    key,
    pay,
)
from tests.checkout.test_checkout_service import in_threads
from tests.factories import (
    VariantSpec,
    actor_of_token,
    create_product,
    create_shop,
    make_buyers,
)
from tests.incentives.conftest import open_voucher

UK = MARKETS["UK"]


def spent(db: Database, voucher_id: int) -> int:
    with db.read() as session:
        row = session.get(Voucher, voucher_id)
        assert row is not None
        return row.spent


def redemptions(db: Database) -> list[tuple[str, int]]:
    with db.read() as session:
        return [(r.status, r.amount) for r in session.scalars(
            select(VoucherRedemption).order_by(VoucherRedemption.id))]


def test_a_voucher_code_takes_the_discount_off_and_the_platform_pays_it(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    voucher_id = open_voucher(db)
    buyer = make_user()
    add(buyer, catalog.tee)  # £24.00, shop A
    add(buyer, catalog.mug)  # £10.00, shop B
    created = check_out(buyer, address=UK_ADDRESS, voucher_code="live5")
    assert created.status_code == 201, created.text
    view = created.json()
    assert (view["discount"], view["voucher_code"]) == (500, "LIVE5")
    assert view["total"] == 2400 + 1000 + 399 + 250 - 500
    assert [o["discount"] for o in view["orders"]] == [353, 147]
    assert spent(db, voucher_id) == 500
    paid = pay(buyer, view["id"])
    assert paid.status_code == 200, paid.text
    assert redemptions(db) == [("redeemed", 500)]
    with db.read() as session:
        # The buyer paid 500 less; the sellers are owed the full price less the 5% fee.
        assert ledger.balance(session, AccountKey.cash("GBP")) == view["total"]
        assert ledger.balance(session, AccountKey.incentive_expense("UK", "GBP")) == 500
        assert ledger.balance(session, AccountKey.seller_payable(catalog.shop_a, "GBP")) \
            == -(2000 - 100 + 399 - 67)  # shipping less its VAT
        assert all(t.balanced for t in ledger.trial_balance(session))


def test_a_declined_payment_gives_the_reserved_discount_back(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    voucher_id = open_voucher(db)
    buyer = make_user()
    add(buyer, catalog.tee)
    view = check_out(buyer, address=UK_ADDRESS, voucher_code="LIVE5").json()
    assert spent(db, voucher_id) == 500
    assert pay(buyer, view["id"], card=DECLINED_CARD).status_code == 402
    assert spent(db, voucher_id) == 0
    assert redemptions(db) == [("released", 500)]
    # Released, so the buyer may use it again (the per-buyer limit counts live uses).
    again = check_out(buyer, address=UK_ADDRESS, voucher_code="LIVE5")
    assert again.status_code == 201, again.text
    assert pay(buyer, again.json()["id"], card=OK_CARD).status_code == 200
    assert spent(db, voucher_id) == 500


def test_an_automatic_discount_applies_without_a_code(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    open_voucher(db, code=None, amount_off=None, percent_bp=1000, min_basket=0)
    buyer = make_user()
    add(buyer, catalog.tee)
    view = check_out(buyer, address=UK_ADDRESS).json()
    assert (view["discount"], view["total"]) == (240, 2400 + 399 - 240)


def test_bad_voucher_input_is_a_4xx_naming_voucher_code_and_reserves_nothing(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    open_voucher(db)
    open_voucher(db, code="OLD5", starts_at=utcnow() - timedelta(days=9),
                 ends_at=utcnow() - timedelta(days=1))
    open_voucher(db, code="GERMANY5", market="DE")
    open_voucher(db, code="TINY", budget=100, min_basket=0)
    buyer = make_user()
    add(buyer, catalog.mug)  # £10.00: under LIVE5's £20 minimum
    cases = [("NOPE42", 422, "voucher_unknown"), ("a b", 422, "voucher_unknown"),
             ("OLD5", 422, "voucher_expired"), ("GERMANY5", 422, "voucher_wrong_market"),
             ("LIVE5", 422, "voucher_under_minimum"), ("TINY", 409, "voucher_budget_exhausted"),
             ("x" * 41, 422, None)]
    for code, status, error_code in cases:
        response = check_out(buyer, address=UK_ADDRESS, voucher_code=code)
        assert response.status_code == status, (code, response.text)
        error = response.json()["error"]
        assert error["field"] == "voucher_code", (code, error)
        if error_code:
            assert error["code"] == error_code
    add(buyer, catalog.tee)
    assert check_out(buyer, address=UK_ADDRESS, voucher_code="LIVE5").status_code == 201
    second = check_out(buyer, address=UK_ADDRESS, voucher_code="LIVE5")
    # The first checkout was replaced (and its use released) by this one: still allowed.
    assert second.status_code == 201
    assert pay(buyer, second.json()["id"]).status_code == 200
    add(buyer, catalog.tee)
    limited = check_out(buyer, address=UK_ADDRESS, voucher_code="LIVE5")
    assert limited.status_code == 409
    assert (limited.json()["error"]["field"], limited.json()["error"]["code"]) == \
        ("voucher_code", "voucher_limit_reached")
    with db.read() as session:
        assert session.scalar(select(func.sum(Voucher.spent))) == 500
        # Nothing was posted for the refused attempts.
        assert session.scalar(select(func.count()).select_from(Checkout).where(
            Checkout.status == "paid")) == 1


def test_the_checkout_page_takes_a_voucher_code_and_shows_its_error(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    open_voucher(db)
    buyer = make_user()
    add(buyer, catalog.mug)
    page = buyer.get("/checkout")
    assert "LIVE5" in page.text and 'name="voucher_code"' in page.text
    form = {"csrf_token": buyer.http.headers["X-CSRF-Token"], "idempotency_key": "k-1",
            "address_id": "new", **{k: v for k, v in UK_ADDRESS.items()},
            "payment_method_id": "new", "card_number": OK_CARD["number"], "exp_month": "12",
            "exp_year": "2030", "cvc": "123", "voucher_code": "LIVE5"}
    refused = buyer.post("/checkout", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert 'data-field="voucher_code"' in refused.text and "at least" in refused.text
    add(buyer, catalog.tee)
    accepted = buyer.post("/checkout", data={**form, "idempotency_key": "k-2"},
                          follow_redirects=False)
    assert accepted.status_code == 303, accepted.text
    with db.read() as session:
        assert session.scalar(select(Checkout.discount).where(Checkout.status == "paid")) \
            == 500


def test_200_buyers_at_once_redeem_a_voucher_whose_budget_covers_50(
        db: Database, settings: Settings, make_user: Any) -> None:
    seller = make_user("seller")
    shop = create_shop(db, seller.id, {"UK": 0})
    _, (variant,) = create_product(db, shop, [VariantSpec({"UK": 3000}, stock=250)])
    voucher_id = open_voucher(db, code="RUSH", budget=50 * 500, min_basket=0)
    actors = []
    for token in make_buyers(db, 200):
        actor = actor_of_token(db, token)
        assert actor is not None
        actors.append(Actor(actor.user_id, Role.BUYER))
        carts.add_item(db, settings, actors[-1], UK, variant, 1)
    queue = iter(actors)
    data = CheckoutIn(address_id=None, address=None, voucher_code="RUSH")

    with db.read() as session:
        addresses = dict(session.execute(select(Address.user_id, Address.id)).all())
    lock = threading.Lock()

    def redeem() -> Any:
        with lock:
            actor = next(queue)
        return service.create_checkout(
            db, settings, actor, UK,
            data.model_copy(update={"address_id": addresses[actor.user_id]}),
            key()["Idempotency-Key"])

    results = in_threads(200, redeem)
    won = [r for r in results if not isinstance(r, BaseException) and r.status == 201]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(won) == 50, [r for r in results if isinstance(r, BaseException)][:3]
    assert len(refused) == 150
    assert {r.code for r in refused} == {"voucher_budget_exhausted"}
    assert spent(db, voucher_id) == 50 * 500
    assert redemptions(db) == [("reserved", 500)] * 50
