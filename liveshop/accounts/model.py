"""Who is acting, and what their role lets them do. Free of HTTP and SQL."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    CREATOR = "creator"
    MODERATOR = "moderator"
    ADMIN = "admin"


# Roles a person may pick at sign-up; moderator and admin are granted by an admin.
SELF_SERVICE_ROLES = (Role.BUYER, Role.SELLER, Role.CREATOR)


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
