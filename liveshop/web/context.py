"""What every request handler can reach: settings, database, rate limiter, payments, mail."""

from __future__ import annotations

from dataclasses import dataclass, field

from liveshop.accounts.sessions import SessionUse
from liveshop.accounts.tokens import TokenLookup, TokenUse
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.core.mail import Mailer, MemoryMailer
from liveshop.core.ratelimit import MemoryRateLimiter, RateLimiter
from liveshop.payments.provider import PaymentProvider, TestPaymentProvider


@dataclass
class AppContext:
    settings: Settings
    db: Database
    limiter: RateLimiter = field(default_factory=MemoryRateLimiter)
    payments: PaymentProvider = field(default_factory=TestPaymentProvider)
    mailer: Mailer = field(default_factory=MemoryMailer)
    token_use: TokenUse = field(default_factory=TokenUse)
    session_use: SessionUse = field(default_factory=SessionUse)
    # Needs the database and token_use above, so it is built from them, never passed in.
    tokens: TokenLookup = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = TokenLookup(self.db, self.token_use)
