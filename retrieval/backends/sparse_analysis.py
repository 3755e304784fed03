"""Text analysis of the ``sparse-bm25`` lexical index, made to agree with the ``fts5`` index's
``porter unicode61`` tokenizer (so both rank the same words): tokens are runs of letters and
digits (Unicode categories L and N; anything else separates), NFC, lower-cased, Latin
diacritics removed, then Porter-stemmed (:mod:`retrieval.backends.porter`). No stopwords at
indexing time: they count in a chunk's length as in FTS5 (queries leave them out,
``retrieval.words.query_words``).

Text without spaces (CJK): each character is a token, as in the FTS5 index of
``retrieval.cjk.spaced`` text, and each pair of adjacent characters of a run is a term too
(``糖饼``), which stands for the two-character phrase (``糖 饼``) a query looks for. Likewise
tokens joined by underscores or hyphens (``download_file``, ``network-tag``) also make compound
terms (``download_file``, ``network_tag``), for the phrase FTS5 makes of a query word with
underscores (FTS5 would also match the phrase across spaces or other punctuation: not here).
Pairs and compounds are not counted in a chunk's length.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from retrieval.backends.porter import stem
from retrieval.cjk import CJK_CHARS, CJK_RUN, has_cjk, nfc

TOKENS = re.compile(rf"[{CJK_CHARS}]+|[^\W_{CJK_CHARS}]+")
COMPOUND = re.compile(rf"[^\W_{CJK_CHARS}]+(?:[_-]+[^\W_{CJK_CHARS}]+)+")
"""Tokens joined by underscores or hyphens (``download_file``, ``network-tag``): a query word
``download_file`` is to FTS5 a phrase of its tokens, which such text matches."""
JOINERS = re.compile(r"[_-]+")


LATIN = ((0x00C0, 0x024F), (0x1E00, 0x1EFF))
"""Latin letters whose diacritics FTS5's ``unicode61`` removes (other scripts keep theirs)."""


@lru_cache(maxsize=4096)
def plain(char: str) -> str:
    """``char`` without its diacritics when it is a Latin letter."""
    if not any(low <= ord(char) <= high for low, high in LATIN):
        return char
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return base or char


@lru_cache(maxsize=500_000)
def term(token: str) -> str:
    """The index term of one lower-cased, non-CJK token (Latin diacritics removed, stemmed)."""
    if not token.isascii():
        token = "".join(plain(c) for c in token)
    return stem(token)


def folded(text: str) -> str:
    """``text`` NFC and lower-cased as FTS5 folds case."""
    low = nfc(text).lower()
    if "\u0307" in low:  # a dotted capital I lower-cases to i + combining dot; FTS5 folds it to i
        low = low.replace("i\u0307", "i")
    return low


def compound(word: str) -> str:
    """The term of underscore-joined tokens: their terms joined by ``_``."""
    return "_".join(term(part) for part in JOINERS.split(word) if part)


CHAIN_MAX = 6
"""Longest run of underscore-joined tokens whose every sub-run becomes a compound term."""


def compounds(low: str) -> list[str]:
    """The compound terms of folded text ``low`` (not counted in its length): every run of
    two or more adjacent tokens of a chain (``input_file_path`` gives
    ``input_file``, ``file_path`` and ``input_file_path``), as FTS5 finds a phrase anywhere
    in the chain; chains of more than :data:`CHAIN_MAX` tokens give their runs of up to that many."""
    if "_" not in low and "-" not in low:
        return []
    found = []
    for chain in COMPOUND.findall(low):
        parts = [term(p) for p in JOINERS.split(chain) if p]
        found += ["_".join(parts[i:j]) for i in range(len(parts))
                  for j in range(i + 2, min(len(parts), i + CHAIN_MAX) + 1)]
    return found


def plain_tokens(text: str) -> tuple[list[str], list[str]] | None:
    """The tokens of ``text`` before :func:`term` (each token one term, the length their
    number) and its compound terms, or None when ``text`` holds CJK characters (use
    :func:`analyse`): the fast path of indexing, where each distinct token is mapped to its
    term once."""
    low = folded(text)
    return None if has_cjk(low) else (TOKENS.findall(low), compounds(low))


def analyse(text: str) -> tuple[list[str], int]:
    """The terms of ``text`` with repeats, in order, and its length in tokens (the BM25
    document length)."""
    terms: list[str] = []
    length = 0
    low = folded(text)
    for token in TOKENS.findall(low):
        if CJK_RUN.fullmatch(token):
            terms.extend(token)
            terms.extend(token[i : i + 2] for i in range(len(token) - 1))
            length += len(token)
        else:
            terms.append(term(token))
            length += 1
    return terms + compounds(low), length


def query_terms(word: str) -> list[str]:
    """The index terms a query word (``retrieval.words.query_words``) stands for: one term,
    or, for a CJK pair written as a two-token phrase (``糖 饼``), the pair term; for tokens
    joined by underscores (``e_mail``), their compound term (FTS5 matches them as a phrase);
    another word that splits into several tokens gives each of them."""
    if " " in word and CJK_RUN.fullmatch(word.replace(" ", "")):
        return [word.replace(" ", "")]
    if "_" in word and COMPOUND.fullmatch(word):
        return [compound(word)]
    terms, _ = analyse(word)
    return [t for t in terms if not CJK_RUN.fullmatch(t) or len(t) == 1]
