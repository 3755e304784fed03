"""Why a member is suggested, in numbers a reader can check against the linked posts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from retrieval.records import parse_iso
from retrieval.words import plural


@dataclass(frozen=True)
class Why:
    """The counts behind one suggestion.

    ``answered``/``accepted``/``asked``/``commented`` count the retrieved documents (threads
    the question found, which the asker may see) the member answered / had accepted / asked /
    only commented on; ``topic`` is
    the tag most of those documents carry and ``topic_count`` how many carry it (answered
    ones when the member answered any, else all); ``related_last`` is the latest of those
    contributions. ``answers_total``/``accepted_total``/``last_active``
    are the member's record over everything the asker may see, up to the clock.
    """

    topic: str
    answered: int
    accepted: int
    asked: int
    related_last: str | None
    answers_total: int
    accepted_total: int
    last_active: str | None
    topic_count: int = 0
    commented: int = 0

    def text(self) -> str:
        """One sentence whose every number is a count of the linked posts or of the member's
        record, e.g. "answered 14 related questions (9 tagged varroa), 5 accepted, last in
        March 2026; 120 answers in all, 40 accepted". A member suggested on their record or
        profile alone, with no part in the threads found, is said to have none ("No related
        thread found; ..."): never a claim the linked posts do not bear out."""
        tagged = f" ({self.topic_count} tagged {self.topic})" if self.topic and self.topic_count else ""
        parts = []
        if self.answered:
            parts.append(f"answered {plural(self.answered, 'related question')}{tagged}")
            if self.accepted:
                parts.append(f"{self.accepted} accepted")
        if self.asked:
            parts.append(f"asked {plural(self.asked, 'related question')}{'' if self.answered else tagged}")
        if self.commented:
            parts.append(f"commented on {plural(self.commented, 'related question')}")
        if self.related_last:
            parts.append(f"last in {month(self.related_last)}")
        sentence = ", ".join(parts) or "no related thread found"
        if self.answers_total:
            sentence += f"; {plural(self.answers_total, 'answer')} in all, {self.accepted_total} accepted"
        return sentence[0].upper() + sentence[1:]


def month(iso: str) -> str:
    """``"March 2026"`` from an ISO date."""
    return parse_iso(iso).strftime("%B %Y")


def topic_of(doc_ids: Iterable[str], tags: Mapping[str, Sequence[str]]) -> tuple[str, int]:
    """The tag most of the distinct ``doc_ids`` carry (ties: alphabetical) and how many carry
    it, or ``("", 0)`` when they have none."""
    counts = Counter(t for d in set(doc_ids) for t in set(tags.get(d, ())))
    if not counts:
        return "", 0
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
