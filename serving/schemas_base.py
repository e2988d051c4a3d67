"""The request contract every route shares: strict bodies, ids, timestamps and a strict JSON reader.

- :class:`StrictModel` is the base of every request body: unknown fields are refused
  and JSON types are taken as they are (no ``"5"`` or ``true`` for an integer, no ``1``
  for a boolean, no number for a string); :class:`ResponseModel` is the base of answers.
- :data:`Timestamp` is an ISO-8601 date and time (a string; naive means UTC), never a
  number of seconds or a date alone.
- :func:`parse_json_body` reads a body as JSON and refuses what Python's reader lets
  through silently: duplicate keys (which one wins?), NUL characters and unpaired
  surrogates in strings (they break storage and logs), and ``NaN``/``Infinity`` or numbers
  too large for a float. Each refusal is a :class:`BodyError` naming the field
  (:mod:`serving.contract` answers it as a 400).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, field_validator
from pydantic_core import PydanticCustomError

__all__ = ["ID_REGEX", "TEXT_REGEX", "Id", "Timestamp", "StrictModel", "ResponseModel", "BodyError", "parse_json_body"]

ID_REGEX = r"^[A-Za-z0-9_.:@-]{1,128}$"
Id = Annotated[str, Field(pattern=ID_REGEX, min_length=1, max_length=128)]
#: Free text: anything but NUL (the JSON reader refuses it too; the pattern says so in the document).
TEXT_REGEX = r"^[^\x00]*$"

_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _datetime_text(value: Any) -> Any:
    """A timestamp arrives as ISO-8601 text with a time (or as a ``datetime`` from Python callers)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "Input should be an ISO-8601 date and time as a string, "
                                                   "e.g. '2025-03-01T12:00:00Z'")
    if not _DATETIME_TEXT.match(value):
        raise PydanticCustomError("datetime_from_date_parsing", "Input should be an ISO-8601 date and time, "
                                                                "e.g. '2025-03-01T12:00:00Z'")
    return value


#: An ISO-8601 date and time; naive values are UTC (the app converts them).
Timestamp = Annotated[datetime, Strict(False), BeforeValidator(_datetime_text)]


class StrictModel(BaseModel):
    """Base of every request body: unknown fields refused, JSON types taken as they are.

    One JSON rule on top of pydantic's strict mode: a number with no fraction (``5.0``) is
    an integer, as JSON Schema says, so ``"k": 5.0`` is ``k = 5`` (``5.5``, ``"5"`` and
    ``true`` are still refused).
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _integral_numbers(cls, value: Any) -> Any:
        if type(value) is float and value.is_integer():
            return int(value)
        return value


class ResponseModel(BaseModel):
    """Base of every answer: the fields it documents and no others."""

    model_config = ConfigDict(extra="forbid")


class BodyError(ValueError):
    """A JSON body refused before its schema is checked; ``loc`` is the field's path in the body."""

    def __init__(self, loc: list[str | int], msg: str, type_: str) -> None:
        self.loc, self.msg, self.type = loc, msg, type_
        super().__init__(f"{'.'.join(map(str, loc)) or 'body'}: {msg}")


class _Duplicates(dict):  # type: ignore[type-arg]
    """A JSON object that named some keys more than once (``dup`` lists them)."""

    dup: list[str]


def _flag_duplicates(out: dict[str, Any], pairs: list[tuple[str, Any]]) -> _Duplicates:
    flagged = _Duplicates(out)
    seen: set[str] = set()
    flagged.dup = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
    return flagged


def _constant(name: str) -> Any:
    raise BodyError(["body"], f"{name} is not a JSON number", "json_invalid")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyError(["body"], f"number {text[:40]} is out of range", "json_invalid")
    return value


_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def _bad_text(s: str) -> str | None:
    m = _BAD_CHAR.search(s)
    if m is None:
        return None
    return "contains a NUL character" if m.group() == "\x00" else "contains an unpaired UTF-16 surrogate"


def _walk(value: Any, loc: list[str | int]) -> None:
    """Raise the first duplicate key or bad string under ``value``, with its path."""
    if isinstance(value, dict):
        if isinstance(value, _Duplicates):
            raise BodyError(loc + [value.dup[0]], f"duplicate key {value.dup[0]!r} in a JSON object",
                            "duplicate_key")
        for k, v in value.items():
            problem = _bad_text(k)
            if problem:
                shown = _BAD_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", k)
                raise BodyError(loc + [shown], f"key {problem}", "invalid_character")
            _walk(v, loc + [k])
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, loc + [i])
    elif isinstance(value, str):
        problem = _bad_text(value)
        if problem:
            raise BodyError(loc or ["body"], problem, "invalid_character")


def parse_json_body(raw: bytes) -> Any:
    """``raw`` as JSON, or a :class:`BodyError` naming the field that breaks the contract."""
    duplicates = False

    def obj(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates
        out = dict(pairs)
        if len(out) == len(pairs):
            return out
        duplicates = True
        return _flag_duplicates(out, pairs)

    try:
        value = json.loads(raw, object_pairs_hook=obj, parse_constant=_constant, parse_float=_float)
    except BodyError:
        raise
    except json.JSONDecodeError as e:
        raise BodyError(["body"], f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}",
                        "json_invalid") from None
    except (ValueError, RecursionError) as e:  # not UTF-8, an integer of thousands of digits, nesting too deep
        raise BodyError(["body"], f"invalid JSON: {str(e)[:120]}", "json_invalid") from None
    # NUL and surrogates can only arrive as \u escapes (raw ones are invalid JSON or invalid UTF-8);
    # duplicates are flagged by obj: walk only when one of them may be there.
    if duplicates or b"\\u" in raw:
        _walk(value, [])
    return value

