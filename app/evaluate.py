"""What ``townsquare eval`` runs: a labelled collection is ingested, with the configured model,
backend and search settings, into a scratch index through the real pipeline; its questions are
asked through :class:`~retrieval.library.Library`; the rankings are scored by
:mod:`retrieval.evaluation`.

- retrieval: a BEIR folder; each corpus document becomes a one-post thread whose id is the
  corpus id, each query is searched with ``Searcher.search(k=100, collapse=True)``.
- experts: a folder of native threads JSONL (plus ``members.jsonl``) split by date: threads
  asked before the split are indexed with only the posts written before it; each later
  question (title + first post) goes to ``Library.experts``; its relevant members are its
  answerers (2 = accepted answer, 1 = other answer), the asker never counts. Only questions
  with an answerer who had answered before the split are scored (the others cannot be found
  by anything that learns from the past).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from retrieval.errors import BadQueryError, IngestError
from retrieval.evaluation import Collection
from retrieval.input_errors import json_error_text
from retrieval.records import parse_iso
from retrieval.words import plural

AUTHOR = "eval-author"
"""BEIR corpora have no authors: every document is written by this member."""
DATE = "2000-01-01T00:00:00Z"
RETRIEVAL_DEPTH = 100
EXPERT_DEPTH = 10

Advance = Callable[[], None]


def collection_threads(collection: Collection) -> list[dict[str, Any]]:
    """Each corpus document as a native one-post thread (id = corpus id); empty ones are left
    out (they could never be found)."""
    threads = []
    for doc_id, (title, text) in collection.corpus.items():
        body = text.strip() or title.strip()
        if body:
            post = {"id": f"{doc_id}~post", "author": AUTHOR, "created_at": DATE, "text": body}
            threads.append({"id": doc_id, "title": title.strip() or body[:80], "posts": [post]})
    return threads


def write_sources(threads: Iterable[dict[str, Any]], members: Iterable[dict[str, Any]], folder: Path) -> Path:
    """Write ``threads`` and ``members`` as native JSONL into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("threads.jsonl", threads), ("members.jsonl", members)):
        with (folder / name).open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return folder


def build_library(sources: Path, index: Path, settings: Any, progress: Any = None) -> Any:
    """Ingest ``sources`` into ``index`` (incremental: a rerun embeds nothing new) with the
    configured model and backend; a :class:`Library` over it with the configured search options.
    Raises :class:`IngestError` listing the first problems if the ingest reported errors."""
    from ingest.pipeline import ingest
    from retrieval.embedding import load_embedder
    from retrieval.index import IndexDir
    from retrieval.library import Library

    embedder = load_embedder(settings.model_path)
    index_dir = IndexDir(index, settings.backend_config())
    summary = ingest([sources], index_dir, embedder, batch_size=settings.embed_batch_size, progress=progress)
    if summary.errors:
        first = "; ".join(str(p) for p in summary.problems if p.level == "error")
        errors = plural(summary.errors, "error")
        raise IngestError(f"the evaluation data did not ingest cleanly ({errors}): {first[:500]}")
    return Library(index_dir, embedder, settings.search.model_dump())


def retrieval_run(library: Any, queries: dict[str, str], advance: Advance) -> dict[str, list[str]]:
    """``{query_id: [doc_id, ...]}``: the top :data:`RETRIEVAL_DEPTH` documents per query."""
    run = {}
    searcher = library.searcher()
    for query_id, text in queries.items():
        run[query_id] = [h.doc_id for h in searcher.search(text, k=RETRIEVAL_DEPTH, collapse=True)]
        advance()
    return run


@dataclass
class ExpertSplit:
    """A time split of a threads folder (see the module docstring)."""

    before: list[dict[str, Any]] = field(default_factory=list)
    questions: dict[str, tuple[str, str]] = field(default_factory=dict)
    """{thread id: (question text, asker)} of the scored later questions."""
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    later: int = 0
    """Questions asked on or after the split (scored or not)."""


def read_threads(folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(threads, members) from the native JSONL files of ``folder``; malformed lines raise
    :class:`BadQueryError` naming file and line."""
    if not folder.is_dir():
        raise BadQueryError(f"{folder}: not a folder of threads JSONL files")
    threads: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        rows = members if path.name == "members.jsonl" else threads
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if line.strip():
                    rows.append(_thread_row(line, path, n, rows is threads))
    if not threads:
        raise BadQueryError(f"{folder}: no threads (*.jsonl other than members.jsonl)")
    return threads, members


def _thread_row(line: str, path: Path, n: int, thread: bool) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise BadQueryError(f"{path}:{n}: invalid JSON ({json_error_text(e, with_line=False)})") from None
    if not isinstance(row, dict) or "id" not in row:
        raise BadQueryError(f"{path}:{n}: no 'id' field")
    if thread:
        posts = row.get("posts")
        if not isinstance(posts, list) or not posts or not all(isinstance(p, dict) for p in posts):
            raise BadQueryError(f"{path}:{n}: field 'posts' must be a non-empty list of posts")
        for p in posts:
            try:
                p["_when"] = parse_iso(str(p["created_at"]))
            except (KeyError, ValueError):
                raise BadQueryError(f"{path}:{n}: post {p.get('id')!r}: 'created_at' missing or not ISO 8601") from None
    return row


def expert_split(threads: list[dict[str, Any]], split: datetime) -> ExpertSplit:
    """Split ``threads`` (as :func:`read_threads` gives them) at ``split``."""
    result = ExpertSplit()
    answered_before: set[str] = set()
    for thread in threads:
        posts = thread["posts"]
        if posts[0]["_when"] < split:
            kept = [{k: v for k, v in p.items() if k != "_when"} for p in posts if p["_when"] < split]
            result.before.append({**thread, "posts": kept})
            answered_before.update(str(p.get("author")) for p in posts[1:] if p["_when"] < split)
    for thread in threads:
        question = thread["posts"][0]
        if question["_when"] < split:
            continue
        result.later += 1
        asker = str(question.get("author"))
        grades: dict[str, int] = {}
        for post in thread["posts"][1:]:
            author = str(post.get("author"))
            if author != asker:
                grades[author] = max(grades.get(author, 0), 2 if post.get("accepted") else 1)
        if any(a in answered_before for a in grades):
            result.questions[str(thread["id"])] = (f"{thread.get('title', '')}\n{question.get('text', '')}", asker)
            result.qrels[str(thread["id"])] = grades
    return result


def experts_run(library: Any, questions: dict[str, tuple[str, str]], advance: Advance) -> dict[str, list[str]]:
    """``{question id: [member id, ...]}`` from ``Library.experts``, the asker removed."""
    run = {}
    for question_id, (text, asker) in questions.items():
        ranked = [e.member_id for e in library.experts(text, k=EXPERT_DEPTH + 1)]
        run[question_id] = [m for m in ranked if m != asker][:EXPERT_DEPTH]
        advance()
    return run
