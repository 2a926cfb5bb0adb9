"""Sign-up, log-in, log-out and market choice pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from liveshop.accounts import service
from liveshop.accounts.api import start_session
from liveshop.accounts.schemas import LogIn, SignUp
from liveshop.core.errors import DomainError
from liveshop.markets.model import get_market
from liveshop.web.deps import Context, FormCsrf, MaybeActor, client_ip
from liveshop.web.templating import render

router = APIRouter(dependencies=[])


def safe_next(target: str | None) -> str:
    """Only same-site paths, so a crafted link cannot bounce a user to another site."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, actor: MaybeActor, next: str = "/") -> Response:
    return render(request, "accounts/login.html", next=safe_next(next), error=None, email="")


@router.post("/login", dependencies=[FormCsrf])
def login_submit(
    request: Request,
    context: Context,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        actor = service.log_in(context.db, context.limiter, context.settings,
                               LogIn(email=email, password=password), client_ip(request))
    except DomainError as error:
        return render(request, "accounts/login.html", status_code=error.status,
                      next=safe_next(next), error=error.message, email=email)
    start_session(request, actor)
    return RedirectResponse(safe_next(next), status_code=303)


@router.get("/signup")
def signup_page(request: Request, actor: MaybeActor) -> Response:
    return render(request, "accounts/signup.html", error=None, form={})


@router.post("/signup", dependencies=[FormCsrf])
def signup_submit(
    request: Request,
    context: Context,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "buyer",
) -> Response:
    form = {"email": email, "display_name": display_name, "role": role}
    try:
        data = SignUp.model_validate({**form, "password": password})
        actor = service.sign_up(context.db, data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        return render(request, "accounts/signup.html", status_code=422, form=form,
                      error=f"{field.replace('_', ' ')}: {first['msg']}")
    except DomainError as error:
        return render(request, "accounts/signup.html", status_code=error.status, form=form,
                      error=error.message)
    start_session(request, actor)
    return RedirectResponse("/", status_code=303)


@router.post("/logout", dependencies=[FormCsrf])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/", status_code=303)


@router.post("/market", dependencies=[FormCsrf])
def choose_market(
    request: Request, market: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    request.session["market"] = get_market(market).code
    return RedirectResponse(safe_next(next), status_code=303)
