"""The audit log: every admin action writes its row inside the action's transaction
(``write``), and /admin/audit reads them back, newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.admin import model
from liveshop.admin.model import AuditAction, TargetType
from liveshop.admin.orm import AuditEntry
from liveshop.admin.schemas import AuditView
from liveshop.core.db import Database

AUDIT_PAGE = 100


def write(session: Session, admin: Actor, action: AuditAction, target_type: TargetType,
          target_id: int, *, label: str = "", reason: str = "",
          before: dict[str, Any] | None = None, after: dict[str, Any] | None = None
          ) -> AuditEntry:
    """Add the action's audit row to the caller's transaction: it commits with the action
    or not at all."""
    entry = AuditEntry(actor_id=admin.user_id, actor_name=admin.display_name[:80],
                       action=action.value, target_type=target_type.value,
                       target_id=target_id, target_label=label[:254], reason=reason,
                       before=before, after=after)
    session.add(entry)
    return entry


def entries(db: Database, admin: Actor, *, action: str = "", target_type: str = "",
            target_id: int | None = None, before_id: int | None = None,
            limit: int = AUDIT_PAGE) -> list[AuditView]:
    """The log, newest first; ``before_id`` pages back through it."""
    model.require_admin(admin)
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    with db.read() as session:
        rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit))
        return [AuditView.model_validate(row, from_attributes=True) for row in rows]
