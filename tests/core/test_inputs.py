"""The shared input types: how text is cleaned and where numbers stop."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from liveshop.core.errors import InvalidInput
from liveshop.core.inputs import (
    MAX_INTEGER,
    Grams,
    Id,
    MinorUnits,
    MultiLine,
    SingleLine,
    clean_line,
    clean_text,
)


class Form(BaseModel):
    name: Annotated[str, SingleLine(min_length=1, max_length=5)]
    note: Annotated[str, MultiLine(max_length=20)] = ""
    label: Annotated[str, SingleLine(max_length=5)] | None = None
    tags: list[Annotated[str, SingleLine(max_length=3)]] = []
    row: Id = 1
    weight: Grams = 0
    price: MinorUnits = 0


def problem(**fields: object) -> tuple[str, str, str]:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate({"name": "x", **fields})
    first = caught.value.errors()[0]
    return ".".join(str(part) for part in first["loc"]), first["type"], first["msg"]


def test_a_line_is_trimmed_and_composed() -> None:
    # "e" + combining acute accent is stored as the one character "é".
    assert clean_line("  Cafe\u0301\u00a0") == "Caf\u00e9"
    assert clean_line("") == ""


@pytest.mark.parametrize("character", ["\x00", "\t", "\x1b", "\x7f", "\x85", "\x9f",
                                       "\n", "\r", "\u2028", "\ud800"])
def test_a_line_refuses_control_characters_line_breaks_and_lone_surrogates(
        character: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_line(f"a{character}b", field="name")
    assert caught.value.field == "name"
    assert f"U+{ord(character):04X}" in caught.value.message


def test_the_message_says_what_is_wrong() -> None:
    with pytest.raises(InvalidInput, match=r"control characters \(found U\+0000\)"):
        clean_line("a\x00b")
    with pytest.raises(InvalidInput, match="one line"):
        clean_line("a\nb")


def test_text_keeps_line_breaks_and_tabs_and_unifies_them() -> None:
    assert clean_text(" \r\nfirst\r\n\tsecond\rthird\u2029\n") == "first\n\tsecond\nthird"
    for character in ("\x00", "\x0b", "\x1f", "\x7f", "\ud800"):
        with pytest.raises(InvalidInput):
            clean_text(f"a{character}b")


def test_schema_fields_are_cleaned_then_measured() -> None:
    form = Form.model_validate({"name": " abc ", "note": "a\r\nb",
                                "tags": [" x "], "label": " y "})
    assert (form.name, form.note, form.tags, form.label) == ("abc", "a\nb", ["x"], "y")
    # Decomposed characters are stored composed.
    assert Form(name="e\u0301" * 2).name == "\u00e9" * 2
    # OpenAPI's maxLength counts what is sent: blanks around it count too.
    assert problem(name="   abcde   ")[:2] == ("name", "string_too_long")
    assert problem(name="e\u0301" * 5)[:2] == ("name", "string_too_long")


def test_schema_fields_name_what_is_wrong() -> None:
    assert problem(name="a\x00") == (
        "name", "text", "Text cannot contain control characters (found U+0000)")
    assert problem(name="   ")[:2] == ("name", "string_too_short")
    assert problem(name="abcdef")[:2] == ("name", "string_too_long")
    assert problem(name=5)[:2] == ("name", "string_type")
    assert problem(label="a\nb")[:2] == ("label", "text")
    assert problem(label="abcdef")[:2] == ("label", "string_too_long")
    assert problem(tags=["ok", "a\tb"])[:2] == ("tags.1", "text")
    assert problem(tags=["abcd"])[:2] == ("tags.0", "string_too_long")
    assert problem(note="a\x00b")[:2] == ("note", "text")


def test_numbers_stay_inside_their_unit_and_the_column() -> None:
    assert problem(row=0)[0] == "row"
    assert problem(row=MAX_INTEGER + 1)[0] == "row"
    assert problem(weight=10**12)[0] == "weight"
    assert problem(weight=-1)[0] == "weight"
    assert problem(price=-1)[0] == "price"
    assert problem(price=10**9)[0] == "price"
    assert Form(name="x", row=MAX_INTEGER, weight=1_000_000, price=100_000_000).row == (
        MAX_INTEGER)


def test_bounds_show_in_the_json_schema() -> None:
    properties = Form.model_json_schema()["properties"]
    assert (properties["name"]["minLength"], properties["name"]["maxLength"]) == (1, 5)
    assert properties["note"]["maxLength"] == 20
    assert properties["label"]["anyOf"][0]["maxLength"] == 5
    assert properties["tags"]["items"]["maxLength"] == 3
    assert (properties["row"]["minimum"], properties["row"]["maximum"]) == (1, MAX_INTEGER)
    assert properties["weight"]["maximum"] == 1_000_000


# Text as a client might send it: letters, blanks of every kind around and inside, control
# characters, line breaks. Surrogates are left out: UTF-8 JSON cannot carry them.
TYPED = st.text(st.one_of(
    st.sampled_from("ab é\t\n\r\x0b\x0c\x1c\x1f\x00\x7f\x85\x9f\xa0\u2028\u2029\u3000,"),
    st.characters(codec="utf-8")), max_size=12)


@pytest.mark.parametrize("kind", [
    SingleLine(max_length=50), SingleLine(min_length=1, max_length=50), MultiLine(max_length=50),
    MultiLine(min_length=1, max_length=50), SingleLine(max_length=50, refuse=",")])
@settings(max_examples=400, deadline=None, derandomize=True)
@given(text=TYPED)
def test_the_openapi_pattern_says_which_text_is_accepted(kind: SingleLine, text: str) -> None:
    """A client that checks the pattern OpenAPI gives sends exactly the text the server takes
    (lengths aside): what is trimmed, what is refused, what counts as blank."""

    class Field_(BaseModel):
        value: Annotated[str, kind]

    pattern = Field_.model_json_schema()["properties"]["value"]["pattern"]
    try:
        Field_(value=text)
        accepted = True
    except ValidationError:
        accepted = False
    assert (re.fullmatch(pattern, text) is not None) == accepted, (text, pattern)
