"""Extractive, cited answers: the sentences of the top hits that best answer a question.

No language model and no transformer pass per sentence (too slow on a CPU). A sentence is
scored from cheap signals: idf-weighted overlap with the question's (stemmed) terms and the
dense similarity of the chunk it came from. That relevance is weighted by role (accepted and
well-received answers up, questions down) and by correction (a post that a later post of its
thread calls outdated goes down, and is cited only together with, and after, its correction).
Sentences are picked greedily with redundancy removed (MMR); of two near-duplicates the newer
one wins.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from retrieval.embedding import Embedder
from retrieval.experts import Expert
from retrieval.search import Hit
from retrieval.sentences import Sentence, candidates, content_words, load_sources, stem, term_weights
from retrieval.storage import Catalog, LexicalIndex
from retrieval.views import PostInfo

log = logging.getLogger(__name__)
WORDS = re.compile(r"[a-z0-9][a-z0-9'\u2019-]*")

ANSWER_HITS = 8
MAX_SENTENCES = 4
MAX_CHARS = 900
WEIGHTS = {"lexical": 0.55, "dense": 0.45}
REDUNDANT = 0.5
"""Term-set Jaccard above which two sentences say the same thing."""
QUESTION_WEIGHT, ASKING_WEIGHT, ACCEPTED_WEIGHT, SCORE_WEIGHT, CORRECTED_WEIGHT = 0.4, 0.7, 1.15, 0.05, 0.4
ANAPHORA_WEIGHT, NO_OVERLAP_WEIGHT = 0.85, 0.7
"""Down-weights: a sentence opening with a pronoun leans on context the reader does not have;
one sharing no term with the question rides only on its chunk's similarity."""
SELF_WEIGHT, FILLER_WEIGHT, RESTATE_WEIGHT = 0.7, 0.5, 0.7
"""Down-weights: a sentence about the writer, conversational filler, a sentence adding under
:data:`RESTATE_NEW_TERMS` content words to the question's own."""
RESTATE_NEW_TERMS = 3
ACTION_WEIGHT, NUMBER_WEIGHT, LEAD_WEIGHT = 1.25, 1.2, 0.15
"""Up-weights: a step, instruction or piece of advice when the question asks how / what to do;
a figure when it asks how much, how far, ...; up to LEAD_WEIGHT for opening an answer post."""
MMR_PENALTY = 0.3
KEEP_FRACTION = 0.6
"""A sentence scoring under this fraction of the best one is not worth adding."""
AGREEMENT_MARGIN, AGREEMENT_FLOOR = 0.1, 0.5
SIMILARITY_RAMP, RELEVANCE_RAMP = (0.25, 0.65), (0.25, 0.6)
CONFIDENCE_WEIGHTS = {"similarity": 0.45, "relevance": 0.25, "agreement": 0.1, "coverage": 0.2}
ABSTAIN_BELOW = 0.45
NOT_ANSWERED = "The community has not answered this yet."

CORRECTION = re.compile(
    r"\b(?:outdated|out of date|no longer (?:correct|true|valid|accurate|applies|the case)|"
    r"(?:is|was) wrong|incorrect|superseded|ignore (?:it|that|my))\b", re.IGNORECASE,
)
SELF_REFERENCE = re.compile(
    r"(?:speaking as|as (?:a|an|the|someone|somebody) \w+|for (?:years|a while|ages)\b|last (?:year|season|week|"
    r"month|winter|summer|spring|autumn|january|february|march|april|may|june|july|august|september|october|"
    r"november|december)\b|when I\b|I (?:was|have|had|did|got|used|tried|learned|lost|found|thought|once|always|"
    r"never|just)\b|I've\b|I'm\b|my (?:own )?\w+ (?:was|were|had|did|went|got)\b)", re.IGNORECASE,
)
"""Openings of sentences about the writer rather than the question (stories, credentials)."""
FILLER = re.compile(
    r"(?:sorry|thanks|thank you|good (?:question|call|instinct|news|luck|that)|great|glad|happy to|welcome|"
    r"congrat|well done|nice|deep breath|stay calm|don't panic|hope|honestly|agree|\+1|seconding|"
    r"same here|me too)\b", re.IGNORECASE,
)
"""Openings of conversational filler: thanks, sympathy, reassurance, agreement."""
IMPERATIVE_NEXT = frozenset(
    "a an the it them your this that these those one two three four five some any every all each "
    "up off out in on down back away over for to with at".split()
)
FUNCTION_WORDS = frozenset(
    "a an the this that these those it its i you he she we they my your our their there here if when while "
    "as for so but and or nor in on at with from by of to one some most many all any no not what which who "
    "how why yes is are was were be been do does did has have had can could should would will may might "
    "also then just very much more less only even still once after before because since though although "
    "about into than each every both either neither other another such same".split()
)
ADVICE = re.compile(r"\b(?:you (?:should|must|need to|can|have to|want to)|don't|do not|never|always|make sure)\b",
                    re.IGNORECASE)
PROCEDURAL = re.compile(
    r"\b(?:how (?:do|can|should|to|would)|what (?:should|do|can|must|to)|should I|do I|can I|is it (?:ok|okay|safe|"
    r"fine|worth|too)|need to|must I|where (?:do|can|should)|when (?:do|should|is))\b", re.IGNORECASE,
)
QUANTITATIVE = re.compile(
    r"\b(?:how (?:much|many|far|long|heavy|tall|high|big|wide|often|close|warm|hot|cold|thick|strong)|what "
    r"(?:size|ratio|strength|temperature|percentage|dose|distance|weight|height|count)|at what)\b|\d",
    re.IGNORECASE,
)
DIGIT = re.compile(r"\d")
ANAPHORA = re.compile(r"(?:it|it's|that|that's|this|these|those|they|they're|he|she|so|also|but|and|then)\b", re.I)
OWN_POST = re.compile(r"\bmy (?:\w+ )?(?:reply|answer|post|advice)\b", re.IGNORECASE)


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
        if post.position > 0 and CORRECTION.search(post.text):
            answers = [e for e in earlier if e.position > 0]
            if OWN_POST.search(post.text):
                answers = [e for e in answers if e.author == post.author]
            elif any(e.id == post.reply_to for e in answers):
                answers = [e for e in answers if e.id == post.reply_to]
            for target in answers:
                corrected.setdefault(target.id, post.id)
        earlier.append(post)
    return corrected


def prior(hit: Hit, corrected: dict[str, str]) -> float:
    """Weight of a sentence's source: role, reception, and whether a later post corrected it."""
    if hit.role == "question":
        weight = QUESTION_WEIGHT
    else:  # a reply that itself asks something is a weaker answer
        weight = ACCEPTED_WEIGHT if hit.accepted else ASKING_WEIGHT if hit.text.rstrip().endswith("?") else 1.0
    weight *= 1.0 + SCORE_WEIGHT * math.log1p(max(hit.post_score, 0))
    return weight * (CORRECTED_WEIGHT if hit.post_id in corrected else 1.0)


def opening(text: str) -> str:
    """``text`` without leading emphasis, quotes and brackets."""
    return text.lstrip("*_\"'(\u201c ")


def is_instruction(sentence: Sentence) -> bool:
    """A step of a list, an imperative ("Reduce the entrance ...", "Don't ...") or advice
    addressed to the reader ("you should ...")."""
    if sentence.listed or ADVICE.search(sentence.text):
        return True
    words = WORDS.findall(opening(sentence.text).lower())
    if len(words) < 2 or words[0] in FUNCTION_WORDS or words[0].endswith(("ing", "ed", "ly", "'s", "s")):
        return False
    return words[1] in IMPERATIVE_NEXT or words[1][0].isdigit()


def style_weight(sentence: Sentence, question_terms: frozenset[str], procedural: bool, quantitative: bool) -> float:
    """Cheap signals of whether a sentence answers rather than accompanies an answer."""
    text = opening(sentence.text)
    weight = 1.0
    if SELF_REFERENCE.match(text):
        weight *= SELF_WEIGHT
    if FILLER.match(text):
        weight *= FILLER_WEIGHT
    if len(sentence.terms - question_terms) < RESTATE_NEW_TERMS:
        weight *= RESTATE_WEIGHT
    if procedural and is_instruction(sentence):
        weight *= ACTION_WEIGHT
    if quantitative and DIGIT.search(sentence.text):
        weight *= NUMBER_WEIGHT
    if sentence.hit.post_id is not None and sentence.hit.role != "question":
        weight *= 1.0 + LEAD_WEIGHT * (1.0 - sentence.position)
    return weight


def score_sentences(
    pool: list[Sentence], weights: dict[str, float], corrected: dict[str, str], question: str = "",
) -> None:
    """Set each sentence's ``relevance`` (to the question) and ``score`` (relevance x prior x style)."""
    total = sum(weights.values()) or 1.0
    question_terms = frozenset(weights)
    procedural, quantitative = bool(PROCEDURAL.search(question)), bool(QUANTITATIVE.search(question))
    for sentence in pool:
        lexical = sum(w for term, w in weights.items() if term in sentence.terms) / total
        dense = max(sentence.hit.similarity, 0.0)
        sentence.relevance = WEIGHTS["lexical"] * lexical + WEIGHTS["dense"] * dense
        if not lexical:
            sentence.relevance *= NO_OVERLAP_WEIGHT
        sentence.score = sentence.relevance * prior(sentence.hit, corrected)
        sentence.score *= style_weight(sentence, question_terms, procedural, quantitative)
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
            if newer(best, twin) and (best.hit.doc_id, best.hit.post_id) != (twin.hit.doc_id, twin.hit.post_id):
                chosen[chosen.index(twin)] = best
            continue
        if sum(len(c.text) for c in chosen) + len(best.text) <= MAX_CHARS or not chosen:
            chosen.append(best)
    return chosen


def without_stale(chosen: list[Sentence], corrected: dict[str, str]) -> list[Sentence]:
    """Drop sentences of corrected posts unless their correction is cited too."""
    cited = {s.hit.post_id for s in chosen}
    return [s for s in chosen if s.hit.post_id not in corrected or corrected[s.hit.post_id] in cited]


def group_sources(chosen: list[Sentence], corrected: dict[str, str]) -> list[list[Sentence]]:
    """Chosen sentences grouped per post/section, best group first, corrected posts last."""
    groups: dict[tuple[str, str | None, str, int], list[Sentence]] = {}
    for sentence in chosen:  # base differs only when quoting chunks without their source
        hit = sentence.hit
        key = (hit.doc_id, hit.post_id, hit.section if hit.post_id is None else "", sentence.base)
        groups.setdefault(key, []).append(sentence)
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
    question: str, hits: list[Hit], embedder: Embedder, catalog: Catalog | None = None,
    lexical: LexicalIndex | None = None, groups: tuple[str, ...] = (), abstain_below: float = ABSTAIN_BELOW,
) -> Answer:
    """An extractive answer to ``question`` from ``hits``, each sentence cited, or an abstention.

    Args:
        question: the member's question.
        hits: chunk-level hits, best first (e.g. the top :data:`ANSWER_HITS`), already
            restricted to what the asker may see.
        embedder: the index's embedder. The extractive scorer runs no model at all (the
            question was embedded once, by the search); kept so scorers that need it fit.
        catalog: the hits' snapshot catalog, for full source texts and thread corrections
            (optional: without it, quotes come from the chunks).
        lexical: the hits' snapshot lexical index, for index-wide idf (optional: without it,
            idf comes from the candidate sentences).
        groups: the asker's groups (the hits' documents are visible to them).
        abstain_below: confidence under which the answer abstains.

    Returns:
        An :class:`Answer` whose citations quote their sources exactly; ``experts`` is empty.
    """
    sources, posts = load_sources(hits, catalog, groups)
    corrected = corrected_posts(posts)
    pool = candidates(hits, sources)
    weights = term_weights(question, lexical, (s.terms for s in pool))
    score_sentences(pool, weights, corrected, question)
    confidence = confidence_of(hits, pool, weights)
    closest = closest_documents(hits)
    if confidence < abstain_below:
        return abstention(question, closest, confidence)
    text, citations = render(group_sources(without_stale(select(pool), corrected), corrected))
    return Answer(question, text, citations, confidence, False, closest)
