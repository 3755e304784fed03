"""Turning chosen sentences into answer text with markers [n] and numbered citations, and
wording an abstention for a reader (the API, the CLI, MCP)."""

from __future__ import annotations

from retrieval.answer import english as lang
from retrieval.answer.base import Answer, Citation
from retrieval.search import Hit
from retrieval.sentences import LIST_MARK, Sentence


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


def shown(text: str) -> str:
    """A quoted span as it reads in the answer: emphasis marks and list markers out, one line."""
    lines = [LIST_MARK.sub("", line, count=1) if LIST_MARK.match(line) else line for line in text.splitlines()]
    return " ".join(" ".join(lines).split()).replace("**", "").replace("__", "")


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
        parts += [f"{shown(s.text)} [{n}]" for s in group]
    return " ".join(parts), citations


def closest_documents(hits: list[Hit], k: int = 3) -> list[Hit]:
    """The first hit of each of the first ``k`` distinct documents."""
    seen: dict[str, Hit] = {}
    for hit in hits:
        if hit.doc_id not in seen and len(seen) < k:
            seen[hit.doc_id] = hit
    return list(seen.values())


def abstention(question: str, closest: list[Hit], confidence: float) -> Answer:
    """The honest "not answered yet" answer; ``closest`` names the nearest documents."""
    return Answer(question, lang.NOT_ANSWERED, [], confidence, True, closest)


def worded(answer: Answer) -> str:
    """The answer as a reader sees it: the text, or for an abstention the "not answered"
    sentence, the closest discussions and who could be asked (from the structured fields)."""
    if not answer.abstained:
        return answer.text + (f" ({answer.note})" if answer.note else "")
    parts = [lang.NOT_ANSWERED]
    if answer.closest:
        titles = "; ".join(f"\u201c{h.title}\u201d" for h in answer.closest)
        parts.append(lang.CLOSEST.format(titles=titles))
    if answer.experts:
        parts.append(lang.YOU_COULD_ASK.format(names=lang.OR.join(e.name for e in answer.experts[:2])))
    return " ".join(parts)
