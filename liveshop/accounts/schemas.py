"""Account inputs and views (shared by the API and the pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from liveshop.accounts.model import Role, SelfServiceRole
from liveshop.core.inputs import JsonInput, SingleLine
from liveshop.markets.model import CountryCode

# What a new password must be (sign-up, password change).
NewPassword = Annotated[str, Field(min_length=10, max_length=200)]


class SignUp(JsonInput):
    email: Annotated[EmailStr, Field(max_length=254)]
    # Passwords are taken exactly as typed: no trimming or normalising, which would change
    # what existing hashes were made from.
    password: NewPassword
    display_name: Annotated[str, SingleLine(min_length=1, max_length=80)]
    role: SelfServiceRole = Role.BUYER


class LogIn(JsonInput):
    email: Annotated[str, SingleLine(max_length=254)]
    password: str = Field(max_length=200)


class UserView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: Role
    created_at: datetime


class UserStatusView(UserView):
    is_active: bool = Field(description="false: suspended (no log-in, no session, no token)")


class PasswordChange(JsonInput):
    current_password: str = Field(max_length=200)
    new_password: NewPassword
    revoke_api_tokens: bool = Field(
        default=False, description="also revoke every API token (e.g. after a compromise)")


class ProfileChange(JsonInput):
    """What a user may change about themselves; fields left out stay as they are."""

    display_name: Annotated[str, SingleLine(min_length=1, max_length=80)] | None = None
    email: Annotated[EmailStr, Field(max_length=254)] | None = None
    current_password: str | None = Field(
        default=None, max_length=200,
        description="required when the e-mail address changes (a new address is a new way in)")


class PasswordChanged(BaseModel):
    sessions_ended: int = Field(description="other browsers' sessions that were logged out")
    api_tokens_revoked: int


class LoginLinkRequest(JsonInput):
    email: str = Field(min_length=3, max_length=254)


class LoginLinkSent(BaseModel):
    message: str = Field(description="the same whether or not the address has an account")


class TokenCreate(JsonInput):
    name: Annotated[str, SingleLine(min_length=1, max_length=80)]


class TokenView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(TokenView):
    token: str = Field(description="Shown once; store it now.")


class AddressIn(JsonInput):
    full_name: Annotated[str, SingleLine(min_length=1, max_length=120)]
    line1: Annotated[str, SingleLine(min_length=1, max_length=200)]
    line2: Annotated[str, SingleLine(max_length=200)] = ""
    city: Annotated[str, SingleLine(min_length=1, max_length=100)]
    postcode: Annotated[str, SingleLine(min_length=1, max_length=20)]
    region: Annotated[str, SingleLine(max_length=60)] = Field(
        "", description="State, province or county, where the post uses one (US: \"TX\")")
    country: CountryCode = Field(description="ISO 3166-1 alpha-2")
    is_default: bool = True


class AddressView(BaseModel):
    """A stored address as it is, without the input rules (rows older than them still read)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    full_name: str
    line1: str
    line2: str
    city: str
    postcode: str
    region: str
    country: str = Field(description="ISO 3166-1 alpha-2")
    is_default: bool
