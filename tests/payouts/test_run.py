"""The payout run on SQLite and PostgreSQL: what is available is paid once, per payee and
currency; a clawback after a payout is netted next time; statements as CSV; marking paid."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from liveshop.accounts.model import Actor, Role
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Forbidden
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey
from liveshop.orders.payouts import run_payouts
from liveshop.payouts import service as payouts
from liveshop.payouts.model import PayoutPolicy, StatementStatus
from liveshop.payouts.orm import PayoutItem, PayoutStatement
from liveshop.payouts.provider import ManualPayouts
from tests.payouts.conftest import Sales

POLICY = PayoutPolicy()


def actor(user_id: int, role: Role) -> Actor:
    return Actor(user_id=user_id, role=role, display_name="someone")


def books_even(db: Database) -> None:
    with db.read() as session:
        for totals in ledger.trial_balance(session):
            assert totals.debits == totals.credits, totals


def by_payee(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {row.payee: int(row.total) for row in session.execute(
            select(PayoutStatement.payee, func.sum(PayoutStatement.amount).label("total"))
            .group_by(PayoutStatement.payee))}


def test_only_lines_past_the_withdrawal_period_are_paid_and_a_second_run_pays_nothing(
        sales: Sales, db: Database) -> None:
    old = sales.delivered_order(days_ago=15)
    sales.delivered_order(days_ago=3)  # within the 14 days: pending
    sales.order()  # not delivered: pending
    summary = run_payouts(db, POLICY)
    shop, creator = f"shop:{sales.stage.shop_id}", f"creator:{sales.stage.creator.id}"
    # The seller: 1700 for the line and 332 for the shipping; the creator 200.
    assert {(s.payee, s.currency, s.amount, s.line_count) for s in summary.statements} == {
        (shop, "GBP", 2032, 2), (creator, "GBP", 200, 1)}
    assert summary.totals == {"GBP": 2232}
    with db.read() as session:
        assert set(session.scalars(select(PayoutItem.order_id))) == {old}
        assert ledger.balance(session, AccountKey.payouts_in_transit("GBP")) == -2232
    again = run_payouts(db, POLICY)
    assert again.statements == [] and by_payee(db) == {shop: 2032, creator: 200}
    # Two weeks on, the second order is available too; the undelivered one still is not.
    later = run_payouts(db, POLICY, now=utcnow() + timedelta(days=12))
    assert {s.payee: s.amount for s in later.statements} == {shop: 2032, creator: 200}
    books_even(db)


def test_a_clawback_after_a_payout_is_netted_in_the_next_and_carried_while_negative(
        sales: Sales, db: Database) -> None:
    order_id = sales.delivered_order(days_ago=20, quantity=2)
    first = run_payouts(db, POLICY)
    creator = f"creator:{sales.stage.creator.id}"
    assert {s.payee: s.amount for s in first.statements}[creator] == 400
    # The buyer returns both units after the payout: 400 clawed back, nothing new in.
    sales.refund(order_id, {"full": True})
    with db.read() as session:
        payable = AccountKey.creator_payable(sales.stage.creator.id, "GBP")
        assert ledger.balance(session, payable) == 400  # the creator owes it back
    carried = run_payouts(db, POLICY)
    assert carried.statements == [] and carried.carried == 2  # the shop and the creator
    # A new sale of 3 units (commission 600) nets the clawback: 600 - 400.
    sales.delivered_order(days_ago=15, quantity=3)
    netted = run_payouts(db, POLICY)
    assert {s.payee: s.amount for s in netted.statements}[creator] == 200
    with db.read() as session:
        assert ledger.balance(session, payable) == 0
    books_even(db)


def test_concurrent_runs_pay_each_posting_once(sales: Sales, db: Database) -> None:
    for _ in range(3):
        sales.delivered_order(days_ago=30)
    results = []
    start = threading.Barrier(4)

    def run() -> None:
        start.wait()
        results.append(run_payouts(db, POLICY))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert sum(len(result.statements) for result in results) == 2
    shop, creator = f"shop:{sales.stage.shop_id}", f"creator:{sales.stage.creator.id}"
    assert by_payee(db) == {shop: 3 * 2032, creator: 600}
    with db.read() as session:
        assert ledger.balance(session, AccountKey.creator_payable(
            sales.stage.creator.id, "GBP")) == 0
    books_even(db)


def test_statement_csv_mark_paid_and_who_may_read_it(sales: Sales, db: Database) -> None:
    order_id = sales.delivered_order(days_ago=15)
    statements = {s.payee: s for s in run_payouts(db, POLICY).statements}
    shop_statement = statements[f"shop:{sales.stage.shop_id}"]
    creator_statement = statements[f"creator:{sales.stage.creator.id}"]
    owner = actor(sales.stage.owner.id, Role.SELLER)
    creator = actor(sales.stage.creator.id, Role.CREATOR)

    rows = list(csv.reader(io.StringIO("".join(
        payouts.statement_csv(db, owner, shop_statement.id)))))
    assert rows[0][:3] == ["statement_id", "payee", "currency"]
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(r["source"].split(":")[0], r["amount_minor"], r["amount"]) for r in body] == [
        ("order_line_paid", "1700", "17.00"), ("order_shipping_paid", "332", "3.32")]
    assert {r["description"] for r in body} == {"Silk Scarf Default", "Shipping"} or all(
        r["description"] for r in body)
    assert all(r["order_number"] for r in body)

    # Each payee reads only their own.
    with pytest.raises(Forbidden):
        payouts.statement_csv(db, creator, shop_statement.id)
    with pytest.raises(Forbidden):
        payouts.statement_of(db, owner, creator_statement.id)
    assert [s.id for s in payouts.creator_statements(db, creator)] == [creator_statement.id]
    assert [s.id for s in payouts.seller_statements(db, owner)] == [shop_statement.id]
    assert payouts.creator_statements(db, owner) == []
    assert order_id

    now = utcnow()
    with db.transaction() as session:
        before, after = payouts.mark_paid(session, creator_statement.id, 1, ManualPayouts(),
                                          "BANK-42", now)
    assert before.status is StatementStatus.SENT and after.status is StatementStatus.PAID
    assert after.provider == "manual" and after.provider_ref == "BANK-42"
    with db.transaction() as session:  # again: nothing more
        again, _ = payouts.mark_paid(session, creator_statement.id, 1, ManualPayouts(), "",
                                     now)
    assert again.status is StatementStatus.PAID
    with db.read() as session:
        assert ledger.balance(session, AccountKey.payouts_in_transit("GBP")) == -2032
        assert ledger.balance(session, AccountKey.cash("GBP")) == 2400 + 399 - 200
    books_even(db)


def test_the_cli_runs_the_payouts_once(sales: Sales, db: Database,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from liveshop.cli import app as cli
    from liveshop.core.config import get_settings

    sales.delivered_order(days_ago=15)
    monkeypatch.setenv("LIVESHOP_DATABASE_URL", str(db.url))
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(cli, ["payouts", "run"])
        assert first.exit_code == 0, first.output
        assert "2 statements, 22.32 GBP" in first.output
        again = CliRunner().invoke(cli, ["payouts", "run"])
        assert again.exit_code == 0 and "0 statements, nothing" in again.output
    finally:
        get_settings.cache_clear()
