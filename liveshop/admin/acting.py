"""How every admin action runs: admins only, in one transaction that holds the action and
its audit row; from the JSON API also under the client's Idempotency-Key, whose stored
result commits in that same transaction (a retry replays it, writing no second row)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from liveshop.accounts import service as accounts
from liveshop.accounts.model import Actor
from liveshop.admin import model
from liveshop.core.db import Database
from liveshop.core.idempotency import StoredResponse, fingerprint, run_once

Step = Callable[[Session], BaseModel]


@dataclass(frozen=True)
class Keyed:
    """A request's Idempotency-Key and how long a key left running counts as abandoned."""

    key: str
    abandoned_seconds: float


def act(db: Database, admin: Actor, operation: str, payload: dict[str, Any], step: Step,
        keyed: Keyed | None = None, status: int = 200) -> StoredResponse:
    """Run ``step`` (the action and its audit row) once, for an admin."""
    model.require_admin(admin)

    def as_admin_now(session: Session) -> BaseModel:
        # The actor's role was read before this transaction: an admin demoted or suspended
        # meanwhile (two admins demoting each other at once) acts no more, so the platform
        # always keeps an admin. The admins' rows stay locked until the action commits.
        model.require_admin_now(admin, accounts.lock_active_admins(session))
        return step(session)

    if keyed is None:
        with db.transaction() as session:
            return StoredResponse(status, as_admin_now(session).model_dump(mode="json"), False)
    return run_once(
        db, user_id=admin.user_id, key=keyed.key,
        request_fingerprint=fingerprint(f"admin.{operation}", payload),
        operation=lambda session: (status, as_admin_now(session).model_dump(mode="json")),
        abandoned_seconds=keyed.abandoned_seconds)
