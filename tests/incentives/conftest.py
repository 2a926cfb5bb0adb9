"""The checkout tests' catalog (two shops, a buyer's cart) and a way to open vouchers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from liveshop.core.db import Database, utcnow
from liveshop.incentives import service as incentives
from liveshop.incentives.model import VoucherTerms
from tests.checkout.conftest import catalog

__all__ = ["catalog", "open_voucher"]


def open_voucher(db: Database, code: str | None = "LIVE5", **changes: Any) -> int:
    terms: dict[str, Any] = {"market": "UK", "budget": 10_000,
                             "starts_at": utcnow() - timedelta(days=1),
                             "ends_at": utcnow() + timedelta(days=7), "code": code,
                             "amount_off": 500, "min_basket": 2000, "per_buyer_limit": 1}
    terms.update(changes)
    with db.transaction() as session:
        return incentives.add_voucher(session, "Test voucher", VoucherTerms(**terms)).id
