"""Thread-aware, heading-aware chunking that never exceeds the model's input length.

Each post of a thread is chunked on its own; each Markdown section on its own. A chunk's
embedded text is a short context header (thread title, channel, role; or resource title and
heading path) followed by the body, and the body's character span in the source is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from retrieval.hashing import chunk_id
from retrieval.records import Chunk, Document, Post, Resource, Thread

CHUNKER_VERSION = "1"
"""Bump when chunking changes, so unchanged documents are re-chunked once."""

SPECIAL_TOKENS = 2  # [CLS] and [SEP] count against max_seq_length
OVERLAP_FRACTION = 0.12
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)


@dataclass(frozen=True)
class Span:
    """A piece of source text and where it starts."""

    text: str
    start: int


class Chunker:
    """Splits documents into :class:`Chunk` records sized for one embedding model."""

    def __init__(self, count_tokens: Callable[[str], int], max_tokens: int) -> None:
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens

    def chunks(self, doc: Document) -> list[Chunk]:
        """All chunks of ``doc``, in reading order."""
        if isinstance(doc, Thread):
            return list(self._thread_chunks(doc))
        return list(self._resource_chunks(doc))

    def _thread_chunks(self, thread: Thread) -> Iterator[Chunk]:
        place = f"#{thread.channel}" if thread.channel else thread.source
        for position, post in enumerate(thread.posts):
            role = "question" if position == 0 else "accepted answer" if post.accepted else "reply"
            header = f"{thread.title} ({place}, {role})"
            for ordinal, span in enumerate(self._post_spans(post, header)):
                yield Chunk(
                    id=chunk_id(thread.id, post.id, ordinal), doc_id=thread.id, post_id=post.id,
                    ordinal=ordinal, section="", text=f"{header}\n{span.text}", body=span.text,
                    start=span.start, end=span.start + len(span.text), author=post.author,
                    created_at=post.created_at,
                )

    def _resource_chunks(self, resource: Resource) -> Iterator[Chunk]:
        sections = markdown_sections(resource.text) if resource.markup == "markdown" else None
        author = resource.authors[0] if resource.authors else None
        ordinal = 0
        for path, section in sections or [((), Span(resource.text, 0))]:
            header = " > ".join((resource.title, *path))
            for span in self._split(section.text, header):
                start = section.start + span.start
                yield Chunk(
                    id=chunk_id(resource.id, None, ordinal), doc_id=resource.id, post_id=None,
                    ordinal=ordinal, section=" > ".join(path), text=f"{header}\n{span.text}",
                    body=span.text, start=start, end=start + len(span.text), author=author,
                    created_at=resource.created_at,
                )
                ordinal += 1

    def _post_spans(self, post: Post, header: str) -> list[Span]:
        """The pieces of a post to embed: its text minus the ``unembedded`` ranges, each kept
        stretch split on its own so every span still indexes ``post.text``."""
        spans: list[Span] = []
        for start, end in kept_ranges(len(post.text), post.unembedded):
            spans += [Span(s.text, start + s.start) for s in self._split(post.text[start:end], header)]
        return spans

    def _split(self, text: str, header: str) -> list[Span]:
        """Pieces of ``text`` that fit beside ``header`` in the model's input."""
        budget = self.max_tokens - SPECIAL_TOKENS - self.count_tokens(header) - 1
        budget = max(budget, 32)
        stripped = text.strip()
        if not stripped:
            return []
        if self.count_tokens(stripped) <= budget:
            return [Span(stripped, text.index(stripped))]
        splitter = _splitter(self.count_tokens, budget)
        spans, cursor = [], 0
        for piece in splitter.split_text(text):
            start = text.find(piece, cursor)
            if start < 0:  # the splitter normalised something; fall back to a fresh search
                start = max(text.find(piece), 0)
            spans.append(Span(piece, start))
            cursor = start + 1
        return spans


@lru_cache(maxsize=64)
def _splitter(count_tokens: Callable[[str], int], budget: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=budget,
        chunk_overlap=int(budget * OVERLAP_FRACTION),
        length_function=count_tokens,
        separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
        keep_separator="end",
        strip_whitespace=True,
    )


def kept_ranges(length: int, left_out: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """The ``(start, end)`` ranges of ``range(length)`` not covered by ``left_out`` (ranges
    in any order, possibly overlapping or out of bounds)."""
    kept, cursor = [], 0
    for start, end in sorted(left_out):
        start, end = max(start, 0), min(end, length)
        if start > cursor:
            kept.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < length:
        kept.append((cursor, length))
    return kept


def markdown_sections(text: str) -> list[tuple[tuple[str, ...], Span]]:
    """Split Markdown at headings (outside code fences), keeping each section's heading path.

    The heading line stays in its section's text; sections with no text besides the heading
    are dropped (their heading still appears in the path of the sections below).
    """
    fenced = _fenced_ranges(text)
    marks = [m for m in HEADING.finditer(text) if not any(a <= m.start() < b for a, b in fenced)]
    sections: list[tuple[tuple[str, ...], Span]] = []
    stack: list[tuple[int, str]] = []
    bounds = [0] + [m.start() for m in marks] + [len(text)]
    for i, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        if i > 0:
            mark = marks[i - 1]
            level = len(mark.group(1))
            stack = [(lvl, title) for lvl, title in stack if lvl < level] + [(level, mark.group(2))]
            body = text[mark.end() : end]
        else:
            body = text[start:end]
        if body.strip():
            sections.append((tuple(title for _, title in stack), Span(text[start:end], start)))
    return sections


def _fenced_ranges(text: str) -> list[tuple[int, int]]:
    fences = [m.start() for m in FENCE.finditer(text)]
    return [(fences[i], fences[i + 1]) for i in range(0, len(fences) - 1, 2)]
