"""Which query words a lexical index searches for: the one rule the FTS5 and sparse BM25
indexes share, so both rank a query the same way.

Words in more than ``common_share`` of the chunks, and in more than ``common_min_chunks`` of
them, are left out (the rarest stays when every word is common): they barely move BM25, yet
their posting lists are most of a query's cost on a big index. Then at most ``max_terms``
words, the rarest, whose posting lists add up to at most ``max_postings`` rows on an index of
more chunks than that (the rarest word always goes in). Words keep their original order.
Small indexes keep every word.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def choose_words(words: list[str], chunks: int, frequency_of: Callable[[str], int], common_share: float,
                 common_min_chunks: int, max_terms: int, max_postings: float = math.inf) -> list[str]:
    """The words of ``words`` to search for (see the module doc), on an index of ``chunks``
    chunks where ``frequency_of(word)`` is the number of chunks holding ``word``."""
    limit = max(common_share * chunks, common_min_chunks)
    small = chunks <= limit
    if len(words) < 2 or (small and len(words) <= max_terms and chunks <= max_postings):
        return words
    frequency = {w: frequency_of(w) for w in words}
    kept = words if small else ([w for w in words if frequency[w] <= limit] or [min(words, key=frequency.__getitem__)])
    budget = max_postings if chunks > max_postings else math.inf
    if len(kept) <= max_terms and sum(frequency[w] for w in kept) <= budget:
        return kept
    chosen: set[str] = set()
    rows = 0
    for word in sorted((w for w in set(kept) if frequency[w] > 0), key=lambda w: (frequency[w], w)):
        if len(chosen) == max_terms or (chosen and rows + frequency[word] > budget):
            break
        chosen.add(word)
        rows += frequency[word]
    return [w for w in kept if w in chosen]
