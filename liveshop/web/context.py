"""What every request handler can reach: settings, database, rate limiter, payments, media."""

from __future__ import annotations

from dataclasses import dataclass, field

from liveshop.accounts.service import TokenUse
from liveshop.checkout.payments import PaymentProvider, TestPaymentProvider
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.core.ratelimit import MemoryRateLimiter, RateLimiter


@dataclass
class AppContext:
    settings: Settings
    db: Database
    limiter: RateLimiter = field(default_factory=MemoryRateLimiter)
    payments: PaymentProvider = field(default_factory=TestPaymentProvider)
    token_use: TokenUse = field(default_factory=TokenUse)
