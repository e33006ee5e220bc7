"""Reading a request body as Leaf's Java stack (Spring, Jackson) reads it: contract §6.

The first complete JSON value is read and the text after it ignored (Jackson's default; Leaf's own
Postman login body ends with a ``// ...`` line). Unknown fields are the handlers' to ignore; a
duplicate key keeps its last value. A value that could be stored but never given back (a lone
UTF-16 surrogate, a number Python cannot read, NaN, an infinity) is refused naming its field.
"""

from __future__ import annotations

import json
import math

from fake_leaf.engine import FakeLeafError, FieldError, InvalidInputError
from fake_leaf.engine._text import json_kind, shorten, why_not_text

OBJECT_NAME = "body"  # the fieldErrors objectName: the body is refused before any Leaf object is made
MAX_FIELD_ERRORS = 20


class BodyError(FakeLeafError):
    """The body could not be read as a JSON object."""


class _Unreadable:
    """A number json can tokenise but Python cannot hold as Leaf would give it back."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _read_int(text: str) -> int | _Unreadable:
    try:
        return int(text)
    except ValueError:  # past sys.get_int_max_str_digits (4300 by default)
        return _Unreadable(f"an integer of {len(text.lstrip('-'))} digits is too large to read")


def _read_float(text: str) -> float | _Unreadable:
    value = float(text)
    if math.isinf(value):
        return _Unreadable(f"{shorten(text)} is too large to read (it overflows to infinity)")
    return value


def _read_constant(text: str) -> _Unreadable:
    return _Unreadable(f"{text} is not a JSON number (JSON has no NaN or Infinity)")


_DECODER = json.JSONDecoder(parse_int=_read_int, parse_float=_read_float, parse_constant=_read_constant)


def read_json_object(raw: bytes) -> dict[str, object]:
    """The JSON object at the start of ``raw``; BodyError or InvalidInputError (naming fields) if none."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BodyError(f"it is not UTF-8 ({e.reason} at byte {e.start})") from None
    text = text.removeprefix("\ufeff")  # a byte-order mark, which Jackson skips
    start = len(text) - len(text.lstrip())
    if start == len(text):
        raise BodyError("the body is empty")
    try:
        data, _end = _DECODER.raw_decode(text, start)  # what follows the first value is ignored
    except json.JSONDecodeError as e:
        raise BodyError(f"it is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}; "
                        "comments are refused inside the value)") from None
    except RecursionError:
        raise BodyError("it is nested too deeply") from None
    if not isinstance(data, dict):
        raise BodyError(f"got {json_kind(data)}, not an object")
    if "\\u" not in text and all(type(v) is str for v in data.values()):
        # the common body, flat strings: text decoded as UTF-8 holds no lone surrogate unless the JSON escapes
        # one (\uD800), and a string is never a number that could not be read
        return data
    errors = _unreadable_fields(data)
    if errors:
        raise InvalidInputError(errors)
    return data


def _unreadable_fields(data: dict[str, object]) -> list[FieldError]:
    """Every value (or key) that cannot be stored and given back intact, with its JSON path."""
    errors: list[FieldError] = []
    stack: list[tuple[str, object]] = [("", data)]
    while stack and len(errors) < MAX_FIELD_ERRORS:  # a loop, not recursion: the value may be deep
        path, value = stack.pop()
        if isinstance(value, dict):
            children: list[tuple[str, object]] = []
            for key, item in value.items():
                why = why_not_text(key)
                name = _name(key)
                field = f"{path}.{name}" if path else name
                if why is not None:
                    errors.append(_error(field, f"the key {why}"))
                else:
                    children.append((field, item))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{path}[{i}]", item) for i, item in enumerate(value)]))
        elif isinstance(value, str):
            why = why_not_text(value)
            if why is not None:
                errors.append(_error(path, f"the value {why}"))
        elif isinstance(value, _Unreadable):
            errors.append(_error(path, value.why))
    return errors


def _name(key: str) -> str:
    """A key as it can be written back: a lone surrogate escaped as JSON escapes it."""
    return key if why_not_text(key) is None else json.dumps(key)[1:-1]


def _error(field: str, reason: str) -> FieldError:
    return FieldError(OBJECT_NAME, field, "NotReadable", reason)
