"""Payout statements over the API: a creator's own, a shop's (its owner's), and any one
as CSV to its payee or an admin."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from liveshop.core.inputs import Id
from liveshop.payouts import service
from liveshop.payouts.schemas import StatementView
from liveshop.web.deps import Context, CurrentActor

router = APIRouter(tags=["payouts"])


class CsvResponse(StreamingResponse):
    """A streamed CSV file."""

    media_type = "text/csv"


@router.get("/me/payouts", response_model=list[StatementView])
def my_statements(actor: CurrentActor, context: Context) -> list[StatementView]:
    """The signed-in creator's payout statements, newest first."""
    return service.creator_statements(context.db, actor)


@router.get("/shops/{shop_id}/payouts", response_model=list[StatementView])
def shop_statements(shop_id: Id, actor: CurrentActor, context: Context
                    ) -> list[StatementView]:
    """A shop's payout statements, newest first (its owner and admins)."""
    return service.shop_statements(context.db, actor, shop_id)


@router.get("/payouts/{statement_id}", response_model=StatementView)
def statement(statement_id: Id, actor: CurrentActor, context: Context) -> StatementView:
    return service.statement_of(context.db, actor, statement_id)


# The route keeps the default (JSON) response class, so its error answers are documented
# as the JSON they are; the file itself is documented as text/csv.
@router.get("/payouts/{statement_id}/csv", response_model=None,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "A header, then one row per order line, refund "
                                            "or shipping the statement covers"}})
def statement_csv(statement_id: Id, actor: CurrentActor, context: Context) -> CsvResponse:
    """The statement as CSV, streamed: its payee or an admin."""
    rows = service.statement_csv(context.db, actor, statement_id)
    return CsvResponse(rows, headers={
        "Content-Disposition": f'attachment; filename="payout-{statement_id}.csv"'})
