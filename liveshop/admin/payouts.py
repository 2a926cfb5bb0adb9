"""Payouts and the books in the back office: run the payouts, mark a statement paid (both
audited), list statements, and the books page (trial balance per currency)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.admin import audit, model
from liveshop.admin.acting import Keyed, act
from liveshop.admin.model import AuditAction, TargetType
from liveshop.core.db import Database, utcnow
from liveshop.core.idempotency import StoredResponse
from liveshop.ledger import service as ledger
from liveshop.orders.payouts import run_payouts
from liveshop.payouts import service as payouts
from liveshop.payouts.model import PayoutPolicy, StatementStatus
from liveshop.payouts.provider import ManualPayouts, PayoutProvider
from liveshop.payouts.schemas import (
    Books,
    CurrencyBooks,
    KindBalance,
    MarkPaidIn,
    RunSummary,
    StatementView,
)

# How statements are paid today: by hand, then marked paid (payouts/provider.py).
PROVIDER: PayoutProvider = ManualPayouts()


def run(db: Database, admin: Actor, policy: PayoutPolicy) -> RunSummary:
    """The payout run, from the back office's button. Each payee's statement commits on
    its own (orders/payouts.py); the audit row records what the run made once it is done.
    Clicking twice pays nothing twice, so the button needs no idempotency key."""
    model.require_admin(admin)
    summary = run_payouts(db, policy)
    with db.transaction() as session:
        audit.write(session, admin, AuditAction.PAYOUTS_RUN, TargetType.PAYOUT_STATEMENT,
                    max((s.id for s in summary.statements), default=0),
                    label=f"{len(summary.statements)} statements",
                    after={"statements": [s.id for s in summary.statements],
                           "totals": summary.totals, "carried": summary.carried})
    return summary


def mark_paid(db: Database, admin: Actor, statement_id: int, data: MarkPaidIn,
              provider: PayoutProvider = PROVIDER, keyed: Keyed | None = None) -> StoredResponse:
    """Confirm a statement's money left (in transit -> cash), with its audit row, in one
    transaction; paid already, it changes nothing and writes no second row."""
    def step(session: Session) -> StatementView:
        before, after = payouts.mark_paid(session, statement_id, admin.user_id, provider,
                                          data.reference, utcnow())
        if before.status is not StatementStatus.PAID:
            audit.write(session, admin, AuditAction.PAYOUT_PAID, TargetType.PAYOUT_STATEMENT,
                        statement_id, label=f"{after.payee_name} {after.currency}",
                        before={"status": before.status.value},
                        after={"status": after.status.value, "amount": after.amount,
                               "provider": after.provider, "reference": after.provider_ref})
        return after

    return act(db, admin, "payout_paid", {"statement_id": statement_id,
                                          **data.model_dump()}, step, keyed)


def statements(db: Database, admin: Actor, status: StatementStatus | None = None
               ) -> list[StatementView]:
    model.require_admin(admin)
    with db.read() as session:
        return payouts.all_statements(session, status)


def books(db: Database, admin: Actor) -> Books:
    """Per currency: debits equal credits (the trial balance), and the balance of each
    kind of account, which sum to zero."""
    model.require_admin(admin)
    with db.read() as session:
        trial = ledger.trial_balance(session)
        by_kind = ledger.balances_by_kind(session)
        waiting = payouts.all_statements(session, StatementStatus.SENT)
    return Books(currencies=[CurrencyBooks(
        currency=totals.currency, debits=totals.debits, credits=totals.credits,
        balanced=totals.balanced,
        kinds=[KindBalance(kind=kind.value, balance=balance)
               for (kind, currency), balance in by_kind.items()
               if currency == totals.currency])
        for totals in trial], awaiting_payment=waiting)
