"""A payout statement made directly in the database, for tests about who may act on one
(the payout run itself is tested in tests/payouts/test_run.py)."""

from __future__ import annotations

from liveshop.core.db import Database, utcnow
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey
from liveshop.payouts.model import payout_sent_entry
from liveshop.payouts.orm import PayoutStatement


def make_statement(db: Database, shop_id: int, amount: int = 1000) -> int:
    """A sent statement paying the shop ``amount`` GBP (its entry posted, so the books
    stay even when it is marked paid)."""
    account = AccountKey.seller_payable(shop_id, "GBP")
    now = utcnow()
    with db.transaction() as session:
        (account_id,) = ledger.account_ids(session, [account]).values()
        statement = PayoutStatement(payee=str(account.owner), currency="GBP",
                                    account_id=account_id, amount=amount, line_count=0,
                                    status="sent", created_at=now, as_of=now)
        session.add(statement)
        session.flush()
        statement.entry_id = ledger.post(
            session, payout_sent_entry(statement.id, account, amount)).entry_id
        return statement.id
