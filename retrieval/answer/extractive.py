"""The default answerer: the sentences of the top hits that best answer the question, each
followed by its citation, or an honest abstention.

When a thread's question matches the asked one (an anchor: the question was asked before),
that thread's other replies from the wider hits join the candidates and weigh more; the
asker's own replies weigh less. A shared resource among the hits brings its further sections
the same way. What a thread's first post is depends on the thread: a question (it or its title
asks) restates, an announcement, guide or report informs and is quoted like a reply; nothing
the asked text itself contains is quoted back. Confidence is scaled by how well the best
quoted sentence scores, so it predicts the share of good citations (calibrated on SemEval-2015
dev).

No language model. With ``Tuning.meaning`` > 0 it embeds at most ``meaning_pool`` candidate
sentences per question (the best by the cheap signals), each once per process (an LRU cache
keyed by the sentence text), so a sentence's own meaning counts and not only its chunk's
similarity; off by default (it did not raise SemEval precision and costs query time).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from retrieval.answer import english as lang
from retrieval.answer.base import ANSWERERS, Answer, Evidence
from retrieval.answer.confidence import ConfidenceTuning, confidence_of, ramp
from retrieval.answer.rendering import abstention, closest_documents, group_sources, render
from retrieval.answer.selection import (
    Threads,
    Tuning,
    corrected_posts,
    opener_asks,
    score_sentences,
    select,
    without_stale,
)
from retrieval.embedding import Embedder
from retrieval.search import Hit
from retrieval.sentences import Sentence, candidates, load_sources, term_weights
from retrieval.views import PostInfo

log = logging.getLogger(__name__)

ANSWER_HITS = 8
"""Chunk hits an answer is built from."""
ABSTAIN_BELOW = 0.5
"""Chosen on the SemEval-2015 dev questions (docs/benchmarks.md): the answers below it were
rarely right there, and the sample's off-topic questions stay far below it."""


@dataclass(frozen=True)
class Anchoring:
    """When a thread's question post is among the hits and matches the asked question about as
    well as the best question post does (cosine >= ``floor`` and within ``margin`` of the
    best), the thread is an anchor: its other replies found in ``Evidence.further`` (up to
    ``replies`` of them) join the candidates, and its replies weigh up to ``Tuning.anchor``,
    in full from cosine ``full`` (the same question asked again), linearly from ``floor``.
    ``floor`` 0.6 (was 0.75): SemEval-2015 dev is flat from 0.55 to 0.75 (precision 0.722 vs
    0.721, answered 0.950 vs 0.947), and a paraphrased question of the sample (cosine ~0.6 to
    the thread that asked it) then gets that thread's answer."""

    floor: float = 0.6
    full: float = 0.9
    margin: float = 0.05
    replies: int = 12
    sections: int = 4
    """Further sections (from ``Evidence.further``) of a shared resource already among the
    hits that join the candidates: a guide's other parts, as an anchor's other replies."""


def anchors(hits: list[Hit], a: Anchoring) -> dict[str, float]:
    """Doc id of each anchor thread among ``hits`` -> its strength in (0, 1] (see :class:`Anchoring`)."""
    questions = [h for h in hits if h.role == "question"]
    if not questions:
        return {}
    best = max(h.similarity for h in questions)
    low = max(a.floor, best - a.margin)
    return {h.doc_id: max(ramp(h.similarity, a.floor, a.full), 0.05) for h in questions if h.similarity >= low}


def completed(evidence: Evidence, anchored: Mapping[str, float], a: Anchoring) -> list[Hit]:
    """``evidence.hits`` and, after them, the further replies of the anchor threads."""
    seen = {h.chunk_id for h in evidence.hits}
    extra = [h for h in evidence.further if h.doc_id in anchored and h.role != "question" and h.chunk_id not in seen]
    guides = {h.doc_id for h in evidence.hits if h.post_id is None}
    sections = [h for h in evidence.further if h.post_id is None and h.doc_id in guides and h.chunk_id not in seen]
    return evidence.hits + extra[: a.replies] + sections[: a.sections]


def thread_facts(hits: list[Hit], posts: list[PostInfo], anchored: Mapping[str, float]) -> Threads:
    """Each thread's asker (author of its first post, from the catalog's posts, else from a
    question hit), the anchors, and the threads whose first post informs rather than asks."""
    askers = {h.doc_id: h.author for h in hits if h.role == "question"}
    askers.update({p.doc_id: p.author for p in posts if p.position == 0})
    titles = {h.doc_id: h.title for h in hits if h.post_id is not None}
    openers = {h.doc_id: h.text for h in hits if h.role == "question"}
    openers.update({p.doc_id: p.text for p in posts if p.position == 0})
    informs = frozenset(d for d, text in openers.items() if not opener_asks(titles.get(d, ""), text))
    return Threads(askers, dict(anchored), informs)


def quoted_in(sentence: str, question: str) -> bool:
    """``sentence`` is part of the asked text itself (spacing and case aside): quoting it back
    would tell the asker nothing (a post asked again word for word, as it stands in the index)."""
    return " ".join(sentence.split()).lower() in " ".join(question.split()).lower()


class VectorCache:
    """Sentence text -> unit vector, at most ``size`` entries, least recently used out first."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, texts: list[str], embedder: Embedder) -> np.ndarray:
        """One row per text (shape (len(texts), dimension)); only unseen texts are embedded."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        fresh = embedder.embed(missing) if missing else np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            for text, vector in zip(missing, fresh, strict=True):
                self._vectors[text] = vector
            rows = []
            for text in texts:
                self._vectors.move_to_end(text)
                rows.append(self._vectors[text])
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


@dataclass
class ExtractiveAnswerer:
    """See the module docstring. ``meaning_pool`` = 0 turns sentence embeddings off."""

    tuning: Tuning = field(default_factory=Tuning)
    confidence: ConfidenceTuning = field(default_factory=ConfidenceTuning)
    abstain_below: float = ABSTAIN_BELOW
    anchoring: Anchoring = field(default_factory=Anchoring)
    meaning_pool: int = 12
    cache: VectorCache = field(default_factory=VectorCache)

    def answer(self, evidence: Evidence) -> Answer:
        """See :class:`retrieval.answer.base.Answerer`."""
        anchored = anchors(evidence.hits, self.anchoring)
        hits = completed(evidence, anchored, self.anchoring)
        sources, posts = load_sources(hits, evidence.catalog, evidence.groups)
        corrected = corrected_posts(posts)
        threads = thread_facts(hits, posts, anchored)
        pool = [s for s in candidates(hits, sources, lang.LEAN_ON_PREVIOUS, lang.POINTS_AT_QUESTION)
                if not quoted_in(s.text, evidence.question)]
        weights = term_weights(evidence.question, evidence.lexical, (s.terms for s in pool))
        score_sentences(pool, weights, corrected, evidence.question, self.tuning, threads)
        if self.meaning_pool and self.tuning.meaning and pool:
            self._add_meaning(pool, evidence)
            score_sentences(pool, weights, corrected, evidence.question, self.tuning, threads)
        chosen = without_stale(select(pool, self.tuning), corrected)
        best = max((c.score for c in chosen), default=0.0)
        confidence = confidence_of(evidence.hits, pool, weights, self.confidence, best)
        closest = closest_documents(evidence.hits)
        if confidence < self.abstain_below or not chosen:
            return abstention(evidence.question, closest, confidence)
        text, citations = render(group_sources(chosen, corrected))
        return Answer(evidence.question, text, citations, confidence, False, closest)

    def _add_meaning(self, pool: list[Sentence], evidence: Evidence) -> None:
        """Cosine of the best ``meaning_pool`` sentences to the question (the rest keep None,
        and cannot win against them: they score on the cheap signals only)."""
        best = sorted(pool, key=lambda s: -s.score)[: self.meaning_pool]
        vectors = self.cache.vectors([evidence.question] + [s.text for s in best], evidence.embedder)
        for sentence, cosine in zip(best, vectors[1:] @ vectors[0], strict=True):
            sentence.meaning = float(cosine)
        shortlisted = {id(s) for s in best}
        pool[:] = [s for s in pool if id(s) in shortlisted]


def compose_answer(
    question: str, hits: list, embedder: Embedder, catalog=None, lexical=None,  # type: ignore[no-untyped-def,type-arg]
    groups: tuple[str, ...] = (), abstain_below: float = ABSTAIN_BELOW,
) -> Answer:
    """The default extractive answer (kept for callers of the old module-level function)."""
    evidence = Evidence(question, hits, embedder, catalog, lexical, groups)
    return ExtractiveAnswerer(abstain_below=abstain_below).answer(evidence)


ANSWERERS["extractive"] = ExtractiveAnswerer
