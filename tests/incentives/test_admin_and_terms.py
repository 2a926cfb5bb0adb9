"""The back office's fees & incentives page (admins only, audited) and what its settings do
to lines paid afterwards: the market fee and the fee holiday copied onto each line, the
bonus of a campaign granted whole while its budget lasts. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from liveshop.core.db import Database, utcnow
from liveshop.incentives import service as incentives
from liveshop.incentives.model import Campaign
from liveshop.incentives.orm import BonusCampaign, BonusGrant, Voucher
from liveshop.orders.orm import Order, OrderLine
from tests.admin.conftest import audit_rows
from tests.checkout.conftest import UK_ADDRESS, Catalog, add, check_out, pay

TODAY = utcnow().date()


def form(user: Any, **data: str) -> dict[str, str]:
    return {"csrf_token": user.http.headers["X-CSRF-Token"], **data}


def buy_tee(buyer: Any, catalog: Catalog) -> list[int]:
    """Buy one tee (£24.00, shop A); the fee_bp copied onto its line."""
    add(buyer, catalog.tee)
    checkout = check_out(buyer, address=UK_ADDRESS).json()
    assert pay(buyer, checkout["id"]).status_code == 200
    return [line["variant_id"] for order in checkout["orders"] for line in order["lines"]]


def fees_paid(db: Database) -> list[int | None]:
    with db.read() as session:
        return list(session.scalars(select(OrderLine.fee_bp).order_by(OrderLine.id)))


def test_only_admins_change_fees_and_each_change_is_audited(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    admin, buyer = make_user("admin"), make_user()
    seller = make_user("seller")
    assert seller.post("/admin/incentives/fees", data=form(seller, market="UK", fee_bp="0"),
                       follow_redirects=False).status_code == 403
    buy_tee(buyer, catalog)
    saved = admin.post("/admin/incentives/fees", data=form(admin, market="UK", fee_bp="700",
                                                            reason="pilot over"),
                       follow_redirects=False)
    assert saved.status_code == 303
    page = admin.get(saved.headers["location"])
    assert 'data-fee-market="UK"' in page.text and "Fee saved" in page.text
    buy_tee(buyer, catalog)
    # The first line keeps the 5% it was paid under; the second is paid under 7%.
    assert fees_paid(db) == [500, 700]
    (row,) = audit_rows(db, "incentives.fee_changed")
    assert (row.target_label, row.before, row.after, row.reason) == (
        "UK", {"fee_bp": 500}, {"fee_bp": 700}, "pilot over")
    refused = admin.post("/admin/incentives/fees", data=form(admin, market="UK",
                                                              fee_bp="2500"))
    assert refused.status_code == 422
    assert "fee" in refused.text.lower()
    assert len(audit_rows(db, "incentives.fee_changed")) == 1


def test_a_new_shop_pays_no_fee_until_its_holiday_gmv_is_reached(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    admin, buyer = make_user("admin"), make_user()
    saved = admin.post("/admin/incentives/holiday", data=form(
        admin, days="30", gmv_GBP="3000", gmv_EUR="", gmv_USD=""), follow_redirects=False)
    assert saved.status_code == 303
    assert audit_rows(db, "incentives.holiday_changed")[0].after == {
        "days": 30, "gmv_limits": {"GBP": 3000}}
    for _ in range(3):
        buy_tee(buyer, catalog)
    # £0 then £24 sold before: under £30, fee-free; the third (after £48) pays the fee.
    assert fees_paid(db) == [0, 0, 500]
    assert "First sales in GBP" in admin.get("/admin/incentives").text


def test_vouchers_and_campaigns_are_created_paused_and_listed(
        make_user: Any, db: Database) -> None:
    admin = make_user("admin")
    nina = make_user("creator", email="nina-test@example.com")
    made = admin.post("/admin/incentives/vouchers", data=form(
        admin, name="Spring", code="spring10", market="UK", percent_bp="1000",
        amount_off="", min_basket="2000", per_buyer_limit="2", budget="50000",
        starts_on=TODAY.isoformat(), ends_on=(TODAY + timedelta(days=10)).isoformat()),
        follow_redirects=False)
    assert made.status_code == 303, made.text
    page = admin.get("/admin/incentives").text
    assert "SPRING10" in page and "10% off a basket of £20.00 or more" in page
    with db.read() as session:
        voucher_id = session.scalars(select(Voucher.id)).one()
    assert admin.post(f"/admin/incentives/vouchers/{voucher_id}/pause",
                      data=form(admin, reason="abuse"), follow_redirects=False
                      ).status_code == 303
    assert "paused" in admin.get("/admin/incentives").text
    taken = admin.post("/admin/incentives/vouchers", data=form(
        admin, name="Again", code="SPRING10", market="UK", amount_off="100", budget="100",
        starts_on=TODAY.isoformat(), ends_on=TODAY.isoformat()))
    assert taken.status_code == 409
    bad = admin.post("/admin/incentives/vouchers", data=form(
        admin, name="Both", code="BOTH", market="UK", percent_bp="10", amount_off="100",
        budget="100", starts_on=TODAY.isoformat(), ends_on=TODAY.isoformat()))
    assert bad.status_code == 422
    made = admin.post("/admin/incentives/campaigns", data=form(
        admin, name="Nina's launch", market="UK", creator_email="nina-test@example.com",
        bonus_bp="300", budget="10000", starts_on=TODAY.isoformat(),
        ends_on=(TODAY + timedelta(days=7)).isoformat()), follow_redirects=False)
    assert made.status_code == 303, made.text
    assert "+3% for Creator" in admin.get("/admin/incentives").text
    with db.read() as session:
        assert session.scalars(select(BonusCampaign.creator_id)).one() == nina.id
    assert [row.action for row in audit_rows(db)] == [
        "incentives.voucher_created", "incentives.voucher_paused",
        "incentives.campaign_created"]


def test_a_campaign_grants_whole_bonuses_until_its_budget_has_no_room(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    creator, buyer = make_user("creator"), make_user()
    for _ in range(4):
        buy_tee(buyer, catalog)
    with db.transaction() as session:
        campaign = incentives.add_campaign(session, "Launch", Campaign(
            "UK", 300, 130, utcnow() - timedelta(hours=1), utcnow() + timedelta(days=1),
            creator.id))
        campaign_id = campaign.id
        line_ids = list(session.scalars(select(OrderLine.id).order_by(OrderLine.id)))
    granted = []
    for line_id in line_ids:
        with db.transaction() as session:
            # 3% of a £20.00 net is 60: the budget of 130 has room for two.
            granted.append(incentives.bonus_for_line(
                session, line_id=line_id, creator_id=creator.id, market="UK", net=2000,
                rate_bp=1000, now=utcnow()))
    assert granted == [300, 300, 0, 0]
    with db.read() as session:
        assert session.get(BonusCampaign, campaign_id).spent == 120  # type: ignore[union-attr]
        assert [g.amount for g in session.scalars(select(BonusGrant))] == [60, 60]
        # Another creator, another market: no campaign runs for them.
        assert incentives.bonus_for_line(session, line_id=line_ids[0], creator_id=buyer.id,
                                         market="UK", net=2000, rate_bp=1000,
                                         now=utcnow()) == 0
        assert session.scalars(select(Order.id)).first() is not None
