"""Scoring and choosing the sentences of an extractive answer.

A sentence's relevance comes from its meaning (cosine of its embedding to the question's,
when the answerer gives sentence vectors), the idf-weighted overlap with the question's
stemmed terms, and the dense similarity of its chunk. That relevance is weighted by the
source's role (accepted and well-received answers up, questions down; replies of a thread
whose question matches the asked one up; the asker's own replies, replies that ask back and
one-liners down), by correction (a post
that a later post of its thread calls outdated goes down, and is cited only together with,
and after, its correction) and by cheap signs of style (:mod:`retrieval.answer.english`).
Sentences are then picked greedily with redundancy removed (MMR); of two near-duplicates the
newer one wins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from retrieval.answer import english as lang
from retrieval.search import Hit
from retrieval.sentences import Sentence, opens_reply, split_sentences
from retrieval.views import PostInfo


@dataclass(frozen=True)
class Tuning:
    """The extractive scorer's weights (multipliers unless said otherwise)."""

    lexical: float = 0.55
    dense: float = 0.45
    meaning: float = 0.0
    """Weight of the sentence's own embedding cosine; when > 0 the three are renormalised."""
    max_sentences: int = 8
    max_sources: int = 2
    """Posts or sections an answer quotes at most (each is one citation): a third one lowered
    SemEval-2015 dev citation precision (0.719 -> 0.699) and added no key fact on the sample."""
    max_chars: int = 1600
    """The reading budget. With ``keep_quoted`` it sets how much of the cited posts an answer
    quotes; on the sample, key-fact recall rises with it (mean 380 characters: 0.64, 605: 0.77,
    771: 0.81, 1,100: 0.89) while SemEval citations do not change (same posts, more of them)."""
    redundant: float = 0.5
    """Term-set Jaccard above which two sentences say the same thing."""
    focus: float = 0.0
    """Exponent on (chunk similarity / best hit's similarity): sentences of chunks less about
    the question than the best one go down, however well their own words match."""
    resource: float = 1.0
    """Prior of a section of a shared resource (curated guides), against a post's role."""
    question: float = 0.4
    """A thread's first post that asks (the question restates, it rarely answers)."""
    opener: float = 1.0
    """A thread's first post that informs (announcement, guide, report): content, like a reply."""
    asking: float = 0.7
    asks_back: float = 0.6
    """A reply with a question mark anywhere (it may ask as much as it answers)."""
    asker: float = 0.4
    """A reply written by the thread's asker (thanks, follow-ups, rarely the answer)."""
    anchor: float = 3.0
    """A reply to a question that matches the asked one (see :class:`Threads`)."""
    substance: float = 0.2
    """Per unit of log(1 + words of the source's chunk): one-liners carry less."""
    accepted: float = 1.15
    post_score: float = 0.05
    corrected: float = 0.4
    anaphora: float = 0.85
    no_overlap: float = 0.7
    self_reference: float = 0.7
    filler: float = 0.5
    restate: float = 0.7
    restate_new_terms: int = 3
    action: float = 1.25
    number: float = 1.2
    lead: float = 0.15
    mmr_penalty: float = 0.3
    keep_fraction: float = 0.6
    """A sentence scoring under this fraction of the best one is not worth a new citation."""
    keep_quoted: float = 0.3
    """A sentence of a source the answer already cites is added down to this fraction of the
    best score (it costs no new citation: the rest of a quoted procedure)."""


def corrected_posts(posts: Sequence[PostInfo]) -> dict[str, str]:
    """Posts that a later post of the same thread calls outdated, mapped to that later post.

    "my reply above is outdated" corrects the author's own earlier answers; otherwise the
    post replied to, or, replying to the question, every earlier answer of the thread.
    """
    corrected: dict[str, str] = {}
    earlier: list[PostInfo] = []
    for post in posts:
        if earlier and earlier[-1].doc_id != post.doc_id:
            earlier = []
        if post.position > 0 and lang.CORRECTION.search(post.text):
            answers = [e for e in earlier if e.position > 0]
            if lang.OWN_POST.search(post.text):
                answers = [e for e in answers if e.author == post.author]
            elif any(e.id == post.reply_to for e in answers):
                answers = [e for e in answers if e.id == post.reply_to]
            for target in answers:
                corrected.setdefault(target.id, post.id)
        earlier.append(post)
    return corrected


@dataclass(frozen=True)
class Threads:
    """What the scorer knows of the hits' threads: each thread's asker (author of its first
    post, by doc id) and the anchors (doc id of each thread whose question matches the asked
    one -> how strongly, 0..1)."""

    askers: dict[str, str | None] = field(default_factory=dict)
    anchors: dict[str, float] = field(default_factory=dict)
    informs: frozenset[str] = frozenset()
    """Doc ids of threads whose first post informs rather than asks (:func:`opener_asks` is
    false: an announcement, guide or report): that post is content, and its author's later
    replies are answers, not an asker's follow-ups."""

    def asks(self, hit: Hit) -> bool:
        """``hit`` is a thread's first post that asks (a question, not content)."""
        return hit.role == "question" and hit.doc_id not in self.informs


def opener_asks(title: str, text: str) -> bool:
    """A thread's title or first post asks (:data:`english.ASKING` matches the title or any
    of the post's sentences). False for an announcement, a guide or a report, whose first post
    is what the thread has to say."""
    return bool(lang.ASKING.search(title)) or any(
        lang.ASKING.search(text[a:b]) for a, b in split_sentences(text))


def reply_weight(hit: Hit, threads: Threads, t: Tuning) -> float:
    """A reply's weight from who wrote it, whether it asks back and its thread."""
    weight = t.accepted if hit.accepted else t.asking if hit.text.rstrip().endswith("?") else 1.0
    if "?" in hit.text and not hit.accepted:
        weight *= t.asks_back
    if hit.author and threads.askers.get(hit.doc_id) == hit.author and hit.doc_id not in threads.informs:
        weight *= t.asker
    return weight * (1.0 + (t.anchor - 1.0) * threads.anchors.get(hit.doc_id, 0.0))


def prior(hit: Hit, corrected: dict[str, str], t: Tuning, threads: Threads = Threads()) -> float:
    """Weight of a sentence's source: its substance (length of its chunk, for posts and
    sections alike), role, reception, and whether a later post corrected it."""
    substance = 1.0 + t.substance * math.log1p(len(hit.text.split()))
    if hit.post_id is None:
        return t.resource * substance
    if hit.role != "question":
        weight = substance * reply_weight(hit, threads, t)
    else:  # a thread's first post: it asks (a question restates) or it informs (content)
        weight = substance * (t.question if threads.asks(hit) else t.opener)
    weight *= 1.0 + t.post_score * math.log1p(max(hit.post_score, 0))
    return weight * (t.corrected if hit.post_id in corrected else 1.0)


def opening(text: str) -> str:
    """``text`` without leading emphasis, quotes and brackets."""
    return text.lstrip("*_\"'(\u201c ")


def is_instruction(sentence: Sentence) -> bool:
    """A step of a list, an imperative ("Reduce the entrance ...", "Don't ...") or advice
    addressed to the reader ("you should ...")."""
    if sentence.listed or lang.ADVICE.search(sentence.text):
        return True
    words = lang.WORDS.findall(opening(sentence.text).lower())
    if len(words) < 2 or words[0] in lang.FUNCTION_WORDS or words[0].endswith(("ing", "ed", "ly", "'s", "s")):
        return False
    return words[1] in lang.IMPERATIVE_NEXT or words[1][0].isdigit()


def style_weight(
    sentence: Sentence, question_terms: frozenset[str], asks: tuple[bool, bool], t: Tuning,
    threads: Threads = Threads(),
) -> float:
    """Cheap signals of whether a sentence answers rather than accompanies an answer;
    ``asks`` = (the question asks what to do, the question asks for a figure)."""
    text = opening(sentence.text)
    weight = 1.0
    if lang.SELF_REFERENCE.match(text):
        weight *= t.self_reference
    if lang.FILLER.match(text):
        weight *= t.filler
    if len(sentence.terms - question_terms) < t.restate_new_terms:
        weight *= t.restate
    if asks[0] and is_instruction(sentence):
        weight *= t.action
    if asks[1] and any(ch.isdigit() for ch in sentence.text):
        weight *= t.number
    if sentence.hit.post_id is not None and not threads.asks(sentence.hit):
        weight *= 1.0 + t.lead * (1.0 - sentence.position)
    if lang.ANAPHORA.match(text) and not sentence.joined and not opens_reply(sentence.hit, sentence.source,
                                                                            sentence.start - sentence.base):
        weight *= t.anaphora
    return weight


def score_sentences(
    pool: list[Sentence], weights: dict[str, float], corrected: dict[str, str], question: str, t: Tuning,
    threads: Threads = Threads(),
) -> None:
    """Set each sentence's ``relevance`` (to the question) and ``score`` (relevance x prior x
    style). ``sentence.meaning`` (cosine to the question, or None) counts when ``t.meaning``."""
    total = sum(weights.values()) or 1.0
    question_terms = frozenset(weights)
    top = max((max(s.hit.similarity, 1e-6) for s in pool), default=1.0)
    asks = (bool(lang.PROCEDURAL.search(question)), bool(lang.QUANTITATIVE.search(question)))
    for sentence in pool:
        lexical = sum(w for term, w in weights.items() if term in sentence.terms) / total
        dense = max(sentence.hit.similarity, 0.0)
        parts = t.lexical * lexical + t.dense * dense
        if t.meaning and sentence.meaning is not None:
            parts = (parts + t.meaning * max(sentence.meaning, 0.0)) / (t.lexical + t.dense + t.meaning)
        sentence.relevance = parts * (t.no_overlap if not lexical else 1.0)
        sentence.score = sentence.relevance * prior(sentence.hit, corrected, t, threads)
        sentence.score *= (max(sentence.hit.similarity, 0.0) / top) ** t.focus
        sentence.score *= style_weight(sentence, question_terms, asks, t, threads)


def jaccard(a: Sentence, b: Sentence) -> float:
    """Overlap of two sentences' stemmed content words."""
    shared = len(a.terms & b.terms)
    union = len(a.terms) + len(b.terms) - shared  # the size of the union, without building it
    return shared / union if union else 0.0


def newer(a: Sentence, b: Sentence) -> bool:
    """True when ``a`` was written after ``b``."""
    return (a.hit.created_at or "") > (b.hit.created_at or "")


def select(pool: list[Sentence], t: Tuning) -> list[Sentence]:
    """Greedy MMR over ``pool``: relevant, not redundant; of two near-duplicates, the newer."""
    chosen: list[Sentence] = []
    remaining = sorted(pool, key=lambda s: (-s.score, s.hit.doc_id, s.start))
    # redundancy[i]: remaining[i]'s highest overlap with a chosen sentence, kept up to date as
    # sentences are chosen instead of recomputed against every chosen one at every step
    redundancy = [0.0] * len(remaining)
    while remaining and len(chosen) < t.max_sentences:
        at = max(range(len(remaining)), key=lambda i: remaining[i].score - t.mmr_penalty * redundancy[i])
        best = remaining.pop(at)
        del redundancy[at]
        if chosen and best.score < t.keep_quoted * chosen[0].score:
            break
        sources = {source_key(c) for c in chosen}
        if chosen and best.score < t.keep_fraction * chosen[0].score and source_key(best) not in sources:
            continue
        if any(overlaps(best, c) for c in chosen):
            continue
        twin = next((c for c in chosen if jaccard(best, c) >= t.redundant), None)
        if twin is not None:
            if newer(best, twin) and (best.hit.doc_id, best.hit.post_id) != (twin.hit.doc_id, twin.hit.post_id):
                chosen[chosen.index(twin)] = best
                redundancy = [max((jaccard(s, c) for c in chosen), default=0.0) for s in remaining]
            continue
        if source_key(best) not in sources and len(sources) >= t.max_sources:
            continue
        if sum(len(c.text) for c in chosen) + len(best.text) <= t.max_chars or not chosen:
            chosen.append(best)
            redundancy = [max(r, jaccard(s, best)) for r, s in zip(redundancy, remaining, strict=True)]
    return chosen


def source_key(sentence: Sentence) -> tuple[str, str | None, str]:
    """The post, or the section of a resource, a sentence is quoted from (one citation each)."""
    hit = sentence.hit
    return hit.doc_id, hit.post_id, hit.section if hit.post_id is None else ""


def overlaps(a: Sentence, b: Sentence) -> bool:
    """Two candidates share characters of the same source (a joined pair and one of its halves)."""
    same = (a.hit.doc_id, a.hit.post_id, a.base) == (b.hit.doc_id, b.hit.post_id, b.base)
    return same and a.start < b.end and b.start < a.end


def without_stale(chosen: list[Sentence], corrected: dict[str, str]) -> list[Sentence]:
    """Drop sentences of corrected posts unless their correction is cited too."""
    cited = {s.hit.post_id for s in chosen}
    return [s for s in chosen if s.hit.post_id not in corrected or corrected[s.hit.post_id] in cited]
