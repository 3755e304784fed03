"""The question's words: stopwords and the distinct content words a keyword search looks for."""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its "
    "me my no not of on or should so than that the their them then there these they this to "
    "was we what when where which who why will with would you your".split()
)


def query_words(text: str) -> list[str]:
    """The distinct words of ``text`` that are not stopwords (two characters or more), in order."""
    return list(dict.fromkeys(w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS and len(w) > 1))
