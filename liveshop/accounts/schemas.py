"""Account inputs and views (shared by the API and the pages)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from liveshop.accounts.model import Role


class SignUp(BaseModel):
    email: EmailStr
    password: str = Field(min_length=10, max_length=200)
    display_name: str = Field(min_length=1, max_length=80)
    role: Role = Role.BUYER


class LogIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


class UserView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: Role
    created_at: datetime


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=80)


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
    full_name: str = Field(min_length=1, max_length=120)
    line1: str = Field(min_length=1, max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    is_default: bool = True


class AddressView(AddressIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
