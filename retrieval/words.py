"""The question's words: stopwords and the distinct content words a keyword search looks for."""

from __future__ import annotations

import re

from retrieval.cjk import CJK_CHARS, CJK_RUN, bigrams, nfc

STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its "
    "me my no not of on or should so than that the their them then there these they this to "
    "was we what when where which who why will with would you your".split()
)


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` (thousands separated) and the noun agreeing with it: ``"1 question"``,
    ``"1,014 questions"``; ``nouns`` is the plural when it is not ``noun + "s"``."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"


WORDS = re.compile(rf"[{CJK_CHARS}]+|[^\W{CJK_CHARS}]+")


def query_words(text: str) -> list[str]:
    """The distinct words of ``text`` (NFC, lower-cased) that are not stopwords (two characters
    or more), in order. A run of CJK characters gives its character pairs, each written as the
    two-token phrase a lexical index of :func:`retrieval.cjk.spaced` text holds (``糖 饼``)."""
    words: list[str] = []
    for word in WORDS.findall(nfc(text).lower()):
        if CJK_RUN.fullmatch(word):
            words.extend(" ".join(pair) for pair in bigrams(word))
        elif word not in STOPWORDS and len(word) > 1:
            words.append(word)
    return list(dict.fromkeys(words))
