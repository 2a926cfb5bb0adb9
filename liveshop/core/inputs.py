"""Input types every schema shares: text a person typed, cleaned the same way everywhere, and
integers kept inside the range of their unit and of the database column that stores them.

Use them in Pydantic models as ``Annotated[str, SingleLine(max_length=100)]``,
``Annotated[str, MultiLine(max_length=5000)]``, ``Annotated[str, OneOf(codes)]``, ``Id``,
``Grams``, ``MinorUnits``. What they enforce shows in the OpenAPI document (maxLength, pattern,
enum, minimum, maximum), so that generated clients know it; tests/web/test_input_bounds.py
fails when a request field or parameter has no bounds. Code that takes text outside a schema
(chat over the WebSocket, a form field passed straight to a service) calls ``clean_line`` or
``clean_text``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from liveshop.core.errors import InvalidInput
from liveshop.core.money import MAX_MINOR_UNITS

# The largest PostgreSQL INTEGER, the type of every id column (SQLite's integers are wider,
# so a larger value would be stored there and refused by PostgreSQL).
MAX_INTEGER = 2**31 - 1
# One tonne: far above anything sent as a parcel.
MAX_GRAMS = 1_000_000

# Characters refused, as ranges of code points: C0 and C1 control characters and DEL; on
# one line also the Unicode line and paragraph separators. (Text keeps tabs and line breaks;
# a carriage return is never left in it to refuse: line breaks are stored as "\n".)
_ONE_LINE_REFUSED = ((0x00, 0x1F), (0x7F, 0x9F), (0x2028, 0x2029))
_TEXT_REFUSED = ((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F))
# Unpaired surrogates are refused too (no UTF-8 database can store them), but kept out of
# the OpenAPI patterns: a surrogate is no character a pattern can name, and valid JSON text
# in UTF-8 cannot carry an unpaired one.
_SURROGATES = ((0xD800, 0xDFFF),)


def _character_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """``[...]`` contents as \\uXXXX escapes, which Python, ECMA-262 (OpenAPI's regular
    expressions) and the Rust regex crate all read the same way."""
    return "".join(f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}"
                   for low, high in ranges)


def _ranges(characters: str) -> tuple[tuple[int, int], ...]:
    ranges: list[tuple[int, int]] = []
    for code in sorted(map(ord, characters)):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return tuple(ranges)


_NOT_ON_ONE_LINE = re.compile(f"[{_character_class(_ONE_LINE_REFUSED + _SURROGATES)}]")
_NOT_IN_TEXT = re.compile(f"[{_character_class(_TEXT_REFUSED + _SURROGATES)}]")
_LINE_BREAK_CHARACTERS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_WINDOWS_OR_OLD_MAC_LINE_BREAK = re.compile("\r\n?")
# What str.strip() removes around text before it is checked (U+3000 is the last of them).
_STRIPPED = _character_class(_ranges(
    "".join(chr(code) for code in range(0x3001) if chr(code).isspace())))


def as_sent_pattern(refused: tuple[tuple[int, int], ...], blank_allowed: bool) -> str:
    """The regular expression text matches as sent when it is accepted once cleaned: blanks
    around it (stripped), then no refused character; unless ``blank_allowed``, something
    that is not blank. Stated in OpenAPI, where clients can check it before sending."""
    kept = f"[^{_character_class(refused)}]*"
    if not blank_allowed:
        kept = f"[^{_character_class(refused)}{_STRIPPED}]" + kept
    return f"^[{_STRIPPED}]*{kept}[{_STRIPPED}]*$"


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
    ``clean_line``, then the length is checked on what will be stored, and ``max_length``
    on what was sent as well, as OpenAPI's maxLength says. OpenAPI gives the lengths and the
    characters (``as_sent_pattern``): a ``min_length`` means not blank.
    ``refuse``: characters refused besides, e.g. the comma that separates tags."""

    max_length: int
    min_length: int = 0
    refuse: str = ""

    def cleaner(self) -> Callable[[str, str | None], str]:
        return clean_line

    def refused(self) -> tuple[tuple[int, int], ...]:
        return _ONE_LINE_REFUSED

    def refused_as_sent(self) -> tuple[tuple[int, int], ...]:
        return self.refused() + _ranges(self.refuse)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = as_sent_pattern(self.refused_as_sent(),
                                                 blank_allowed=self.min_length == 0)
        return json_schema

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        clean, refuse, max_length = self.cleaner(), self.refuse, self.max_length

        def validate(value: Any) -> Any:
            if not isinstance(value, str):
                return value  # the string schema refuses it with its usual message
            if len(value) > max_length:
                raise PydanticCustomError(
                    "string_too_long", "String should have at most {max_length} characters",
                    {"max_length": max_length})
            try:
                cleaned = clean(value, None)
            except InvalidInput as problem:
                raise PydanticCustomError("text", problem.message) from None
            for character in refuse:
                if character in cleaned:
                    raise PydanticCustomError("text", f"Text cannot contain {character!r}")
            return cleaned

        return core_schema.no_info_before_validator_function(
            validate,
            core_schema.str_schema(min_length=self.min_length, max_length=self.max_length),
        )


@dataclass(frozen=True, slots=True)
class MultiLine(SingleLine):
    """``Annotated[str, MultiLine(max_length=...)]``: as SingleLine, keeping line breaks."""

    def cleaner(self) -> Callable[[str, str | None], str]:
        return clean_text

    def refused(self) -> tuple[tuple[int, int], ...]:
        return _TEXT_REFUSED


@dataclass(frozen=True, slots=True)
class OneOf:
    """``Annotated[str, OneOf(codes)]``: exactly one of ``codes`` as written (no trimming,
    no case folding), listed in OpenAPI as an enum."""

    choices: tuple[str, ...]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        return core_schema.literal_schema(list(self.choices))


class JsonInput(BaseModel):
    """The base of every request body: JSON's types as OpenAPI states them, no other.

    Pydantic's lax mode took ``0`` for ``false``, ``"5"`` for ``5`` and a number of seconds
    for a date: requests the schema calls invalid, which a client could come to rely on. A
    field whose Python type JSON has not (a date, a decimal, an enum) says ``strict=False``
    and how it is sent (``Timestamp``)."""

    model_config = ConfigDict(strict=True)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers_as_integers(cls, data: Any) -> Any:
        # JSON Schema counts 3.0 as an integer (it is one), strict mode would not.
        return _as_integers(data)


def _as_integers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _as_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_integers(item) for item in value]
    return value


def _not_a_number(value: Any) -> Any:
    if isinstance(value, int | float):
        raise PydanticCustomError("datetime_type", "Input should be a date and time as text")
    return value


# A date and time in a body: ISO 8601 text with its offset (or a datetime, from a page).
Timestamp = Annotated[datetime, Field(strict=False), BeforeValidator(_not_a_number)]


def maximum_setting(name: str) -> dict[str, Any]:
    """``Field(le=widest, json_schema_extra=maximum_setting("max_..."))``: a bound that is a
    setting, enforced by the service. The schema keeps the widest value the setting may take;
    the app's OpenAPI document states the app's own (liveshop/web/openapi.py)."""
    return {MAXIMUM_SETTING: name}


MAXIMUM_SETTING = "x-maximum-setting"
# A row id: positive and inside the id column's INTEGER.
Id = Annotated[int, Field(ge=1, le=MAX_INTEGER)]
# A weight in grams.
Grams = Annotated[int, Field(ge=0, le=MAX_GRAMS)]
# An amount of money in minor units (shipping): zero or more, up to the money limit.
MinorUnits = Annotated[int, Field(ge=0, le=MAX_MINOR_UNITS)]
# A price in minor units: above zero (nothing is given away), up to the money limit.
Price = Annotated[int, Field(ge=1, le=MAX_MINOR_UNITS)]
