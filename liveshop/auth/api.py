"""Account API: sign-up, log-in/out, sign-in links, passwords, the current user, API tokens,
addresses, roles and suspension."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response
from pydantic import BaseModel

from liveshop.accounts import service, sessions
from liveshop.accounts.devices import (
    DEVICE_COOKIE,
    DEVICE_COOKIE_MAX_AGE,
    device_cookie_after_sign_in,
    read_device_cookie,
)
from liveshop.accounts.model import Actor
from liveshop.accounts.schemas import (
    AddressIn,
    AddressView,
    LogIn,
    LoginLinkRequest,
    LoginLinkSent,
    NewToken,
    PasswordChange,
    PasswordChanged,
    ProfileChange,
    SignUp,
    TokenCreate,
    TokenView,
    UserView,
)
from liveshop.core.inputs import Id
from liveshop.core.mail import send_logged
from liveshop.creators.landing import visitor_of
from liveshop.creators.storefront import claim_visitor_clicks
from liveshop.markets.visitor import MARKET_CHOICE
from liveshop.web.context import AppContext
from liveshop.web.deps import Context, CurrentActor, client_ip, csrf_token

router = APIRouter(tags=["accounts"])

LINK_SENT = ("If an account exists for this address, a sign-in link is on its way; it works"
             " once, for a few minutes")


class Session(BaseModel):
    user: UserView
    csrf_token: str


def known_devices(request: Request, context: AppContext) -> dict[int, str]:
    """The accounts this browser signed in to before (its device cookie)."""
    return read_device_cookie(context.settings.secret_key, request.cookies.get(DEVICE_COOKIE))


def sign_in(request: Request, response: Response, context: AppContext, actor: Actor) -> str:
    """Start a fresh session (no fixation: a new id, the browser's previous session ended),
    keeping only the visitor's market choice, else choosing the market of their default
    address (a buyer in the UK on an en-US browser shops in the UK), and remember the
    browser as one that signed in to this account (the device cookie). Returns the
    session's CSRF token."""
    previous = request.session.get(sessions.SESSION_ID)
    session_id = sessions.open_session(context.db, actor, replacing=previous if isinstance(
        previous, str) else None)
    market = request.session.get(MARKET_CHOICE) or service.home_market(context.db, actor)
    # The share links this browser followed before signing in now earn the buyer's sales.
    claim_visitor_clicks(context.db, visitor_of(request, create=False), actor.user_id)
    request.session.clear()
    if market:
        request.session[MARKET_CHOICE] = market
    request.session[sessions.USER_ID] = actor.user_id
    request.session[sessions.SESSION_ID] = session_id
    response.set_cookie(
        DEVICE_COOKIE, device_cookie_after_sign_in(
            context.settings.secret_key, known_devices(request, context), actor.user_id),
        max_age=DEVICE_COOKIE_MAX_AGE, httponly=True, samesite="lax",
        secure=context.settings.secure_cookies)
    return csrf_token(request)


def end_browser_session(request: Request, context: AppContext) -> None:
    """End the session on the server (a copy of the cookie is worthless from now on). The
    market chosen stays: it is this browser's last choice, which the next sign-in keeps."""
    sessions.end_session(context.db, request.session)
    market = request.session.get(MARKET_CHOICE)
    request.session.clear()
    if market:
        request.session[MARKET_CHOICE] = market


def session_of(request: Request, actor: Actor) -> str | None:
    """The id of the actor's own browser session this request carries, if any."""
    session_id = request.session.get(sessions.SESSION_ID)
    same_user = request.session.get(sessions.USER_ID) == actor.user_id
    return session_id if same_user and isinstance(session_id, str) else None


def ask_for_login_link(request: Request, context: AppContext, background: BackgroundTasks,
                       email: str) -> None:
    """Mail a sign-in link if the address has an account; sent after the answer, so its
    timing cannot tell whether it does."""
    mail = service.request_login_link(context.db, context.limiter, context.settings, email,
                                      client_ip(request))
    if mail is not None:
        background.add_task(send_logged, context.mailer, mail)


@router.post("/auth/signup", status_code=201, response_model=Session)
def sign_up(data: SignUp, request: Request, response: Response, context: Context) -> Session:
    actor = service.sign_up(context.db, data)
    token = sign_in(request, response, context, actor)
    return Session(user=service.get_user(context.db, actor), csrf_token=token)


@router.post("/auth/login", response_model=Session)
def log_in(data: LogIn, request: Request, response: Response, context: Context) -> Session:
    actor = service.log_in(context.db, context.limiter, context.settings, data, client_ip(request),
                           known_devices(request, context))
    token = sign_in(request, response, context, actor)
    return Session(user=service.get_user(context.db, actor), csrf_token=token)


@router.post("/auth/logout", status_code=204)
def log_out(request: Request, context: Context) -> None:
    end_browser_session(request, context)


@router.post("/auth/login-link", status_code=202, response_model=LoginLinkSent)
def request_login_link(data: LoginLinkRequest, request: Request, context: Context,
                       background: BackgroundTasks) -> LoginLinkSent:
    """E-mail a one-time sign-in link (valid LIVESHOP_LOGIN_LINK_TTL_SECONDS). The answer is
    the same whether or not the address has an account."""
    ask_for_login_link(request, context, background, data.email)
    return LoginLinkSent(message=LINK_SENT)


@router.post("/auth/password", response_model=PasswordChanged)
def change_password(data: PasswordChange, request: Request, actor: CurrentActor,
                    context: Context) -> PasswordChanged:
    """Every other session of the user ends; this browser's stays."""
    return service.change_password(context.db, context.limiter, context.settings, actor, data,
                                   keeping_session=session_of(request, actor))


@router.get("/me", response_model=UserView)
def me(actor: CurrentActor, context: Context) -> UserView:
    return service.get_user(context.db, actor)


@router.post("/tokens", status_code=201, response_model=NewToken)
def create_token(data: TokenCreate, actor: CurrentActor, context: Context) -> NewToken:
    return service.create_api_token(context.db, actor, data.name)


@router.get("/tokens", response_model=list[TokenView])
def list_tokens(actor: CurrentActor, context: Context) -> list[TokenView]:
    return service.list_api_tokens(context.db, actor)


@router.delete("/tokens/{token_id}", response_model=TokenView)
def revoke_token(token_id: Id, actor: CurrentActor, context: Context) -> TokenView:
    return service.revoke_api_token(context.db, actor, token_id)


@router.patch("/me", response_model=UserView)
def change_profile(data: ProfileChange, actor: CurrentActor, context: Context) -> UserView:
    """Setting values, so a retry changes nothing further: no Idempotency-Key needed."""
    return service.change_profile(context.db, context.limiter, context.settings, actor, data)


@router.post("/me/addresses", status_code=201, response_model=AddressView)
def add_address(data: AddressIn, actor: CurrentActor, context: Context) -> AddressView:
    return service.save_address(context.db, actor, data)


@router.get("/me/addresses", response_model=list[AddressView])
def list_addresses(actor: CurrentActor, context: Context) -> list[AddressView]:
    return service.list_addresses(context.db, actor)
