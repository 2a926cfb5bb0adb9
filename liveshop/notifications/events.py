"""The notification package's own domain event (liveshop/core/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from liveshop.core.events import DomainEvent


@dataclass(frozen=True)
class MailQueued(DomainEvent):
    """A mail to send once the transaction that queued it commits: through the outbox, so
    a crash loses none, and a failing mail server only delays it (the relay retries).

    Each mail is its own outbox message: one that fails is retried alone, and never makes
    another handler's work run again."""

    durable = True
    # Relayed apart from order events: a slow or refusing mail server delays only mail.
    lane = "mail"
    # Names the mail for good (its Message-ID is built from it; see core/mail.py).
    key: str
    to: str
    subject: str
    text: str
    # The page the mail leads to, relative to the site: made absolute with
    # LIVESHOP_PUBLIC_URL when it is sent.
    path: str
