"""What happens to accounts that others must hear of after the commit."""

from __future__ import annotations

from dataclasses import dataclass

from liveshop.core.events import DomainEvent


@dataclass(frozen=True)
class UserAccessChanged(DomainEvent):
    """A user's role changed, or they were suspended or reinstated: what their API tokens
    may do changed, so every token lookup of this process forgets them (the others within
    ``TokenLookup.TTL_SECONDS``)."""

    user_id: int
