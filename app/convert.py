"""Domain results (dataclasses) to API models."""

from __future__ import annotations

from dataclasses import asdict

from app.schemas import CitationOut, EvidenceOut, ExpertOut, HitOut, WhyOut
from app.schemas_written import GeneratorOut
from retrieval.search import Hit


def doc_ref(kind: str, doc_id: str) -> dict[str, str]:
    """``{"thread_id": id}`` or ``{"resource_id": id}``."""
    return {"thread_id": doc_id} if kind == "thread" else {"resource_id": doc_id}


def hit_out(hit: Hit) -> HitOut:
    """A search hit for the API."""
    fields = {k: v for k, v in vars(hit).items() if k not in ("doc_id", "more")}
    return HitOut.model_validate({**fields, **doc_ref(hit.kind, hit.doc_id), "more": [hit_out(h) for h in hit.more]})


def citation_out(citation) -> CitationOut:  # type: ignore[no-untyped-def]
    """An answer citation for the API."""
    fields = {k: v for k, v in vars(citation).items() if k != "doc_id"}
    return CitationOut.model_validate({**fields, **doc_ref(citation.kind, citation.doc_id)})


def expert_out(expert) -> ExpertOut:  # type: ignore[no-untyped-def]
    """An expert suggestion for the API."""
    evidence = [
        EvidenceOut(
            **doc_ref("resource" if e.role == "author" else "thread", e.doc_id), title=e.title, post_id=e.post_id,
            role=e.role, created_at=e.created_at, url=e.url,
        )
        for e in expert.evidence
    ]
    why = expert.why
    return ExpertOut(
        member_id=expert.member_id, name=expert.name, score=round(expert.score, 4), evidence=evidence,
        why=why.text() if why else "", why_numbers=WhyOut.model_validate(vars(why)) if why else None,
    )


def generator_out(answer) -> GeneratorOut | None:  # type: ignore[no-untyped-def]
    """What the writer model did for ``answer``; None when no writer model is configured."""
    report = getattr(answer, "generator", None)  # only a WrittenAnswer carries one
    return GeneratorOut.model_validate(asdict(report)) if report is not None else None
