"""Who is acting, and what their role lets them do. Free of HTTP and SQL."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    CREATOR = "creator"
    MODERATOR = "moderator"
    ADMIN = "admin"


# Roles a person may pick at sign-up (the sign-up schema lists them); moderator and admin
# are granted by an admin.
SelfServiceRole = Literal[Role.BUYER, Role.SELLER, Role.CREATOR]


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: Role
    display_name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def can_sell(self) -> bool:
        return self.role in (Role.SELLER, Role.ADMIN)


# --- log-in throttling (OWASP, "Slow Down Online Guessing Attacks with Device Cookies") ---

# 2 ** this many seconds is past any cap; keeps the power small however many failures.
_MAX_DOUBLINGS = 30


@dataclass(frozen=True)
class Backoff:
    """After ``free`` failures, each further try waits 1, 2, 4 ... s after the latest
    failure, at most ``cap_seconds``. Tries refused meanwhile are not failures."""

    free: int
    cap_seconds: float

    def wait_seconds(self, failures: int, seconds_since_last: float) -> float:
        if failures < self.free:
            return 0.0
        delay = min(self.cap_seconds, 2.0 ** min(failures - self.free, _MAX_DOUBLINGS))
        return max(0.0, delay - seconds_since_last)


@dataclass(frozen=True)
class LoginThrottle:
    """Failed log-ins slow their source down; they never lock the account for everyone.

    - A source is one IP trying one account: after ``per_source.free`` failures it waits.
    - A browser that signed in to the account before carries a signed device cookie and is
      its own source: only its failures count against it, never the account's, so the owner
      gets in from a known browser while strangers are guessing. After ``per_source.free``
      failures the cookie is distrusted and the browser counts as unknown.
    - Unknown browsers together are one more source per account: after
      ``per_account.free`` failures from all of them, each waits, so a crowd of IPs cannot
      guess fast either. The owner then signs in from a known browser or with an e-mailed
      link (which also makes the browser known).
    """

    per_source: Backoff
    per_account: Backoff

    def trusts_device(self, device_failures: int) -> bool:
        return device_failures < self.per_source.free

    def wait_seconds(self, source_failures: int, source_since_last: float,
                     account_failures: int, account_since_last: float) -> float:
        """How long an unknown browser must wait before trying again (0: it may now)."""
        return max(self.per_source.wait_seconds(source_failures, source_since_last),
                   self.per_account.wait_seconds(account_failures, account_since_last))


def login_link_text(url: str, minutes: int) -> str:
    return (
        "Someone (we hope you) asked to sign in to liveshop with this e-mail address.\n\n"
        f"Open this link to sign in; it works once, within {minutes} minutes:\n\n{url}\n\n"
        "Signing in with it also lets this browser log in with your password while someone\n"
        "else is guessing it. If you did not ask for it, ignore this message: nobody can use\n"
        "the link without access to your mailbox.\n")
