"""Candidate sentences for extractive answers, and the cheap signals that score them: exact
sentence spans in the source text, light stems and idf.

Everything here runs in a few milliseconds per question on a CPU: no transformer forward pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from retrieval.cjk import CJK_CHAR, CJK_CHARS, CJK_RUN, bigrams, nfc
from retrieval.search import Hit
from retrieval.storage import Catalog, LexicalIndex
from retrieval.views import Groups, PostInfo
from retrieval.words import STOPWORDS

MIN_WORDS = 5
STEM_LENGTH = 6
LINE = re.compile(r"[^\n]+")
WORD = re.compile(rf"[a-z0-9][a-z0-9'-]*[a-z0-9]|[a-z0-9]|[{CJK_CHARS}]+")
BOUNDARY = re.compile(
    r"[.!?]+[\"')\]*]*(\s+)(?=[\"'(\[*]*[A-Z0-9])"  # Latin: end mark, space, a capital or digit next
    r"|[\u3002\uff01\uff1f\uff1b]+[\u300d\u300f\uff09\"')]*(\s*)"  # CJK: 。！？； end a sentence, spaces or not
)
LIST_MARK = re.compile(r"\s*(?:[-*+>]|\d+[.)])\s+")
SourceKey = tuple[str, str | None]
MORE_STOPWORDS = frozenset(
    "about any also best did get gets got just much need use using very what's how's it's i'm".split()
)


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
    listed: bool = False
    """The sentence belongs to a list item (a step or a point of a procedure)."""
    position: float = 0.0
    """Where the sentence starts in its source, 0 (first character) to 1 (end)."""
    relevance: float = 0.0
    score: float = 0.0
    joined: bool = False
    """The sentence leaned on the one before it and is quoted together with it."""
    meaning: float | None = None
    """Cosine of the sentence's embedding to the question's, when the answerer computed it."""


IRREGULAR = {
    "stung": "sting", "stings": "sting", "fed": "feed", "kept": "keep", "built": "build", "bought": "buy",
    "caught": "catch", "swarmed": "swarm", "dying": "die", "died": "die", "flew": "fly",
    "flies": "fly", "flown": "fly", "laid": "lay", "wintering": "winter", "overwintering": "overwinter",
}
"""Irregular forms the suffix rules cannot reach (common English verbs of practice)."""


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light stem: common suffixes stripped, then cut to :data:`STEM_LENGTH` characters."""
    word = IRREGULAR.get(word, word)
    for suffix in ("'s", "ies", "ing", "ed", "ment", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith(("ss", "us", "is")):
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return (word[:-1] if word.endswith("e") and len(word) > 3 else word)[:STEM_LENGTH]


def content_words(text: str) -> list[str]:
    """Lower-cased words of ``text`` without stopwords; a run of CJK characters (no spaces
    between words) gives its character pairs."""
    words = WORD.findall(nfc(text).lower().replace("\u2019", "'"))
    out = [w for w in words if w not in STOPWORDS and w not in MORE_STOPWORDS]
    return [pair for w in out for pair in (bigrams(w) if CJK_RUN.fullmatch(w) else [w])]


def split_sentences(text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans in ``text[lo:hi]``, skipping headings, table rows and list markers."""
    return [(a, b) for a, b, _ in split_marked(text, lo, hi)]


def split_marked(text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int, bool]]:
    """:func:`split_sentences` with, for each span, whether it lies in a list item."""
    spans = []
    for line in LINE.finditer(text, lo, len(text) if hi is None else hi):
        start, end = line.span()
        if text[start] in "#|" or text.startswith("```", start):
            continue
        marker = LIST_MARK.match(text, start, end)
        cursor = marker.end() if marker else start
        for boundary in BOUNDARY.finditer(text, cursor, end):
            gap = 1 if boundary.group(1) is not None else 2
            spans.append((cursor, boundary.start(gap), marker is not None))
            cursor = boundary.end(gap)
        spans.append((cursor, end, marker is not None))
    trimmed = ((a, a + len(text[a:b].rstrip()), listed) for a, b, listed in spans)
    return [(a, b, listed) for a, b, listed in trimmed if b > a]


def is_quotable(text: str, opens_line: bool = False) -> bool:
    """A sentence stands on its own: long enough, starts like a sentence, not a lead-in.

    Scripts without spaces count about two characters a word; scripts without letter case
    (Chinese, Japanese, ...) start a sentence with any letter. A sentence that ``opens_line``
    (starts its line, as a forum reply does) may start in lower case: informal writers often
    do not capitalise, and the line start is boundary enough.
    """
    first, last = text.lstrip("*_\"'(\u201c\u300c")[:1], text.rstrip("*_\"')\u201d\u300d")[-1:]
    words = len(text.split()) + len(CJK_CHAR.findall(text)) // 2
    starts = first.isupper() or first.isdigit() or (first.isalpha() and (opens_line or not first.islower()))
    return words >= MIN_WORDS and starts and last not in (":", "?", "\uff1a", "\uff1f")


def leans_back(
    hit: Hit, source: str, start: int, end: int, leans: re.Pattern[str] | None, points: re.Pattern[str] | None,
) -> bool:
    """``source[start:end]`` opens like ``leans`` (its subject is in the sentence before), and is
    not a reply's first sentence opening like ``points`` (see :func:`candidates`)."""
    opening = source[start:end].lstrip("*_\"'(\u201c ")
    if not leans or not leans.match(opening):
        return False
    return not (points and points.match(opening) and opens_reply(hit, source, start))


def opens_reply(hit: Hit, source: str, start: int) -> bool:
    """The text at ``start`` of ``source`` is the beginning of a reply (a thread post after the first)."""
    return hit.post_id is not None and hit.role != "question" and not source[:start].strip()


def term_weights(question: str, lexical: LexicalIndex | None, pool: Iterable[frozenset[str]]) -> dict[str, float]:
    """Idf of each stemmed content word of the question: index-wide from ``lexical`` when
    given (its own analysis counts the chunks holding the word), else over ``pool`` (the term
    sets of the candidate sentences)."""
    weights: dict[str, float] = {}
    pool = list(pool)
    total = lexical.count() if lexical is not None else len(pool)
    for word in dict.fromkeys(content_words(question)):
        term = stem(word)
        df = lexical.document_frequency(word) if lexical is not None else sum(term in terms for terms in pool)
        weights[term] = max(weights.get(term, 0.0), math.log((total + 1) / (df + 0.5)))
    return weights


def load_sources(
    hits: list[Hit], catalog: Catalog | None, groups: Groups = (),
) -> tuple[dict[SourceKey, str], list[PostInfo]]:
    """Full source texts keyed (doc_id, post_id), and every post of the hits' threads in order
    (only documents ``groups`` may see, as the hits are)."""
    if catalog is None:
        return {}, []
    posts = catalog.posts_of({h.doc_id for h in hits if h.post_id}, groups)
    sources: dict[SourceKey, str] = {(p.doc_id, p.id): p.text for p in posts}
    for doc_id, doc in catalog.documents({h.doc_id for h in hits if h.post_id is None}, groups).items():
        sources[(doc_id, None)] = doc.body or ""
    return sources, posts


def candidates(
    hits: list[Hit], sources: dict[SourceKey, str], leans: re.Pattern[str] | None = None,
    points: re.Pattern[str] | None = None,
) -> list[Sentence]:
    """Quotable sentences of the hits, each once, with offsets into its source text.

    A sentence whose opening matches ``leans`` (its subject is in the sentence before) is
    quoted together with the previous sentence of the same paragraph, or left out when the
    paragraph has none before it; except the first sentence of a reply whose opening matches
    ``points`` (its subject is what the asker described), which stands on its own."""
    seen: set[tuple[str, str | None, int, int]] = set()
    found: list[Sentence] = []
    for hit in hits:
        source, base = sources.get((hit.doc_id, hit.post_id), ""), 0
        if source[hit.start : hit.end] != hit.text:  # source unknown: quote from the chunk itself
            source, base = hit.text, hit.start
        lo = source.rfind("\n", 0, hit.start - base) + 1
        hi = source.find("\n", hit.end - base)
        spans = split_marked(source, lo, None if hi < 0 else hi)
        for i, (a, b, listed) in enumerate(spans):
            joined = leans_back(hit, source, a, b, leans, points)
            if joined:
                before = spans[i - 1] if i else (a, a, False)
                if not i or "\n" in source[before[1] : a] or not is_quotable(source[before[0] : b]) or leans_back(
                        hit, source, before[0], before[1], leans, points):  # a chain would need more context
                    continue
                a = before[0]
            key = (hit.doc_id, hit.post_id, a + base, b + base)
            lead = source[source.rfind("\n", 0, a) + 1 : a]
            opens_line = not lead.strip() or bool(LIST_MARK.fullmatch(lead))
            if key not in seen and is_quotable(source[a:b], opens_line):
                seen.add(key)
                words = frozenset(stem(w) for w in content_words(source[a:b]))
                position = (a + base) / max(len(source) + base, 1)
                found.append(Sentence(hit, source[a:b], a + base, b + base, words, source, base, listed, position,
                                      joined=joined))
    return found
