"""Stream key and URLs for the show's host (docs/video.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from liveshop.core.inputs import Id
from liveshop.video import service
from liveshop.video.schemas import StreamInfo
from liveshop.web.deps import Context, CurrentActor

router = APIRouter(tags=["video"])


def _host_name(request: Request) -> str:
    return request.url.hostname or "localhost"


@router.get("/shows/{show_id}/stream", response_model=StreamInfo)
def get_stream(show_id: Id, request: Request, actor: CurrentActor,
               context: Context) -> StreamInfo:
    return service.stream_info(context.db, context.settings, actor, show_id,
                               _host_name(request))


@router.post("/shows/{show_id}/stream/key", response_model=StreamInfo)
def regenerate_key(show_id: Id, request: Request, actor: CurrentActor,
                   context: Context) -> StreamInfo:
    return service.regenerate_key(context.db, context.settings, actor, show_id,
                                  _host_name(request))
