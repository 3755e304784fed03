"""Scoring rankings against relevance judgements, and reading a BEIR-layout test collection.

Metrics come from ``ir_measures`` (the trec_eval implementation through pytrec_eval): this
module only names them, feeds it our rankings and averages over *every* judged query, so a
query that found nothing counts as 0 instead of being dropped (ir_measures alone would skip it).

Shapes: ``Qrels`` = ``{query_id: {doc_id: grade}}`` (grade 0 = judged not relevant, >= 1
relevant, larger = better); ``Run`` = ``{query_id: [doc_id, ...]}`` best first.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.errors import BadQueryError
from retrieval.input_errors import json_error_text

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Sequence[str]]

RETRIEVAL_MEASURES = {"nDCG@10": "nDCG@10", "MRR@10": "RR@10", "Recall@100": "R@100"}
"""Our names -> ir_measures names, for document retrieval."""
EXPERT_MEASURES = {"MRR": "RR", "P@1": "P@1", "nDCG@3": "nDCG@3"}
"""Our names -> ir_measures names, for expert finding (members ranked per question)."""


def per_query(qrels: Qrels, run: Run, measures: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """``{our measure name: {query_id: value}}`` for every query of ``qrels`` with at least one
    relevant item; a query missing from ``run`` (or with an empty ranking) scores 0."""
    import ir_measures

    judged = {q: {d: int(g) for d, g in docs.items()} for q, docs in qrels.items() if any(g > 0 for g in docs.values())}
    # strictly decreasing scores keep our order (trec_eval sorts by score, ties by doc id)
    scored = {q: {d: float(len(ranked) - i) for i, d in enumerate(dict.fromkeys(ranked))}
              for q, ranked in run.items() if q in judged and ranked}
    values: dict[str, dict[str, float]] = {name: dict.fromkeys(judged, 0.0) for name in measures}
    by_ir = {ir_measures.parse_measure(ir): name for name, ir in measures.items()}
    if scored:
        for m in ir_measures.iter_calc(list(by_ir), judged, scored):
            values[by_ir[m.measure]][m.query_id] = float(m.value)
    return values


def mean_scores(values: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """The mean over queries of each measure in :func:`per_query`'s output (0 if no query)."""
    return {name: (sum(v.values()) / len(v) if v else 0.0) for name, v in values.items()}


@dataclass(frozen=True)
class Collection:
    """A BEIR-layout test collection: ``corpus`` {doc_id: (title, text)}, ``queries``
    {query_id: text}, ``qrels``."""

    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    unknown_queries: tuple[str, ...] = ()
    """Query ids of qrels.tsv that queries.jsonl does not hold (their judgements are unused)."""
    unknown_documents: tuple[str, ...] = ()
    """Judged document ids that corpus.jsonl does not hold (nothing can find them: they lower
    every measure of their queries)."""

    def unknown_ids_message(self, shown: int = 5) -> str | None:
        """One line counting the qrels' ids missing from queries.jsonl and corpus.jsonl and
        naming the first ``shown`` of each; None when every id is known."""
        parts = []
        for ids, what, where in ((self.unknown_queries, "query id", "queries.jsonl"),
                                 (self.unknown_documents, "document id", "corpus.jsonl")):
            if ids:
                more = ", ..." if len(ids) > shown else ""
                plural = "s" if len(ids) > 1 else ""
                parts.append(f"{len(ids)} {what}{plural} not in {where} ({', '.join(ids[:shown])}{more})")
        return f"qrels.tsv judges {' and '.join(parts)}" if parts else None


def read_collection(folder: Path) -> Collection:
    """Read ``folder``/corpus.jsonl (``_id`` or ``id``, ``title``, ``text``), queries.jsonl
    (``_id`` or ``id``, ``text``) and qrels.tsv (query-id, corpus-id, score; a header line is
    allowed). Raises :class:`BadQueryError` naming file and line for anything malformed; ids
    the qrels judge but the other files lack are kept in ``unknown_queries`` and
    ``unknown_documents`` (see :meth:`Collection.unknown_ids_message`)."""
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv"):
        if not (folder / name).is_file():
            raise BadQueryError(f"{folder / name}: missing (a BEIR folder holds corpus.jsonl, queries.jsonl, "
                                "qrels.tsv)")
    corpus = {key: (str(row.get("title") or ""), str(row.get("text") or ""))
              for key, row in _rows(folder / "corpus.jsonl")}
    queries = {key: str(row.get("text") or "") for key, row in _rows(folder / "queries.jsonl")}
    qrels = read_qrels(folder / "qrels.tsv")
    if not corpus:
        raise BadQueryError(f"{folder / 'corpus.jsonl'}: no documents")
    unknown_queries = tuple(q for q in qrels if q not in queries)
    unknown_documents = tuple(dict.fromkeys(d for judged in qrels.values() for d in judged if d not in corpus))
    return Collection(corpus, {q: t for q, t in queries.items() if q in qrels and t.strip()}, qrels,
                      unknown_queries, unknown_documents)


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise BadQueryError(f"{path}:{n}: invalid JSON ({json_error_text(e, with_line=False)})") from None
            key = row.get("_id", row.get("id")) if isinstance(row, dict) else None
            if key is None or str(key).strip() == "":
                raise BadQueryError(f"{path}:{n}: no '_id' (or 'id') field")
            yield str(key), row


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``{query_id: {doc_id: grade}}`` from a TREC/BEIR qrels TSV (3 columns, or TREC's 4)."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.reader(f, delimiter="\t"), start=1):
            if not row or (n == 1 and not row[-1].lstrip("-").isdigit()):
                continue  # blank line or header
            if len(row) not in (3, 4) or not row[-1].lstrip("-").isdigit():
                raise BadQueryError(f"{path}:{n}: expected query-id, corpus-id, integer score (tab-separated)")
            qrels.setdefault(row[0], {})[row[-2]] = int(row[-1])
    return qrels
