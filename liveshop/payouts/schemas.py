"""Payout statements as the API and the pages show them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from liveshop.core.inputs import JsonInput
from liveshop.payouts.model import StatementStatus


class StatementView(BaseModel):
    id: int
    payee: str  # "shop:12" or "creator:7"
    payee_name: str
    currency: str
    # Minor units paid to the payee (the sum of its lines: earnings less clawbacks).
    amount: int
    line_count: int
    status: StatementStatus
    created_at: datetime
    # The run's clock: deliveries whose withdrawal period had ended by then are covered.
    as_of: datetime
    paid_at: datetime | None
    provider: str | None
    provider_ref: str | None


class RunSummary(BaseModel):
    """What a payout run made: one statement per payee and currency owed money."""

    as_of: datetime
    statements: list[StatementView]
    # Payees whose available balance was not positive (a clawback bigger than what came
    # in): nothing paid, the balance carried into the next run.
    carried: int
    totals: dict[str, int]


class MarkPaidIn(JsonInput):
    """The payment's reference (a bank transfer's), if the admin has one."""

    reference: str = Field(default="", max_length=100)


class KindBalance(BaseModel):
    kind: str  # ledger AccountKind: cash, seller_payable, ...
    # The sum of all such accounts' postings: debit balances positive (cash), what the
    # platform owes negative (payables, revenue, VAT).
    balance: int


class CurrencyBooks(BaseModel):
    """One currency of the books: its trial balance and its balances per account kind."""

    currency: str
    debits: int
    credits: int
    balanced: bool
    kinds: list[KindBalance]


class Books(BaseModel):
    currencies: list[CurrencyBooks]
    # Statements made and not yet marked paid: what payouts in transit holds.
    awaiting_payment: list[StatementView]
