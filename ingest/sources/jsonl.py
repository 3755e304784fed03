"""Shared reading of JSON Lines files: one validated pydantic object per line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ingest.sources.base import Report, SourceFile, read_text
from retrieval.input_errors import field_path, json_error_text

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_jsonl(source: SourceFile, model: type[ModelT], report: Report) -> Iterator[tuple[int, ModelT]]:
    """Yield (line number, parsed object); bad lines are reported as ``file:line: reason``."""
    text = read_text(source, report)
    if "\x00" in text[:65536]:
        report.error(source.rel, "binary data, not JSON Lines; skipped")
        return
    if not text.strip():
        report.warning(source.rel, "empty file")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source.rel}:{number}"
        try:
            yield number, model.model_validate(json.loads(line))
        except json.JSONDecodeError as e:
            report.error(where, f"invalid JSON ({json_error_text(e, with_line=False)})")
        except ValidationError as e:
            report.error(where, describe(e))


def describe(error: ValidationError) -> str:
    """A one-line account of a pydantic validation error, naming each bad field
    (:func:`retrieval.input_errors.field_path`: ``posts[1].author (the 2nd of posts)``)."""
    parts = []
    for item in error.errors()[:3]:
        field = field_path(item["loc"])
        parts.append(f"field {field}: {item['msg']}")
    more = len(error.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
