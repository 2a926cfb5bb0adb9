"""Account inputs and views (shared by the API and the pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from liveshop.accounts.model import Role
from liveshop.core.inputs import SingleLine


class SignUp(BaseModel):
    email: Annotated[EmailStr, Field(max_length=254)]
    # Passwords are taken exactly as typed: no trimming or normalising, which would change
    # what existing hashes were made from.
    password: str = Field(min_length=10, max_length=200)
    display_name: Annotated[str, SingleLine(min_length=1, max_length=80)]
    role: Role = Role.BUYER


class LogIn(BaseModel):
    email: Annotated[str, SingleLine(max_length=254)]
    password: str = Field(max_length=200)


class UserView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: Role
    created_at: datetime


class TokenCreate(BaseModel):
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


class AddressIn(BaseModel):
    full_name: Annotated[str, SingleLine(min_length=1, max_length=120)]
    line1: Annotated[str, SingleLine(min_length=1, max_length=200)]
    line2: Annotated[str, SingleLine(max_length=200)] = ""
    city: Annotated[str, SingleLine(min_length=1, max_length=100)]
    postcode: Annotated[str, SingleLine(min_length=1, max_length=20)]
    country: Annotated[str, SingleLine(min_length=2, max_length=2)] = Field(
        description="ISO 3166-1 alpha-2")
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
    country: str = Field(description="ISO 3166-1 alpha-2")
    is_default: bool
