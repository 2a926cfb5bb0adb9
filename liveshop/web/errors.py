"""One error shape for the whole API: {"error": {"code", "message", "field"}} with a 4xx."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match, Mount

from liveshop.core.errors import DomainError, NotAuthenticated, RateLimited

log = logging.getLogger("liveshop.errors")


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable, e.g. out_of_stock, csrf_failed")
    message: str = Field(description="for people")
    field: str | None = Field(description="the input at fault, e.g. variants.1.prices.DE")


class ErrorBody(BaseModel):
    error: ErrorDetail


_STATUS_TEXT = {400: "Bad request", 401: "Not authenticated", 402: "Payment declined",
                403: "Forbidden", 404: "Not found", 409: "Conflict with the current state",
                413: "Too large", 422: "Invalid input", 429: "Rate limited",
                503: "Briefly unavailable"}
# Documented on every API route, so OpenAPI shows the error shape clients really get.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _STATUS_TEXT.items()
}


def error_json(status: int, code: str, message: str, field: str | None = None,
               headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}},
        status_code=status, headers=headers,
    )


def error_response(error: DomainError) -> JSONResponse:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    return error_json(error.status, error.code, error.message, error.field, headers)


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _field_of(location: Sequence[Any]) -> str | None:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


# The methods an Allow header can name.
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str | None:
    """The ``Allow`` header of a 405 (RFC 9110): every method some route serves at this path.

    Starlette's router answers 405 from the first route whose path matches, naming only that
    route's methods; a path served by several routes (``GET`` and ``PATCH /shows/{id}``)
    needs them all, so the router is asked for each method. Mounted apps (static files)
    answer their own 405s."""
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    served = [method for method in METHODS
              if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
                     for route in routes)]
    return ", ".join(served) or None


def install_error_handlers(app: FastAPI) -> None:
    from liveshop.web.templating import render

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        if wants_html(request):
            if isinstance(error, NotAuthenticated):
                return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)
            return render(request, "error.html", status_code=error.status, error=error)
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "Invalid request"}
        field = _field_of(first.get("loc", ()))
        message = str(first.get("msg", "Invalid request"))
        return error_json(422, "invalid", f"{field}: {message}" if field else message, field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        if wants_html(request) and error.status_code == 404:
            return render(request, "error.html", status_code=404,
                          error=DomainError("Page not found", code="not_found"))
        headers = dict(error.headers or {})
        if error.status_code == 405:
            # Static files name theirs (GET, HEAD); routes are looked up in the router.
            allow = allowed_methods(request) or headers.get("Allow")
            if allow:
                headers["Allow"] = allow
        return error_json(error.status_code, codes.get(error.status_code, "http_error"),
                          str(error.detail), headers=headers)

    async def out_of_range(request: Request, error: Exception) -> Response:
        # Values the schema let through but the database cannot store (an id beyond 64 bits
        # overflows SQLite's driver; PostgreSQL refuses one beyond 32 bits with a DataError).
        return error_json(422, "invalid", "A value is out of the accepted range")

    app.add_exception_handler(DataError, out_of_range)
    app.add_exception_handler(OverflowError, out_of_range)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, error: OperationalError) -> Response:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                    error.orig)
        return error_json(503, "unavailable", "The service is briefly unavailable; retry soon",
                          headers={"Retry-After": "2"})

    @app.exception_handler(RedisError)
    async def shared_state_unavailable(request: Request, error: RedisError) -> Response:
        # Rate limits and presence live in Redis when several processes share them.
        log.warning("redis unavailable on %s %s: %s", request.method, request.url.path, error)
        return error_json(503, "unavailable", "The service is briefly unavailable; retry soon",
                          headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_json(500, "internal", "Something went wrong on our side; it was logged")
