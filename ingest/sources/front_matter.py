"""Splitting a Markdown file into its YAML front matter and body, failing closed.

Front matter decides who may read a file, so anything not read with certainty is an error
(the file is skipped) rather than a guess that could publish private text:

- line endings: ``\\r\\n`` and ``\\r`` are read as ``\\n``;
- blank lines before the opening ``---`` are allowed;
- the block closes with ``---`` or YAML's end marker ``...``; no closing line is an error;
- ``+++`` (TOML front matter) is an error;
- without front matter, a ``visibility:`` line near the top is an error (a forgotten fence);
- YAML with a key given twice is an error (PyYAML would silently keep the last value).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

OPEN = "---"
CLOSE = ("---", "...")
LOOKS_LIKE_META = re.compile(r"^\s*visibility\s*:", re.IGNORECASE)
TOP_LINES = 30


class FrontMatterError(ValueError):
    """Front matter that cannot be read with certainty; ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def split_front_matter(text: str) -> tuple[str | None, str]:
    """``(yaml_text, body)`` of a Markdown file; ``yaml_text`` is None without front matter.

    Raises:
        FrontMatterError: an unclosed block, TOML front matter, or a metadata line outside one.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        return None, ""
    first = lines[start].strip()
    if first == "+++":
        raise FrontMatterError("TOML front matter (+++) is not supported; use YAML between '---' lines", start + 1)
    if first != OPEN:
        for number, line in enumerate(lines[:TOP_LINES], start=1):
            if LOOKS_LIKE_META.match(line):
                raise FrontMatterError("a 'visibility:' line outside front matter (missing opening '---'?)", number)
        return None, "\n".join(lines)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() in CLOSE), None)
    if end is None:
        raise FrontMatterError("front matter opened here has no closing '---' (or '...')", start + 1)
    return "\n".join(lines[start + 1 : end]), "\n".join(lines[end + 1 :])


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a mapping key given twice."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(text: str) -> Any:
    """Parse YAML safely, refusing duplicate keys.

    Raises:
        yaml.YAMLError: invalid YAML or a duplicate key.
    """
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
