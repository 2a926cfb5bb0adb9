"""The overview (orders, GMV per currency, live shows, open reports) and the /admin pages:
admins only, every form with its CSRF token, every action on the audit page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from liveshop.admin.model import money_by_currency
from liveshop.core.db import Database
from liveshop.services import app_services
from tests.admin.conftest import audit_rows
from tests.admin.test_shops_and_shows import _shop_with_product, _show
from tests.factories import VariantSpec, create_product, create_shop
from tests.html import csrf_from
from tests.orders.conftest import build_order

PAGES = ("/admin", "/admin/users", "/admin/shops", "/admin/shows", "/admin/reports",
         "/admin/incentives", "/admin/audit")


def test_money_is_summed_per_currency_never_across() -> None:
    assert money_by_currency([("GBP", 100), ("EUR", 250), ("GBP", 5)]) == {
        "EUR": 250, "GBP": 105}


def test_the_overview_counts_paid_orders_and_gmv_per_currency(
        app: Any, db: Database, make_user: Any) -> None:
    admin, seller, buyer = make_user("admin"), make_user("seller"), make_user()
    shop_id = create_shop(db, seller.id, {"UK": 399, "DE": 499})
    _, (variant_id,) = create_product(db, shop_id, [VariantSpec(prices={"UK": 1000, "DE": 1200},
                                                                stock=50)])
    payments = app_services(app).context.payments
    build_order(db, payments, buyer_id=buyer.id, shop_id=shop_id, items=[(variant_id, 2)])
    build_order(db, payments, buyer_id=buyer.id, shop_id=shop_id, items=[(variant_id, 1)],
                market="DE")
    build_order(db, payments, buyer_id=buyer.id, shop_id=shop_id, items=[(variant_id, 1)],
                status="pending_payment")
    show_id = _show(seller, shop_id, create_product(db, shop_id)[0], live=True)

    data = admin.get("/api/v1/admin/overview").json()
    assert (data["orders_today"], data["orders_total"]) == (2, 2)
    assert {t["currency"]: t["amount"] for t in data["gmv_total"]} == {
        "GBP": 2000 + 399, "EUR": 1200 + 499}
    assert data["gmv_today"] == data["gmv_total"]
    assert [s["id"] for s in data["live_now"]] == [show_id]
    page = admin.get("/admin")
    assert page.status_code == 200
    assert 'data-gmv-total="GBP"' in page.text and 'data-gmv-total="EUR"' in page.text


@pytest.mark.parametrize("role", ["buyer", "seller", "moderator"])
def test_only_admins_open_the_back_office(app: Any, make_user: Any, role: str) -> None:
    user = make_user(role)
    for path in PAGES:
        page = user.get(path)
        assert page.status_code == 403, path
        assert "Only a platform admin" in page.text
    assert 'href="/admin"' not in user.get("/").text


def test_visitors_are_sent_to_log_in(app: Any) -> None:
    visitor = TestClient(app)
    for path in PAGES:
        page = visitor.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login"), path


def test_admin_pages_act_through_forms_with_csrf_and_show_the_audit(
        app: Any, db: Database, make_user: Any) -> None:
    admin, seller = make_user("admin"), make_user("seller", name="Sam Seller")
    shop, product_id, _ = _shop_with_product(seller, db)
    show_id = _show(seller, shop["id"], product_id, live=True)
    home = admin.get("/")
    assert 'href="/admin"' in home.text
    for path in PAGES:
        assert admin.get(path).status_code == 200, path
    users = admin.get("/admin/users", params={"q": "sam seller"}).text
    assert f'data-user-id="{seller.id}"' in users
    token = csrf_from(users)

    refused = admin.post(f"/admin/users/{seller.id}/suspend", data={"reason": "x"})
    assert refused.status_code == 403 and audit_rows(db) == []
    done = admin.post(f"/admin/users/{seller.id}/suspend",
                      data={"csrf_token": token, "reason": "Chargebacks", "q": "sam"},
                      follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == (
        "/admin/users?done=suspended&q=sam")
    assert "Suspended." in admin.get(done.headers["location"]).text
    admin.post(f"/admin/users/{seller.id}/reinstate", data={"csrf_token": token})
    admin.post(f"/admin/users/{seller.id}/role",
               data={"csrf_token": token, "role": "creator"})
    shows = admin.get("/admin/shows").text
    assert f'action="/admin/shows/{show_id}/end"' in shows
    admin.post(f"/admin/shows/{show_id}/end", data={"csrf_token": token})
    admin.post(f"/admin/shows/{show_id}/remove-replay", data={"csrf_token": token})
    admin.post(f"/admin/shops/{shop['id']}/suspend", data={"csrf_token": token})
    admin.post(f"/admin/shops/{shop['id']}/reinstate", data={"csrf_token": token})
    self_suspend = admin.post(f"/admin/users/{admin.id}/suspend", data={"csrf_token": token})
    assert self_suspend.status_code == 409 and "cannot suspend themselves" in self_suspend.text

    actions = [row.action for row in audit_rows(db)]
    assert actions == ["user.suspended", "user.reinstated", "user.role_changed",
                       "show.ended", "show.replay_removed", "shop.suspended",
                       "shop.reinstated"]
    log = admin.get("/admin/audit").text
    assert re.findall(r'data-audit-id="(\d+)"', log) == [
        str(row.id) for row in reversed(audit_rows(db))]
    assert "Chargebacks" in log
    only = admin.get("/admin/audit", params={"action": "show.ended"}).text
    assert len(re.findall(r"data-audit-id=", only)) == 1
