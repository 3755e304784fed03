"""Dev sets for forum retrieval quality (issue 11, part 7), built from ``../shared/data`` at run
time as native JSONL sources plus queries and graded qrels.

- ``stackfaq-thread`` / ``stackfaq-answer``: short paraphrased questions -> the thread (or its
  question-answer pairs), as ``bench/quality.py`` builds them; queries have no body.
- ``semeval2015``: the pooled Qatar Living set; query = question title + body; documents =
  every comment of every thread (2 = Good, 1 = Potential, 0 = Bad).
- ``cardano-qa``: question -> comment on a Stack Exchange site. Every answer of the first
  :data:`CARDANO_QA_THREADS` answered cardano.stackexchange threads is a one-post document
  *without* its question's title (as a forum comment; ``townsquare eval`` titles it with its
  first 80 characters); query = question title + body; relevant = its own answers
  (2 = accepted, 1 = other).
- ``cardano-qq``: question -> question. Every question (title + body) is a document; queries are
  questions that ``postlinks.tsv`` links to another question (2 = duplicate, 1 = linked); the
  query's own document is removed from its ranking (``exclude_self``).

A query is ``(title, body)``; the text the product is asked is ``title + "\\n" + body``.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.common import read_jsonl, read_qrels, write_stackfaq

NAMES = ("stackfaq-thread", "stackfaq-answer", "semeval2015", "cardano-qa", "cardano-qq")


@dataclass
class DevSet:
    """One retrieval dev set: sources to ingest, queries ``{id: (title, body)}``, graded qrels."""

    name: str
    sources: Path
    queries: dict[str, tuple[str, str]]
    qrels: dict[str, dict[str, float]]
    exclude_self: bool = False

    def text(self, query_id: str) -> str:
        """What the product is asked: title and body on separate lines."""
        title, body = self.queries[query_id]
        return f"{title}\n{body}" if body else title


def build(name: str, data: Path, folder: Path) -> DevSet:
    """The dev set ``name`` (one of :data:`NAMES`), its sources written under ``folder``."""
    if name.startswith("stackfaq-"):
        return stackfaq(name, data, folder)
    builders = {"semeval2015": semeval, "cardano-qa": cardano_qa, "cardano-qq": cardano_qq}
    if name not in builders:
        raise ValueError(f"unknown dev set {name!r}; known: {', '.join(NAMES)}")
    return builders[name](data, folder)


def stackfaq(name: str, data: Path, folder: Path) -> DevSet:
    level = name.split("-")[1]
    sources = write_stackfaq(data, level, folder / "sources")
    queries = {r["id"]: (r["text"], "") for r in read_jsonl(data / "stackfaq" / "queries.jsonl")}
    qrels = read_qrels(data / "stackfaq" / ("answer_level" if level == "answer" else "") / "qrels.tsv")
    return DevSet(name, sources, queries, qrels)


def write(corpus: dict[str, tuple[str, str]], folder: Path) -> Path:
    """``corpus`` ({id: (title, text)}) as one-post native threads, exactly as
    ``townsquare eval retrieval`` and ``bench/peers.py`` ingest a BEIR corpus (so cached
    embeddings are shared)."""
    from app.evaluate import AUTHOR, collection_threads, write_sources
    from retrieval.evaluation import Collection

    member = {"id": AUTHOR, "name": "Qatar Living", "handles": {}, "opt_out": False}
    return write_sources(collection_threads(Collection(corpus, {}, {})), [member], folder)


def semeval(data: Path, folder: Path) -> DevSet:
    from retrieval.evaluation import read_collection

    base = data / "semeval2015-qatarliving"
    collection = read_collection(base)
    queries = {r["id"]: (r["title"].strip(), r["body"].strip()) for r in read_jsonl(base / "queries.jsonl")}
    qrels = {q: {d: float(g) for d, g in docs.items()} for q, docs in collection.qrels.items()}
    return DevSet("semeval2015", write(collection.corpus, folder / "sources"), queries, qrels)


CARDANO_QA_THREADS = 400
"""cardano-qa pools the answers of the first this-many answered threads (the embedding budget
of a shared 2-core machine; the same cut every run)."""


def cardano_qa(data: Path, folder: Path) -> DevSet:
    answered = [r for r in read_jsonl(data / "stackexchange-cardano" / "threads.jsonl") if r["answers"]]
    rows = answered[:CARDANO_QA_THREADS]
    corpus: dict[str, tuple[str, str]] = {}
    queries, qrels = {}, {}
    for row in rows:
        answers = [a for a in row["answers"] if a["text"].strip()]
        for a in answers:
            corpus[f"a{a['id']}"] = ("", a["text"])
        if answers:
            queries[row["thread_id"]] = (row["title"].strip(), row["question"]["text"].strip())
            qrels[row["thread_id"]] = {f"a{a['id']}": 2.0 if a["accepted"] else 1.0 for a in answers}
    return DevSet("cardano-qa", write(corpus, folder / "sources"), queries, qrels)


def cardano_qq(data: Path, folder: Path) -> DevSet:
    base = data / "stackexchange-cardano"
    rows = {r["thread_id"]: r for r in read_jsonl(base / "threads.jsonl")}
    corpus = {i: (r["title"].strip(), r["question"]["text"].strip()) for i, r in rows.items()}
    qrels: dict[str, dict[str, float]] = defaultdict(dict)
    with (base / "postlinks.tsv").open(encoding="utf-8") as f:
        for link in csv.DictReader(f, delimiter="\t"):
            a, b = link["post-id"], link["related-post-id"]
            if a in rows and b in rows and a != b:
                grade = 2.0 if link["link-type"] == "duplicate" else 1.0
                for x, y in ((a, b), (b, a)):
                    qrels[x][y] = max(grade, qrels[x].get(y, 0.0))
    queries = {q: (rows[q]["title"].strip(), rows[q]["question"]["text"].strip()) for q in qrels}
    return DevSet("cardano-qq", write(corpus, folder / "sources"), queries, dict(qrels), exclude_self=True)
