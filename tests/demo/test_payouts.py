"""The demo shows payouts: delivered orders past their withdrawal period were paid out on
statements (one marked paid), the sellers see theirs, and the books page balances."""

from __future__ import annotations

from typing import Any

from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.demo.seed import seed_demo
from tests.demo.test_journeys import HTML, log_in


def test_the_demo_has_payout_statements_and_books_that_balance(
        db: Database, settings: Settings, client: Any) -> None:
    seed_demo(db, settings)
    seed_demo(db, settings)  # a second start pays nothing again
    admin = log_in(client, "admin@example.com")
    statements = admin.get("/api/v1/admin/payouts").json()
    assert statements and {s["status"] for s in statements} == {"sent", "paid"}
    assert len({(s["payee"], s["currency"]) for s in statements}) == len(statements)
    books = admin.get("/api/v1/admin/books").json()
    assert books["currencies"] and all(c["balanced"] for c in books["currencies"])
    assert all(sum(k["balance"] for k in c["kinds"]) == 0 for c in books["currencies"])
    page = admin.get("/admin/books", headers=HTML).text
    assert 'data-balanced="yes"' in page and 'data-balanced="no"' not in page
    assert "data-statement-id" in admin.get("/admin/payouts", headers=HTML).text
    client.cookies.clear()
    olivia = log_in(client, "olivia@example.com")
    page = olivia.get("/seller/payouts", headers=HTML).text
    assert "data-statement-id" in page
