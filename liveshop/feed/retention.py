"""Retention of raw interaction events: those older than the configured age
(``feed_event_retention_days``) are summed per day, market, kind and item into
``feed_event_days`` and deleted. Training reads only recent raw events; analysis of older
periods reads the summaries. Run by ``liveshop feed prune`` (e.g. daily from cron)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import String, cast, delete, func, literal_column, select

from liveshop.core.db import Database, rows_affected, utcnow
from liveshop.feed.orm import FeedEvent, FeedEventDay


def prune(db: Database, older_than_days: int, now: datetime | None = None) -> int:
    """Summarise and delete the raw events of whole days before the cut-off; how many
    raw events were deleted. Safe to repeat: a day's summary is added to, never lost."""
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    cutoff = cutoff.replace(hour=0, minute=0, second=0, microsecond=0)
    day = func.date(FeedEvent.occurred_at)
    # A literal, not a bound parameter: PostgreSQL must see the same expression in the
    # SELECT and the GROUP BY.
    market = func.coalesce(FeedEvent.market, literal_column("''"))
    person = func.coalesce(cast(FeedEvent.user_id, String), FeedEvent.visitor_id)
    with db.transaction() as session:
        rows = session.execute(
            select(day, market, FeedEvent.kind,
                   FeedEvent.item_type, FeedEvent.item_id, func.count(),
                   func.count(func.distinct(person)), func.sum(FeedEvent.value))
            .where(FeedEvent.occurred_at < cutoff)
            .group_by(day, market, FeedEvent.kind,
                      FeedEvent.item_type, FeedEvent.item_id)).all()
        for raw_day, market_code, kind, item_type, item_id, events, people, value in rows:
            when = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
            key = (when, market_code, kind, item_type, item_id)
            existing = session.get(FeedEventDay, key)
            if existing is None:
                session.add(FeedEventDay(day=when, market=market_code, kind=kind,
                                         item_type=item_type, item_id=item_id,
                                         events=int(events), people=int(people),
                                         value=float(value or 0)))
            else:
                existing.events += int(events)
                existing.people += int(people)
                existing.value += float(value or 0)
        deleted = session.execute(delete(FeedEvent).where(FeedEvent.occurred_at < cutoff))
        return rows_affected(deleted)
