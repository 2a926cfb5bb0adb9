"""Users in the back office: search, change a role, suspend and reinstate."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from liveshop.accounts import service as accounts
from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.admin import audit, model
from liveshop.admin.acting import Keyed, act
from liveshop.admin.model import AuditAction, TargetType
from liveshop.admin.schemas import AdminUserView, ReasonIn, RoleChangeIn
from liveshop.core.db import Database
from liveshop.core.idempotency import StoredResponse


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(db: Database, admin: Actor, q: str = "", role: Role | None = None,
           suspended: bool | None = None, limit: int = model.SEARCH_LIMIT
           ) -> list[AdminUserView]:
    """Users whose name or e-mail contains ``q`` (any case), newest first."""
    model.require_admin(admin)
    query = select(User)
    words = " ".join(q.split()).lower()
    if words:
        pattern = f"%{_escape_like(words)}%"
        query = query.where(or_(func.lower(User.email).like(pattern, escape="\\"),
                                func.lower(User.display_name).like(pattern, escape="\\")))
    if role is not None:
        query = query.where(User.role == role.value)
    if suspended is not None:
        query = query.where(User.is_active.is_(not suspended))
    with db.read() as session:
        rows = session.scalars(query.order_by(User.id.desc()).limit(limit))
        return [AdminUserView.model_validate(row, from_attributes=True) for row in rows]


def change_role(db: Database, admin: Actor, user_id: int, data: RoleChangeIn,
                keyed: Keyed | None = None) -> StoredResponse:
    def step(session: Session) -> AdminUserView:
        model.check_role_change(admin, user_id, data.role)
        user, previous = accounts.change_role(session, user_id, data.role)
        audit.write(session, admin, AuditAction.USER_ROLE_CHANGED, TargetType.USER, user_id,
                    label=user.email, reason=data.reason, before={"role": previous.value},
                    after={"role": user.role.value})
        return AdminUserView.model_validate(user.model_dump())

    return act(db, admin, "role", {"user_id": user_id, **data.model_dump(mode="json")},
               step, keyed)


def set_suspended(db: Database, admin: Actor, user_id: int, suspended: bool, data: ReasonIn,
                  keyed: Keyed | None = None) -> StoredResponse:
    """Suspend: no log-in, every session ended, API tokens refused (see
    ``accounts.service.change_active`` for how fast each process hears of it)."""
    def step(session: Session) -> AdminUserView:
        if suspended:
            model.check_suspension(admin, user_id)
        user, was_active = accounts.change_active(session, user_id, not suspended)
        audit.write(session, admin,
                    AuditAction.USER_SUSPENDED if suspended else AuditAction.USER_REINSTATED,
                    TargetType.USER, user_id, label=user.email, reason=data.reason,
                    before={"active": was_active}, after={"active": user.is_active})
        return AdminUserView.model_validate(user.model_dump())

    return act(db, admin, "suspend" if suspended else "reinstate",
               {"user_id": user_id, **data.model_dump(mode="json")}, step, keyed)
