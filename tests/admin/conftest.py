"""Helpers for the back-office tests: API calls with an Idempotency-Key, the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from liveshop.admin.orm import AuditEntry
from liveshop.core.db import Database


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def audit_rows(db: Database, action: str | None = None) -> list[AuditEntry]:
    with db.read() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def admin_post(client: Any, path: str, body: Any = None, method: str = "POST") -> Any:
    return client.request(method, f"/api/v1/admin{path}", json=body, headers=key())
