"""Extractive, cited answers: the sentences of the top hits that best answer a question.

No language model and no transformer pass per sentence (too slow on a CPU). A sentence is
scored from cheap signals: idf-weighted overlap with the question's terms, the cosine of static
word vectors (the embedding model's own input-embedding matrix, averaged) and the dense
similarity of the chunk it came from. That relevance is weighted by role (accepted and
well-received answers up, questions down) and by correction (a post that a later post of its
thread calls outdated goes down, and is never placed above its correction). Sentences are then
picked greedily with redundancy removed (MMR); of two near-duplicates the newer one wins.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from retrieval.embedding import Embedder
from retrieval.experts import Expert
from retrieval.search import STOPWORDS, Hit

log = logging.getLogger(__name__)

ANSWER_HITS = 8
MAX_SENTENCES = 4
MAX_CHARS = 900
MIN_WORDS = 5
WEIGHTS = {"lexical": 0.5, "static": 0.1, "dense": 0.4}
REDUNDANT = 0.5
"""Term-set Jaccard above which two sentences say the same thing."""
QUESTION_WEIGHT, ASKING_WEIGHT, ACCEPTED_WEIGHT, SCORE_WEIGHT, CORRECTED_WEIGHT = 0.4, 0.7, 1.15, 0.05, 0.4
ANAPHORA_WEIGHT, NO_OVERLAP_WEIGHT = 0.85, 0.7
"""Sentences opening with a pronoun lean on context the reader of the answer does not have."""
MMR_PENALTY = 0.3
KEEP_FRACTION = 0.6
"""A sentence scoring under this fraction of the best one is not worth adding."""
AGREEMENT_MARGIN, AGREEMENT_FLOOR = 0.1, 0.5
SIMILARITY_RAMP, RELEVANCE_RAMP = (0.25, 0.65), (0.25, 0.6)
CONFIDENCE_WEIGHTS = {"similarity": 0.45, "relevance": 0.25, "agreement": 0.1, "coverage": 0.2}
ABSTAIN_BELOW = 0.45
NOT_ANSWERED = "The community has not answered this yet."

LINE = re.compile(r"[^\n]+")
WORD = re.compile(r"[a-z0-9][a-z0-9'-]*[a-z0-9]|[a-z0-9]")
BOUNDARY = re.compile(r"[.!?]+[\"')\]*]*(\s+)(?=[\"'(\[*]*[A-Z0-9])")
LIST_MARK = re.compile(r"\s*(?:[-*+>]|\d+[.)])\s+")
CORRECTION = re.compile(
    r"\b(?:outdated|out of date|no longer (?:correct|true|valid|accurate|applies|the case)|"
    r"(?:is|was) wrong|incorrect|superseded|ignore (?:it|that|my))\b", re.IGNORECASE,
)
ANAPHORA = re.compile(r"(?:it|it's|that|that's|this|these|those|they|they're|he|she|so|also|but|and|then)\b", re.I)
OWN_POST = re.compile(r"\bmy (?:\w+ )?(?:reply|answer|post|advice)\b", re.IGNORECASE)
STEM_LENGTH = 6
SourceKey = tuple[str, str | None]
MORE_STOPWORDS = frozenset(
    "about any also best did get gets got just much need use using very what's how's it's i'm".split()
)


@dataclass
class Citation:
    """One cited post (thread) or section (resource) and the exact span quoted from it.

    ``quote`` is ``source[start:end]`` where source is ``posts.text`` for a thread post and
    ``documents.body`` for a resource; ``spans`` lists each cited sentence's offsets.
    """

    n: int
    doc_id: str
    kind: str
    post_id: str | None
    title: str
    author: str | None
    author_name: str | None
    created_at: str | None
    url: str
    quote: str
    start: int
    end: int
    section: str = ""
    spans: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Answer:
    """A cited answer, or an abstention (``abstained``) with the closest documents."""

    question: str
    text: str
    citations: list[Citation]
    confidence: float
    abstained: bool
    closest: list[Hit]
    experts: list[Expert] = field(default_factory=list)


@dataclass
class Sentence:
    """A candidate sentence: exact span of its source, features and score."""

    hit: Hit
    text: str
    start: int
    end: int
    terms: frozenset[str]
    source: str
    base: int
    """``source`` is the text the offsets minus ``base`` index into."""
    relevance: float = 0.0
    score: float = 0.0


def stem(word: str) -> str:
    """A light stem: common suffixes stripped, then cut to :data:`STEM_LENGTH` characters."""
    for suffix in ("'s", "ies", "ing", "ed", "ment", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith(("ss", "us", "is")):
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return (word[:-1] if word.endswith("e") and len(word) > 3 else word)[:STEM_LENGTH]


def content_words(text: str) -> list[str]:
    """Lower-cased words of ``text`` without stopwords."""
    return [w for w in WORD.findall(text.lower().replace("\u2019", "'")) if w not in STOPWORDS and w not in MORE_STOPWORDS]


def split_sentences(text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans in ``text[lo:hi]``, skipping headings, table rows and list markers."""
    spans = []
    for line in LINE.finditer(text, lo, len(text) if hi is None else hi):
        start, end = line.span()
        if text[start] in "#|" or text.startswith("```", start):
            continue
        marker = LIST_MARK.match(text, start, end)
        cursor = marker.end() if marker else start
        for boundary in BOUNDARY.finditer(text, cursor, end):
            spans.append((cursor, boundary.start(1)))
            cursor = boundary.end(1)
        spans.append((cursor, end))
    return [(a, b) for a, b in ((a, a + len(text[a:b].rstrip())) for a, b in spans) if b > a]


def is_quotable(text: str) -> bool:
    """A sentence stands on its own: long enough, starts like a sentence, not a lead-in."""
    first = text.lstrip("*\"'(")[:1]
    return (
        len(text.split()) >= MIN_WORDS and (first.isupper() or first.isdigit()) and not text.endswith((":", "?"))
    )


def load_sources(hits: list[Hit], db: sqlite3.Connection | None) -> tuple[dict[SourceKey, str], list[sqlite3.Row]]:
    """Full source texts keyed (doc_id, post_id), and every post of the hits' threads in order."""
    if db is None:
        return {}, []
    threads = sorted({h.doc_id for h in hits if h.post_id})
    resources = sorted({h.doc_id for h in hits if h.post_id is None})
    posts = db.execute(
        f"SELECT id, doc_id, position, author, reply_to, text FROM posts WHERE doc_id IN ({marks(threads)}) "
        "ORDER BY doc_id, position", threads,
    ).fetchall()
    sources: dict[SourceKey, str] = {(r["doc_id"], r["id"]): r["text"] for r in posts}
    for row in db.execute(f"SELECT id, body FROM documents WHERE id IN ({marks(resources)})", resources):
        sources[(row[0], None)] = row[1] or ""
    return sources, posts


def marks(values: list[str]) -> str:
    """SQL placeholders for ``values``."""
    return ",".join("?" * len(values))


def corrected_posts(posts: list[sqlite3.Row]) -> dict[str, str]:
    """Posts that a later post of the same thread calls outdated, mapped to that later post.

    "my reply above is outdated" corrects the author's own earlier answers; otherwise the
    post replied to, or, replying to the question, every earlier answer of the thread.
    """
    corrected: dict[str, str] = {}
    earlier: list[sqlite3.Row] = []
    for post in posts:
        if earlier and earlier[-1]["doc_id"] != post["doc_id"]:
            earlier = []
        if post["position"] > 0 and CORRECTION.search(post["text"]):
            answers = [e for e in earlier if e["position"] > 0]
            if OWN_POST.search(post["text"]):
                answers = [e for e in answers if e["author"] == post["author"]]
            elif any(e["id"] == post["reply_to"] for e in answers):
                answers = [e for e in answers if e["id"] == post["reply_to"]]
            for target in answers:
                corrected.setdefault(target["id"], post["id"])
        earlier.append(post)
    return corrected


def candidates(hits: list[Hit], sources: dict[SourceKey, str]) -> list[Sentence]:
    """Quotable sentences of the hits, each once, with offsets into its source text."""
    seen: set[tuple[str, str | None, int]] = set()
    found: list[Sentence] = []
    for hit in hits:
        source, base = sources.get((hit.doc_id, hit.post_id), ""), 0
        if source[hit.start : hit.end] != hit.text:  # source unknown: quote from the chunk itself
            source, base = hit.text, hit.start
        lo = source.rfind("\n", 0, hit.start - base) + 1
        hi = source.find("\n", hit.end - base)
        for a, b in split_sentences(source, lo, None if hi < 0 else hi):
            key = (hit.doc_id, hit.post_id, a + base)
            if key not in seen and is_quotable(source[a:b]):
                seen.add(key)
                words = frozenset(stem(w) for w in content_words(source[a:b]))
                found.append(Sentence(hit, source[a:b], a + base, b + base, words, source, base))
    return found


@lru_cache(maxsize=4096)
def document_frequency(db: sqlite3.Connection, word: str) -> int:
    """Chunks containing ``word`` (FTS5 applies the index's own stemming)."""
    try:
        return int(db.execute("SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH ?", (f'"{word}"',)).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@lru_cache(maxsize=16)
def chunk_count(db: sqlite3.Connection) -> int:
    """Chunks in the snapshot behind ``db``."""
    return int(db.execute("SELECT count(*) FROM chunks").fetchone()[0])


def term_weights(question: str, db: sqlite3.Connection | None, pool: list[Sentence]) -> dict[str, float]:
    """Idf of each stemmed content word of the question (index-wide, else over ``pool``)."""
    weights: dict[str, float] = {}
    total = chunk_count(db) if db is not None else len(pool)
    for word in dict.fromkeys(content_words(question)):
        term = stem(word)
        df = document_frequency(db, word) if db is not None else sum(term in s.terms for s in pool)
        weights[term] = max(weights.get(term, 0.0), math.log((total + 1) / (df + 0.5)))
    return weights


class StaticVectors:
    """Bag-of-tokens sentence vectors from a transformer's input-embedding matrix (no forward pass)."""

    def __init__(self, tokenizer: Any, matrix: np.ndarray) -> None:
        self.tokenizer, self.matrix = tokenizer, matrix
        self.keep = np.ones(len(matrix), dtype=bool)
        dropped = [*STOPWORDS, *MORE_STOPWORDS, *tokenizer.all_special_tokens, *".,;:!?()[]{}'\"-*/%#&"]
        self.keep[[i for i in tokenizer.convert_tokens_to_ids(dropped) if i is not None]] = False

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length mean token vectors, one row per text (zeros for an empty text)."""
        rows = np.zeros((len(texts), self.matrix.shape[1]), dtype=np.float32)
        for i, ids in enumerate(self.tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []):
            ids = [t for t in ids if self.keep[t]]
            if ids:
                vector = self.matrix[ids].mean(axis=0)
                rows[i] = vector / (np.linalg.norm(vector) or 1.0)
        return rows


@lru_cache(maxsize=4)
def static_vectors(embedder: Embedder) -> StaticVectors | None:
    """Static vectors of ``embedder``'s model, or None when it is not a transformer we can read."""
    try:
        module = embedder._model[0]  # type: ignore[attr-defined]
        matrix = module.auto_model.embeddings.word_embeddings.weight.detach().cpu().numpy()
        return StaticVectors(embedder.tokenizer, np.asarray(matrix, dtype=np.float32))  # type: ignore[attr-defined]
    except (AttributeError, TypeError, IndexError, KeyError):
        return None


def prior(hit: Hit, corrected: dict[str, str]) -> float:
    """Weight of a sentence's source: role, reception, and whether a later post corrected it."""
    if hit.role == "question":
        weight = QUESTION_WEIGHT
    else:  # a reply that itself asks something is a weaker answer
        weight = ACCEPTED_WEIGHT if hit.accepted else ASKING_WEIGHT if hit.text.rstrip().endswith("?") else 1.0
    weight *= 1.0 + SCORE_WEIGHT * math.log1p(max(hit.post_score, 0))
    return weight * (CORRECTED_WEIGHT if hit.post_id in corrected else 1.0)


def score_sentences(
    pool: list[Sentence], weights: dict[str, float], vectors: np.ndarray | None, question_vector: np.ndarray | None,
    corrected: dict[str, str],
) -> None:
    """Set each sentence's ``relevance`` (to the question) and ``score`` (relevance x prior)."""
    total = sum(weights.values()) or 1.0
    use_static = vectors is not None and question_vector is not None and bool(question_vector.any())
    static = vectors @ question_vector if use_static else np.zeros(len(pool))  # type: ignore[operator]
    norm = sum(WEIGHTS.values()) if use_static else WEIGHTS["lexical"] + WEIGHTS["dense"]
    for sentence, cosine in zip(pool, static, strict=True):
        lexical = sum(w for term, w in weights.items() if term in sentence.terms) / total
        sentence.relevance = (
            WEIGHTS["lexical"] * lexical + WEIGHTS["dense"] * max(sentence.hit.similarity, 0.0)
            + WEIGHTS["static"] * max(float(cosine), 0.0)
        ) / norm * (1.0 if lexical else NO_OVERLAP_WEIGHT)
        sentence.score = sentence.relevance * prior(sentence.hit, corrected)
        if ANAPHORA.match(sentence.text.lstrip("*\"'(")):
            sentence.score *= ANAPHORA_WEIGHT


def jaccard(a: Sentence, b: Sentence) -> float:
    """Overlap of two sentences' stemmed content words."""
    union = len(a.terms | b.terms)
    return len(a.terms & b.terms) / union if union else 0.0


def newer(a: Sentence, b: Sentence) -> bool:
    """True when ``a`` was written after ``b``."""
    return (a.hit.created_at or "") > (b.hit.created_at or "")


def select(pool: list[Sentence]) -> list[Sentence]:
    """Greedy MMR over ``pool``: relevant, not redundant; of two near-duplicates, the newer."""
    chosen: list[Sentence] = []
    remaining = sorted(pool, key=lambda s: (-s.score, s.hit.doc_id, s.start))
    while remaining and len(chosen) < MAX_SENTENCES:
        best = max(remaining, key=lambda s: s.score - MMR_PENALTY * max((jaccard(s, c) for c in chosen), default=0))
        remaining.remove(best)
        if chosen and best.score < KEEP_FRACTION * chosen[0].score:
            break
        twin = next((c for c in chosen if jaccard(best, c) >= REDUNDANT), None)
        if twin is not None:
            if newer(best, twin) and best.hit.post_id != twin.hit.post_id:
                chosen[chosen.index(twin)] = best
            continue
        if sum(len(c.text) for c in chosen) + len(best.text) <= MAX_CHARS or not chosen:
            chosen.append(best)
    return chosen


def group_sources(chosen: list[Sentence], corrected: dict[str, str]) -> list[list[Sentence]]:
    """Chosen sentences grouped per post/section, best group first, corrected posts last."""
    groups: dict[tuple[str, str | None, str], list[Sentence]] = {}
    for sentence in chosen:
        hit = sentence.hit
        groups.setdefault((hit.doc_id, hit.post_id, hit.section if hit.post_id is None else ""), []).append(sentence)
    ordered = sorted(
        groups.values(), key=lambda g: (g[0].hit.post_id in corrected, -max(s.score for s in g), g[0].start)
    )
    return [sorted(group, key=lambda s: s.start) for group in ordered]


def render(groups: list[list[Sentence]]) -> tuple[str, list[Citation]]:
    """Answer text (each sentence followed by its marker [n]) and the numbered citations."""
    parts, citations = [], []
    for n, group in enumerate(groups, start=1):
        first, last, hit = group[0], group[-1], group[0].hit
        start, end = first.start, last.end
        citations.append(Citation(
            n=n, doc_id=hit.doc_id, kind=hit.kind, post_id=hit.post_id, title=hit.title, author=hit.author,
            author_name=hit.author_name, created_at=hit.created_at, url=hit.url,
            quote=first.source[start - first.base : end - first.base], start=start, end=end,
            section=hit.section, spans=[(s.start, s.end) for s in group],
        ))
        parts += [f"{s.text.replace('**', '').replace('__', '')} [{n}]" for s in group]
    return " ".join(parts), citations


def ramp(value: float, low: float, high: float) -> float:
    """0 below ``low``, 1 above ``high``, linear between."""
    return min(max((value - low) / (high - low), 0.0), 1.0)


def coverage(weights: dict[str, float], hits: list[Hit]) -> float:
    """Share of the question's idf mass whose terms occur anywhere in the hits (titles included)."""
    present: set[str] = set()
    for hit in hits:
        present.update(stem(w) for w in content_words(f"{hit.title} {hit.text}"))
    total = sum(weights.values())
    return sum(w for term, w in weights.items() if term in present) / total if total else 0.0


def confidence_of(hits: list[Hit], pool: list[Sentence], weights: dict[str, float]) -> float:
    """How well the evidence supports an answer, in 0..1.

    Combines the best dense similarity of any hit, the best sentence relevance, how many
    documents agree (score close to the best and well above chance) and how much of the
    question's vocabulary the hits contain at all (off-topic questions bring words the
    community never used).
    """
    if not hits or not pool:
        return 0.0
    top = max(h.similarity for h in hits)
    agreeing = {h.doc_id for h in hits if h.similarity >= max(top - AGREEMENT_MARGIN, AGREEMENT_FLOOR)}
    best = max(s.relevance for s in pool)
    value = (
        CONFIDENCE_WEIGHTS["similarity"] * ramp(top, *SIMILARITY_RAMP)
        + CONFIDENCE_WEIGHTS["relevance"] * ramp(best, *RELEVANCE_RAMP)
        + CONFIDENCE_WEIGHTS["agreement"] * min(len(agreeing), 3) / 3
        + CONFIDENCE_WEIGHTS["coverage"] * coverage(weights, hits)
    )
    return round(value, 3)


def closest_documents(hits: list[Hit], k: int = 3) -> list[Hit]:
    """The first hit of each of the first ``k`` distinct documents."""
    seen: dict[str, Hit] = {}
    for hit in hits:
        if hit.doc_id not in seen and len(seen) < k:
            seen[hit.doc_id] = hit
    return list(seen.values())


def abstention(question: str, closest: list[Hit], confidence: float) -> Answer:
    """The honest "not answered yet" answer, naming the closest documents."""
    text = NOT_ANSWERED
    if closest:
        text += " The closest discussions are: " + "; ".join(f"\u201c{h.title}\u201d" for h in closest) + "."
    return Answer(question, text, [], confidence, True, closest)


def compose_answer(
    question: str, hits: list[Hit], embedder: Embedder, db: sqlite3.Connection | None = None,
    abstain_below: float = ABSTAIN_BELOW,
) -> Answer:
    """An extractive answer to ``question`` from ``hits``, each sentence cited, or an abstention.

    Args:
        question: the member's question.
        hits: chunk-level hits, best first (e.g. the top :data:`ANSWER_HITS`), already
            restricted to what the asker may see.
        embedder: its tokenizer and input embeddings give static word vectors (no forward pass).
        db: the hits' snapshot: full source texts, thread corrections and idf (optional: without
            it, quotes come from the chunks and idf from the candidate sentences).
        abstain_below: confidence under which the answer abstains.

    Returns:
        An :class:`Answer` whose citations quote their sources exactly; ``experts`` is empty.
    """
    sources, posts = load_sources(hits, db)
    corrected = corrected_posts(posts)
    pool = candidates(hits, sources)
    static = static_vectors(embedder)
    vectors = static.encode([s.text for s in pool]) if static else None
    question_vector = static.encode([question])[0] if static else None
    weights = term_weights(question, db, pool)
    score_sentences(pool, weights, vectors, question_vector, corrected)
    confidence = confidence_of(hits, pool, weights)
    closest = closest_documents(hits)
    if confidence < abstain_below:
        return abstention(question, closest, confidence)
    text, citations = render(group_sources(select(pool), corrected))
    return Answer(question, text, citations, confidence, False, closest)
