"""The API reference page (/docs): Swagger UI reading the app's OpenAPI document.

Swagger UI comes from npm (swagger-ui-dist, installed by ``npm ci`` like hls.js) and is
started by a module file of ours: FastAPI's own page loads it from a CDN and starts it with
an inline script, both of which the Content-Security-Policy refuses, so /docs was blank.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from liveshop.web.templating import render

router = APIRouter()


@router.get("/docs")
def api_docs(request: Request) -> Response:
    return render(request, "api/docs.html", openapi_url=request.app.openapi_url)
