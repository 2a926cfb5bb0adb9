"""Sign-up, log-in (password or e-mailed link), log-out, account and market choice pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, BackgroundTasks, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from liveshop.accounts import service
from liveshop.accounts.model import Actor
from liveshop.accounts.schemas import (
    AddressIn,
    LogIn,
    LoginLinkRequest,
    PasswordChange,
    ProfileChange,
    SignUp,
    TokenCreate,
)
from liveshop.auth.api import (
    LINK_SENT,
    ask_for_login_link,
    end_browser_session,
    known_devices,
    session_of,
    sign_in,
)
from liveshop.checkout import saved_cards
from liveshop.core.errors import DomainError, Forbidden
from liveshop.markets.addresses import country_choices, country_of_market
from liveshop.markets.model import COUNTRY_TO_MARKET, get_market
from liveshop.markets.visitor import MARKET_CHOICE
from liveshop.web.deps import Context, CurrentActor, FormCsrf, MaybeActor, client_ip, market_of
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


def _login_page(request: Request, *, status_code: int = 200, next: str = "/",
                error: str | None = None, email: str = "") -> Response:
    return render(request, "accounts/login.html", status_code=status_code, next=safe_next(next),
                  error=error, email=email)


def _link_request_page(request: Request, *, status_code: int = 200, error: str | None = None,
                       notice: str | None = None, email: str = "") -> Response:
    return render(request, "accounts/login_link_send.html", status_code=status_code,
                  error=error, notice=notice, email=email)


@router.get("/login")
def login_page(request: Request, actor: MaybeActor, next: str = "/") -> Response:
    return _login_page(request, next=next)


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
                               LogIn(email=email, password=password), client_ip(request),
                               known_devices(request, context))
    except DomainError as error:
        return _login_page(request, status_code=error.status, next=next, error=error.message,
                           email=email)
    except ValidationError:
        # No account has such an address (too long, or with control characters).
        return _login_page(request, status_code=422, next=next,
                           error="Wrong email or password", email=email)
    response = RedirectResponse(safe_next(next), status_code=303)
    sign_in(request, response, context, actor)
    return response


@router.get("/login/link/send")
def login_link_request_page(request: Request) -> Response:
    return _link_request_page(request)


@router.post("/login/link/send", dependencies=[FormCsrf])
def login_link_send(request: Request, context: Context, background: BackgroundTasks,
                    email: Annotated[str, Form()] = "") -> Response:
    try:
        ask_for_login_link(request, context, background, LoginLinkRequest(email=email).email)
    except ValidationError:
        return _link_request_page(request, status_code=422, error="Enter your e-mail address.")
    except DomainError as error:
        return _link_request_page(request, status_code=error.status, error=error.message,
                                  email=email)
    return _link_request_page(request, notice=LINK_SENT + ".", email=email)


@router.get("/login/link")
def login_link_page(request: Request, token: str = "") -> Response:
    """Where the e-mailed link leads: a button that signs in. Opening the link changes
    nothing, so a mail scanner fetching it does not use it up."""
    return render(request, "accounts/login_link.html", token=token)


@router.post("/login/link", dependencies=[FormCsrf])
def login_link_submit(request: Request, context: Context,
                      token: Annotated[str, Form()] = "") -> Response:
    try:
        actor = service.redeem_login_link(context.db, context.limiter, token, client_ip(request))
    except DomainError as error:
        return _login_page(request, status_code=error.status, error=error.message)
    response = RedirectResponse("/", status_code=303)
    sign_in(request, response, context, actor)
    return response


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
    response = RedirectResponse("/", status_code=303)
    sign_in(request, response, context, actor)
    return response


@router.post("/logout", dependencies=[FormCsrf])
def logout(request: Request, context: Context) -> Response:
    end_browser_session(request, context)
    return RedirectResponse("/", status_code=303)


@router.post("/market", dependencies=[FormCsrf])
def choose_market(
    request: Request, market: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    request.session[MARKET_CHOICE] = get_market(market).code
    return RedirectResponse(safe_next(next), status_code=303)


def _account_page(request: Request, context: Context, actor: Actor, *, status_code: int = 200,
                  new_token: str | None = None, error: str | None = None,
                  notice: str | None = None) -> Response:
    return render(
        request, "accounts/account.html", status_code=status_code,
        user=service.get_user(context.db, actor), developer=actor.can_sell(),
        tokens=service.list_api_tokens(context.db, actor) if actor.can_sell() else [],
        addresses=service.list_addresses(context.db, actor),
        cards=saved_cards.list_payment_methods(context.db, actor),
        # Named in the page's language; a new address starts in the market's country.
        countries=country_choices(COUNTRY_TO_MARKET, market_of(request).locale),
        default_country=country_of_market(market_of(request).code),
        new_token=new_token, error=error, notice=notice,
    )


@router.get("/account")
def account(request: Request, context: Context, actor: CurrentActor) -> Response:
    return _account_page(request, context, actor)


@router.post("/account/profile", dependencies=[FormCsrf])
def change_profile(
    request: Request, context: Context, actor: CurrentActor,
    display_name: Annotated[str, Form()] = "", email: Annotated[str, Form()] = "",
    current_password: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = ProfileChange(display_name=display_name, email=email,
                             current_password=current_password or None)
        service.change_profile(context.db, context.limiter, context.settings, actor, data)
    except (ValidationError, DomainError) as error:
        return _refused_form(request, context, actor, error)
    return _account_page(request, context, actor, notice="Profile saved.")


@router.post("/account/password", dependencies=[FormCsrf])
def change_password(
    request: Request, context: Context, actor: CurrentActor,
    current_password: Annotated[str, Form()] = "", new_password: Annotated[str, Form()] = "",
    revoke_api_tokens: Annotated[bool, Form()] = False,
) -> Response:
    try:
        data = PasswordChange(current_password=current_password, new_password=new_password,
                              revoke_api_tokens=revoke_api_tokens)
        changed = service.change_password(context.db, context.limiter, context.settings, actor,
                                          data, keeping_session=session_of(request, actor))
    except (ValidationError, DomainError) as error:
        return _refused_form(request, context, actor, error)
    ended = changed.sessions_ended
    notice = (f"Password changed; {ended} other session{'s' * (ended != 1)} logged out"
              + (f", {changed.api_tokens_revoked} API token(s) revoked."
                 if changed.api_tokens_revoked else "."))
    return _account_page(request, context, actor, notice=notice)


def _refused_form(request: Request, context: Context, actor: Actor,
                  error: ValidationError | DomainError) -> Response:
    """The account page again, saying which field of the posted form was refused."""
    if isinstance(error, DomainError):
        return _account_page(request, context, actor, status_code=error.status,
                             error=error.message)
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]).replace("_", " ")
    return _account_page(request, context, actor, status_code=422,
                         error=f"{field}: {first['msg']}")


@router.post("/account/tokens", dependencies=[FormCsrf])
def create_token(request: Request, context: Context, actor: CurrentActor,
                 name: Annotated[str, Form()] = "") -> Response:
    if not actor.can_sell():
        # The account page offers tokens to those who integrate (sellers and admins).
        raise Forbidden("API tokens are for seller and admin accounts", field="role")
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
    saved_cards.delete_payment_method(context.db, actor, method_id)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/addresses", dependencies=[FormCsrf])
def add_address(
    request: Request, context: Context, actor: CurrentActor,
    full_name: Annotated[str, Form()] = "", line1: Annotated[str, Form()] = "",
    line2: Annotated[str, Form()] = "", city: Annotated[str, Form()] = "",
    postcode: Annotated[str, Form()] = "", country: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = AddressIn(full_name=full_name, line1=line1, line2=line2, city=city,
                         postcode=postcode, region=region, country=country)
        service.save_address(context.db, actor, data)
    except (ValidationError, DomainError) as error:
        return _refused_form(request, context, actor, error)
    return RedirectResponse("/account", status_code=303)
