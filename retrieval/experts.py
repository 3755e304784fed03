"""Expert finding, document-centric (Balog, Azzopardi & de Rijke 2006, model 2).

A member's score for a question sums, over the retrieved documents they contributed to, the
relevance of their best matching post to the question times their association with it (role:
accepted answer > well-received answer > answer > question; resource authors count as
answerers) and a recency decay. A member counts once per document, so chatter inside one
thread does not add up, and the sum is divided by a mild sublinear function of how many
documents the member contributed to overall, so that volume alone does not win.

Only the hits passed in are evidence: the searcher has already restricted them to what the
asker may see, and no other document is read.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from retrieval.records import parse_iso
from retrieval.search import Hit

log = logging.getLogger(__name__)

ROLE_WEIGHTS = {"accepted": 2.0, "answer": 1.0, "author": 1.0, "question": 0.25}
SCORE_BONUS = 0.15
"""Extra weight per log-unit of a post's score (reactions/votes), on answers only."""
HALF_LIFE_DAYS = 730.0
VOLUME_EXPONENT = 0.1
"""Score is divided by (1 + documents contributed to) ** VOLUME_EXPONENT. Kept mild: on a
Stack Exchange time split (cardano) stronger normalisation cost a lot of MRR (0.3: -30%)."""
MIN_SIMILARITY = 0.3
"""Hits less similar than this to the question are no evidence of expertise (chance level)."""
MAX_EVIDENCE = 3


@dataclass
class Evidence:
    """A document where the member helped: thread (with the post) or resource."""

    doc_id: str
    title: str
    post_id: str | None
    role: str
    created_at: str | None
    url: str
    relevance: float
    """Similarity of the member's best matching text in this document to the question."""
    score: float = 0.0
    """What this document added to the member's score (relevance x role x recency)."""


@dataclass
class Expert:
    """A suggested member, with the evidence behind the suggestion (best first)."""

    member_id: str
    name: str
    score: float
    evidence: list[Evidence]


def role_of(hit: Hit) -> str:
    """The authorship role (``accepted``/``answer``/``question``/``author``) of a hit's author."""
    if hit.kind == "resource":
        return "author"
    return "question" if hit.role == "question" else "accepted" if hit.accepted else "answer"


def association(hit: Hit) -> float:
    """How strongly a hit's author is associated with its content, from role and post score."""
    role = role_of(hit)
    weight = ROLE_WEIGHTS[role]
    if role in ("answer", "accepted") and hit.post_score > 0:
        weight += SCORE_BONUS * math.log1p(hit.post_score)
    return weight


def recency(created_at: str | None, now: datetime) -> float:
    """Exponential decay with a half-life of :data:`HALF_LIFE_DAYS` (1.0 when undated)."""
    if not created_at:
        return 1.0
    age_days = max((now - parse_iso(created_at)).total_seconds() / 86400.0, 0.0)
    return 0.5 ** (age_days / HALF_LIFE_DAYS)


def relevance(hit: Hit) -> float:
    """Relevance of a hit to the question: its cosine similarity, or 0 below :data:`MIN_SIMILARITY`."""
    return hit.similarity if hit.similarity >= MIN_SIMILARITY else 0.0


def credits(hits: list[Hit], now: datetime) -> dict[tuple[str, str], tuple[float, Hit]]:
    """Each (member, document) pair's credit: the best of the member's hits in that document.

    Credit is relevance x association x recency; a member counts once per document, so many
    posts in one thread do not add up.
    """
    best: dict[tuple[str, str], tuple[float, Hit]] = {}
    for hit in hits:
        if hit.author and relevance(hit) > 0:
            credit = relevance(hit) * association(hit) * recency(hit.created_at, now)
            key = (hit.author, hit.doc_id)
            if key not in best or credit > best[key][0]:
                best[key] = (credit, hit)
    return best


def evidence_of(credit: float, hit: Hit) -> Evidence:
    """The evidence record of one credited hit."""
    return Evidence(
        doc_id=hit.doc_id, title=hit.title, post_id=hit.post_id, role=role_of(hit), created_at=hit.created_at,
        url=hit.url, relevance=round(relevance(hit), 4), score=round(credit, 4),
    )


def member_info(db: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[str, bool, int]]:
    """Name, opt-out flag and number of documents contributed to, for each member id."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    names = {r[0]: (r[1], bool(r[2])) for r in db.execute(
        f"SELECT id, name, opt_out FROM members WHERE id IN ({marks})", ids)}
    volume = {r[0]: int(r[1]) for r in db.execute(
        f"SELECT member_id, count(DISTINCT doc_id) FROM authorship WHERE member_id IN ({marks}) GROUP BY member_id",
        ids)}
    return {i: (*names.get(i, (i, False)), volume.get(i, 0)) for i in ids}


def suggest_experts(hits: list[Hit], db: sqlite3.Connection, k: int = 5, now: datetime | None = None) -> list[Expert]:
    """Rank the authors of ``hits`` as experts on the question the hits answer.

    Args:
        hits: chunk-level hits, already restricted to what the asker may see.
        db: the snapshot the hits came from (member names, opt-outs, post counts).
        k: how many experts to return.
        now: the moment recency is measured from (default: the current time).

    Returns:
        Up to ``k`` experts, best first; members who opted out are never included.
    """
    now = now or datetime.now(UTC)
    scores: dict[str, float] = {}
    evidence: dict[str, list[Evidence]] = {}
    for (member, _), (credit, hit) in credits(hits, now).items():
        scores[member] = scores.get(member, 0.0) + credit
        evidence.setdefault(member, []).append(evidence_of(credit, hit))
    info = member_info(db, sorted(scores))
    experts = [
        Expert(
            member_id=member, name=info[member][0],
            score=round(raw / (1 + info[member][2]) ** VOLUME_EXPONENT, 4),
            evidence=sorted(evidence[member], key=lambda e: (-e.score, e.doc_id))[:MAX_EVIDENCE],
        )
        for member, raw in scores.items()
        if not info[member][1]
    ]
    experts.sort(key=lambda e: (-e.score, e.member_id))
    return experts[:k]
