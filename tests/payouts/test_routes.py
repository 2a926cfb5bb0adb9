"""Payouts end to end over HTTP: an admin runs the payouts from the back office, payees
read their statements (only their own) and download them as CSV, an admin marks one paid
(audited), the earnings page and API say where the commission stands, the books balance."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable

from liveshop.core.db import Database
from tests.admin.conftest import audit_rows
from tests.conftest import UserClient
from tests.payouts.conftest import Sales

HTML = {"Accept": "text/html"}


def test_run_read_download_mark_paid_and_the_books(
        sales: Sales, db: Database, make_user: Callable[..., UserClient]) -> None:
    admin, stranger = make_user("admin"), make_user("seller")
    owner, creator = sales.stage.owner, sales.stage.creator
    sales.delivered_order(days_ago=15)
    pending = sales.order()  # not delivered: stays pending

    earnings = creator.get("/api/v1/me/earnings").json()
    assert (earnings["pending"], earnings["available"]) == ({"GBP": 200}, {"GBP": 200})

    # Only an admin runs the payouts: the button posts the form.
    assert creator.post("/admin/payouts/run", data={"csrf_token": creator.headers[
        "X-CSRF-Token"]}, follow_redirects=False).status_code == 403
    ran = admin.post("/admin/payouts/run", data={"csrf_token": admin.headers["X-CSRF-Token"]},
                     follow_redirects=False)
    assert ran.status_code == 303 and ran.headers["location"].startswith("/admin/payouts")
    assert [row.action for row in audit_rows(db, "payouts.run")] == ["payouts.run"]
    listed = admin.get("/admin/payouts", headers=HTML)
    assert listed.status_code == 200
    assert listed.text.count('data-status="sent"') == 2

    mine = creator.get("/api/v1/me/payouts").json()
    assert [(s["payee"], s["amount"], s["status"]) for s in mine] == [
        (f"creator:{creator.id}", 200, "sent")]
    shop = owner.get(f"/api/v1/shops/{sales.stage.shop_id}/payouts").json()
    assert [(s["amount"], s["line_count"]) for s in shop] == [(2032, 2)]
    # Nobody else reads them.
    assert stranger.get(f"/api/v1/shops/{sales.stage.shop_id}/payouts").status_code == 403
    assert creator.get(f"/api/v1/payouts/{shop[0]['id']}").status_code == 403
    assert owner.get(f"/api/v1/payouts/{mine[0]['id']}/csv").status_code == 403
    assert stranger.get(f"/api/v1/payouts/{mine[0]['id']}").status_code == 403
    assert owner.get("/api/v1/payouts/999999").status_code == 404

    downloaded = owner.get(f"/api/v1/payouts/{shop[0]['id']}/csv")
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"].startswith("text/csv")
    assert "attachment" in downloaded.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(downloaded.text)))
    assert sorted(row["amount_minor"] for row in rows) == ["1700", "332"]
    assert all(row["payee"] == f"shop:{sales.stage.shop_id}" for row in rows)

    page = owner.get("/seller/payouts", headers=HTML)
    assert page.status_code == 200 and f'data-statement-id="{shop[0]["id"]}"' in page.text
    assert stranger.get("/seller/payouts", headers=HTML).text.count("data-statement-id") == 0

    earnings = creator.get("/api/v1/me/earnings").json()
    assert (earnings["pending"], earnings["available"], earnings["in_payout"]) == (
        {"GBP": 200}, {}, {"GBP": 200})
    assert sorted(line["funds"] for line in earnings["lines"]) == ["in_payout", "pending"]
    page = creator.get("/creators/earnings", headers=HTML)
    assert 'data-funds="in_payout"' in page.text and f'data-statement-id="{mine[0]["id"]}"' \
        in page.text

    # Marked paid over the API, with a key: once, audited once.
    key = {"Idempotency-Key": uuid.uuid4().hex}
    for _ in range(2):
        paid = admin.post(f"/api/v1/admin/payouts/{mine[0]['id']}/paid",
                          json={"reference": "BANK-7"}, headers=key)
        assert paid.status_code == 200, paid.text
        assert (paid.json()["status"], paid.json()["provider_ref"]) == ("paid", "BANK-7")
    assert len(audit_rows(db, "payout_statement.paid")) == 1
    # And from the page.
    marked = admin.post(f"/admin/payouts/{shop[0]['id']}/paid", data={
        "csrf_token": admin.headers["X-CSRF-Token"], "reference": ""}, follow_redirects=False)
    assert marked.status_code == 303
    assert len(audit_rows(db, "payout_statement.paid")) == 2
    assert creator.get("/api/v1/me/earnings").json()["paid"] == {"GBP": 200}

    books = admin.get("/api/v1/admin/books").json()
    (gbp,) = books["currencies"]
    assert gbp["balanced"] and gbp["debits"] == gbp["credits"]
    assert sum(kind["balance"] for kind in gbp["kinds"]) == 0
    kinds = {kind["kind"]: kind["balance"] for kind in gbp["kinds"]}
    assert kinds["payouts_in_transit"] == 0 and kinds["creator_payable"] == -200  # pending
    assert books["awaiting_payment"] == []
    page = admin.get("/admin/books", headers=HTML)
    assert page.status_code == 200 and 'data-balanced="yes"' in page.text
    assert creator.get("/admin/books", headers=HTML).status_code == 403
    assert creator.get("/api/v1/admin/books").status_code == 403
    assert pending
