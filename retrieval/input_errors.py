"""How bad input is described to people, in the same words wherever it is read: ingest's
loaders, ``townsquare eval`` and the HTTP API.

Python's :class:`json.JSONDecodeError` carries a message that often ends in a dangling "at"
("Unterminated string starting at") and the place separately; :func:`describe_json_error`
joins the two once. :func:`field_path` writes a validation error's location with list
positions counted the way people count.
"""

from __future__ import annotations

import json
from collections.abc import Sequence


def describe_json_error(
    message: str, *, line: int | None = None, column: int | None = None, char: int | None = None,
) -> str:
    """``"Unterminated string starting at line 3, column 7"`` from a JSON decoder's message
    and whichever of ``line``, ``column`` (both counted from 1) and ``char`` (a 0-based
    offset) are known; the message's own trailing "at" is not repeated."""
    place = ", ".join(f"{name} {value}" for name, value in (("line", line), ("column", column), ("character", char))
                      if value is not None)
    text = message.strip().removesuffix(" at").removesuffix(":")
    return f"{text} at {place}" if place else text


def json_error_text(error: json.JSONDecodeError, *, with_line: bool = True) -> str:
    """:func:`describe_json_error` for a caught decode error; ``with_line=False`` when the
    caller already names the line (one JSON document per line: ``file:line: ...``)."""
    return describe_json_error(error.msg, line=error.lineno if with_line else None, column=error.colno)


def field_path(loc: Sequence[int | str]) -> str:
    """A validation error's location as people read it: ``posts[1].author (the 2nd of
    posts)``; list indexes keep JSON's 0-based brackets and are also said counting from 1."""
    path, ordinals, parent = "", [], "record"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            ordinals.append(f"the {_ordinal(part + 1)} of {parent}")
        else:
            path += f".{part}" if path else str(part)
            parent = str(part)
    if not path:
        return "record"
    return f"{path} ({', '.join(ordinals)})" if ordinals else path


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
