"""Input types every schema shares: text a person typed, cleaned the same way everywhere, and
integers kept inside the range of their unit and of the database column that stores them.

Use them in Pydantic models as ``Annotated[str, SingleLine(max_length=100)]``,
``Annotated[str, MultiLine(max_length=5000)]``, ``Id``, ``Grams``, ``MinorUnits``. Their bounds
show in the OpenAPI document (maxLength, minimum, maximum); tests/web/test_input_bounds.py fails
when a field of a request body has none. Code that takes text outside a schema (chat over the
WebSocket, a form field passed straight to a service) calls ``clean_line`` or ``clean_text``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from liveshop.core.errors import InvalidInput
from liveshop.core.money import MAX_MINOR_UNITS

# The largest PostgreSQL INTEGER, the type of every id column (SQLite's integers are wider,
# so a larger value would be stored there and refused by PostgreSQL).
MAX_INTEGER = 2**31 - 1
# One tonne: far above anything sent as a parcel.
MAX_GRAMS = 1_000_000

# C0 and C1 control characters, DEL, and unpaired surrogates (no UTF-8 database can store
# them). On one line, also the Unicode line and paragraph separators.
_NOT_ON_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NOT_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAK_CHARACTERS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_WINDOWS_OR_OLD_MAC_LINE_BREAK = re.compile("\r\n?")


def clean_line(value: str, field: str | None = None) -> str:
    """One line of text: surrounding blanks removed, Unicode in composed form (NFC, so the
    same word is stored and compared the same way however it was typed); line breaks, tabs
    and other control characters refused."""
    cleaned = value.strip()
    _refuse_first(_NOT_ON_ONE_LINE, cleaned, field)
    return unicodedata.normalize("NFC", cleaned)


def clean_text(value: str, field: str | None = None) -> str:
    """Text of several lines: as ``clean_line``, but line breaks (stored as ``\\n``) and
    tabs are kept."""
    cleaned = _WINDOWS_OR_OLD_MAC_LINE_BREAK.sub("\n", value).strip()
    _refuse_first(_NOT_IN_TEXT, cleaned, field)
    return unicodedata.normalize("NFC", cleaned)


def _refuse_first(forbidden: re.Pattern[str], text: str, field: str | None) -> None:
    found = forbidden.search(text)
    if found is None:
        return
    character = found.group()
    code_point = f"U+{ord(character):04X}"
    if character in _LINE_BREAK_CHARACTERS:
        message = f"Keep this to one line (found a line break, {code_point})"
    elif "\ud800" <= character <= "\udfff":
        message = f"Text contains an invalid character ({code_point})"
    else:
        message = f"Text cannot contain control characters (found {code_point})"
    raise InvalidInput(message, field=field)


@dataclass(frozen=True, slots=True)
class SingleLine:
    """``Annotated[str, SingleLine(max_length=..., min_length=...)]``: cleaned by
    ``clean_line``, then the length is checked on what will be stored."""

    max_length: int
    min_length: int = 0

    def cleaner(self) -> Callable[[str, str | None], str]:
        return clean_line

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        clean = self.cleaner()

        def validate(value: Any) -> Any:
            if not isinstance(value, str):
                return value  # the string schema refuses it with its usual message
            try:
                return clean(value, None)
            except InvalidInput as problem:
                raise PydanticCustomError("text", problem.message) from None

        return core_schema.no_info_before_validator_function(
            validate,
            core_schema.str_schema(min_length=self.min_length, max_length=self.max_length),
        )


@dataclass(frozen=True, slots=True)
class MultiLine(SingleLine):
    """``Annotated[str, MultiLine(max_length=...)]``: as SingleLine, keeping line breaks."""

    def cleaner(self) -> Callable[[str, str | None], str]:
        return clean_text


# A row id: positive and inside the id column's INTEGER.
Id = Annotated[int, Field(ge=1, le=MAX_INTEGER)]
# A weight in grams.
Grams = Annotated[int, Field(ge=0, le=MAX_GRAMS)]
# An amount of money in minor units (prices, shipping): zero or more, up to the money limit.
MinorUnits = Annotated[int, Field(ge=0, le=MAX_MINOR_UNITS)]
