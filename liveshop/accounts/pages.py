"""Sign-up, log-in, log-out and market choice pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from liveshop.accounts import service
from liveshop.accounts.api import start_session
from liveshop.accounts.model import Actor
from liveshop.accounts.schemas import AddressIn, LogIn, SignUp, TokenCreate
from liveshop.checkout import service as payments
from liveshop.core.errors import DomainError
from liveshop.markets.model import COUNTRY_TO_MARKET, get_market
from liveshop.web.deps import Context, CurrentActor, FormCsrf, MaybeActor, client_ip
from liveshop.web.templating import render

router = APIRouter()


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
    except ValidationError:
        # No account has such an address (too long, or with control characters).
        return render(request, "accounts/login.html", status_code=422,
                      next=safe_next(next), error="Wrong email or password", email=email)
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


def _account_page(request: Request, context: Context, actor: Actor, *, status_code: int = 200,
                  new_token: str | None = None, error: str | None = None) -> Response:
    return render(
        request, "accounts/account.html", status_code=status_code,
        user=service.get_user(context.db, actor),
        tokens=service.list_api_tokens(context.db, actor),
        addresses=service.list_addresses(context.db, actor),
        cards=payments.list_payment_methods(context.db, actor),
        countries=sorted(COUNTRY_TO_MARKET), new_token=new_token, error=error,
    )


@router.get("/account")
def account(request: Request, context: Context, actor: CurrentActor) -> Response:
    return _account_page(request, context, actor)


@router.post("/account/tokens", dependencies=[FormCsrf])
def create_token(request: Request, context: Context, actor: CurrentActor,
                 name: Annotated[str, Form()] = "") -> Response:
    try:
        data = TokenCreate(name=name)
    except ValidationError:
        return _account_page(request, context, actor, status_code=422,
                             error="Give the token a name (up to 80 characters).")
    created = service.create_api_token(context.db, actor, data.name)
    # Rendered (not redirected) so the token is shown exactly once and never stored in a URL.
    return _account_page(request, context, actor, status_code=201, new_token=created.token)


@router.post("/account/tokens/{token_id}/revoke", dependencies=[FormCsrf])
def revoke_token(token_id: int, context: Context, actor: CurrentActor) -> Response:
    service.revoke_api_token(context.db, actor, token_id)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/cards/{method_id}/delete", dependencies=[FormCsrf])
def delete_card(method_id: int, context: Context, actor: CurrentActor) -> Response:
    payments.delete_payment_method(context.db, actor, method_id)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/addresses", dependencies=[FormCsrf])
def add_address(
    request: Request, context: Context, actor: CurrentActor,
    full_name: Annotated[str, Form()] = "", line1: Annotated[str, Form()] = "",
    line2: Annotated[str, Form()] = "", city: Annotated[str, Form()] = "",
    postcode: Annotated[str, Form()] = "", country: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = AddressIn(full_name=full_name, line1=line1, line2=line2, city=city,
                         postcode=postcode, country=country)
        service.save_address(context.db, actor, data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]).replace("_", " ")
        return _account_page(request, context, actor, status_code=422,
                             error=f"{field}: {first['msg']}")
    except DomainError as error:
        return _account_page(request, context, actor, status_code=error.status,
                             error=error.message)
    return RedirectResponse("/account", status_code=303)
