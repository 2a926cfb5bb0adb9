"""Reports: a signed-in person reports a chat message or a product (once per target);
admins see the open ones and decide: dismiss, or remove the message / unpublish the
product. A decision closes every open report of the same target and is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import User
from liveshop.admin import audit, model
from liveshop.admin.acting import Keyed, act
from liveshop.admin.model import Decision, ReportStatus, ReportTarget, TargetType
from liveshop.admin.orm import Report
from liveshop.admin.schemas import DecisionIn, ReportIn, ReportReceived, ReportView
from liveshop.catalog import service as catalog
from liveshop.catalog.orm import Product, Shop
from liveshop.core.db import Database, upsert_into, utcnow
from liveshop.core.errors import NotFound
from liveshop.core.idempotency import StoredResponse
from liveshop.core.ratelimit import RateLimiter
from liveshop.live import chat
from liveshop.live.orm import ChatMessage

# Reports one person may file per hour: plenty for anyone reporting what they see, and a
# cap on a script flooding the queue.
REPORTS_PER_HOUR = 30
QUEUE_LIMIT = 100


@dataclass(frozen=True)
class _Target:
    text: str
    owner_id: int
    owner: str
    url: str | None
    live: bool


def _message_target(session: Session, message_id: int) -> _Target | None:
    message = session.get(ChatMessage, message_id)
    if message is None:
        return None
    return _Target(message.text, message.user_id, message.author,
                   f"/shows/{message.show_id}", message.deleted_at is None)


def _product_target(session: Session, product_id: int) -> _Target | None:
    row = session.execute(
        select(Product.title, Product.status, Shop.owner_id, Shop.name, Shop.suspended_at)
        .join(Shop, Shop.id == Product.shop_id).where(Product.id == product_id)).first()
    if row is None:
        return None
    title, status, owner_id, shop_name, suspended_at = row
    return _Target(title, owner_id, shop_name, f"/products/{product_id}",
                   status == "active" and suspended_at is None)


def _target(session: Session, target_type: ReportTarget, target_id: int) -> _Target | None:
    if target_type is ReportTarget.CHAT_MESSAGE:
        return _message_target(session, target_id)
    return _product_target(session, target_id)


def report(db: Database, limiter: RateLimiter, reporter: Actor, data: ReportIn
           ) -> ReportReceived:
    """File a report, or get back the one this person already filed on the target (its
    reason unchanged): reporting is idempotent by target, whatever the retry."""
    limiter.hit(f"report:{reporter.user_id}", limit=REPORTS_PER_HOUR, window_seconds=3600)
    with db.transaction() as session:
        target = _target(session, data.target_type, data.target_id)
        if target is None or not target.live:
            raise NotFound("There is no such message or product to report", field="target_id")
        model.check_report(reporter.user_id, target.owner_id, "target_id")
        session.execute(upsert_into(session, Report).values(
            reporter_id=reporter.user_id, target_type=data.target_type.value,
            target_id=data.target_id, reason=model.check_reason(data.reason),
            status=ReportStatus.OPEN.value, created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["reporter_id", "target_type", "target_id"]))
        filed = session.scalars(select(Report).where(
            Report.reporter_id == reporter.user_id, Report.target_type == data.target_type.value,
            Report.target_id == data.target_id)).one()
        return ReportReceived.model_validate(filed, from_attributes=True)


def _views(session: Session, reports: Sequence[Report]) -> list[ReportView]:
    names = dict(session.execute(select(User.id, User.display_name).where(
        User.id.in_({r.reporter_id for r in reports}))).all()) if reports else {}
    counts = {(target_type, target_id): count for target_type, target_id, count in
              session.execute(
                  select(Report.target_type, Report.target_id, func.count())
                  .where(Report.status == ReportStatus.OPEN.value,
                         Report.target_id.in_({r.target_id for r in reports}))
                  .group_by(Report.target_type, Report.target_id))}
    views = []
    for row in reports:
        target = _target(session, ReportTarget(row.target_type), row.target_id)
        views.append(ReportView(
            id=row.id, target_type=ReportTarget(row.target_type), target_id=row.target_id,
            reason=row.reason, status=ReportStatus(row.status), created_at=row.created_at,
            reporter_id=row.reporter_id, reporter_name=names.get(row.reporter_id, ""),
            target_text=target.text if target else "",
            target_owner=target.owner if target else "",
            target_url=target.url if target else None,
            target_live=target.live if target else False,
            reports_on_target=counts.get((row.target_type, row.target_id), 0)))
    return views


def queue(db: Database, admin: Actor, status: ReportStatus = ReportStatus.OPEN,
          limit: int = QUEUE_LIMIT) -> list[ReportView]:
    """Reports in ``status``: the open ones oldest first (a queue), decided ones newest
    first (a history)."""
    model.require_admin(admin)
    order = (Report.id.asc(),) if status is ReportStatus.OPEN else (Report.decided_at.desc(),
                                                                     Report.id.desc())
    with db.read() as session:
        rows = session.scalars(select(Report).where(Report.status == status.value)
                               .order_by(*order).limit(limit)).all()
        return _views(session, rows)


def _remove_target(session: Session, admin: Actor, report: Report) -> dict[str, object]:
    """Remove the reported message or unpublish the product; what it was before."""
    if report.target_type == ReportTarget.CHAT_MESSAGE:
        message = session.get(ChatMessage, report.target_id)
        if message is None:
            return {"exists": False}
        shown = message.deleted_at is None
        chat.remove_message(session, admin, message.show_id, message.id)
        return {"shown": shown}
    try:
        _, status = catalog.unpublish_product(session, report.target_id)
    except NotFound:
        return {"exists": False}
    return {"status": status}


def decide(db: Database, admin: Actor, report_id: int, data: DecisionIn,
           keyed: Keyed | None = None) -> StoredResponse:
    def step(session: Session) -> ReportView:
        report = session.get(Report, report_id, with_for_update=True)
        if report is None:
            raise NotFound("No such report", field="report_id")
        model.ensure_open(report.status)
        target_type = ReportTarget(report.target_type)
        target = _target(session, target_type, report.target_id)
        before: dict[str, object] = {}
        if data.decision is Decision.REMOVE:
            before = _remove_target(session, admin, report)
        closed = list(session.scalars(update(Report).where(
            Report.target_type == report.target_type, Report.target_id == report.target_id,
            Report.status == ReportStatus.OPEN.value,
        ).values(status=model.outcome(data.decision).value, decided_at=utcnow(),
                 decided_by=admin.user_id).returning(Report.id)))
        audit.write(session, admin, model.decision_action(target_type, data.decision),
                    TargetType(target_type.value), report.target_id,
                    label=(target.text if target else "")[:254], reason=data.reason,
                    before=before or None,
                    after={"decision": data.decision.value, "reports": sorted(closed)})
        session.refresh(report)
        return _views(session, [report])[0]

    return act(db, admin, "report_decide", {"report_id": report_id,
                                            **data.model_dump(mode="json")}, step, keyed)


def open_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Report).where(
        Report.status == ReportStatus.OPEN.value)) or 0)
