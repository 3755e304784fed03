"""Extractive cited answers: exact quotes, abstention, corrections, visibility, determinism."""

from __future__ import annotations

import re
from dataclasses import asdict

import numpy as np
import pytest

from retrieval.answer import (
    ANSWERERS,
    Answer,
    ExtractiveAnswerer,
    compose_answer,
    corrected_posts,
    get_answerer,
    worded,
)
from retrieval.errors import ConfigError
from retrieval.library import Library
from retrieval.search import Hit
from retrieval.sentences import split_sentences, stem
from retrieval.storage import Catalog
from retrieval.views import PostInfo
from tests.helpers import private_ids

ON_TOPIC = [
    "When should I treat my bees with oxalic acid against varroa?",
    "What sugar syrup ratio should I use for autumn feeding?",
    "How far must hives be from a public footpath?",
]
OFF_TOPIC = ["how do I change a bicycle tyre", "best sourdough hydration", "What is the capital of Australia?"]
MARKER = re.compile(r"\[(\d+)\]")


class NoVectorsEmbedder:
    """A stand-in embedder for pure-logic tests: compose_answer never runs it."""

    model_id, model_name, dimension, max_tokens = "none", "none", 4, 256

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        raise AssertionError("compose_answer must not embed at query time")

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def make_hit(doc_id: str, post_id: str, text: str, similarity: float, created_at: str, role: str = "answer",
             accepted: bool = False, start: int = 0) -> Hit:
    return Hit(
        chunk_id=int(post_id.rsplit("p", 1)[-1]), doc_id=doc_id, kind="thread", post_id=post_id,
        title=f"Thread {doc_id}", channel="general", url="", section="", text=text, start=start,
        end=start + len(text), author="m01", author_name="Ada", created_at=created_at, score=similarity / 60,
        similarity=similarity, role=role, accepted=accepted,
    )


def source_of(catalog: Catalog, doc_id: str, post_id: str | None, groups: tuple[str, ...] = ()) -> str:
    if post_id is not None:
        return next(p.text for p in catalog.posts_of([doc_id], groups) if p.id == post_id)
    return catalog.documents([doc_id], groups)[doc_id].body or ""


def assert_well_formed(answer: Answer) -> None:
    """Markers are numbered 1..N in order of first use, one citation each."""
    first_use = list(dict.fromkeys(int(n) for n in MARKER.findall(answer.text)))
    assert first_use == list(range(1, len(answer.citations) + 1))
    assert [c.n for c in answer.citations] == first_use


@pytest.mark.unit
def test_sentence_spans_are_exact_and_skip_structure() -> None:
    text = "# Heading\nFirst sentence is here. Second one (2.5 kg) follows!\n- A list item that is long.\n| a | b |"
    spans = [text[a:b] for a, b in split_sentences(text)]
    assert spans == ["First sentence is here.", "Second one (2.5 kg) follows!", "A list item that is long."]


@pytest.mark.unit
def test_stems_match_word_forms() -> None:
    assert stem("mites") == stem("mite")
    assert stem("registration") == stem("register")
    assert stem("colonies") == stem("colony")


@pytest.mark.unit
def test_corrections_target_the_right_posts() -> None:
    def post(i: int, author: str, text: str, reply_to: str | None = None) -> PostInfo:
        return PostInfo(f"p{i}", "t", i, author, None, None, text, reply_to, False, 0)

    thread = [post(0, "a", "Q?"), post(1, "b", "Do X."), post(2, "c", "Do Y.")]
    assert corrected_posts([*thread, post(3, "b", "My reply above is outdated.")]) == {"p1": "p3"}
    assert corrected_posts([*thread, post(3, "d", "The answers above are outdated.")]) == {"p1": "p3", "p2": "p3"}
    assert corrected_posts([*thread, post(3, "d", "Thanks, this is no longer correct.", "p2")]) == {"p2": "p3"}
    assert corrected_posts([*thread, post(3, "a", "Update: did X, it worked.")]) == {}


@pytest.mark.unit
def test_newer_near_duplicate_wins_and_questions_are_not_quoted() -> None:
    hits = [
        make_hit("t1", "t1-p1", "How thick should autumn syrup be for the colonies?", 0.8, "2023-09-01T00:00:00Z",
                 role="question"),
        make_hit("t1", "t1-p2", "Feed thin syrup to your colonies in October each year.", 0.75, "2023-09-02T00:00:00Z",
                 accepted=True, start=12),
        make_hit("t2", "t2-p2", "Feed thick syrup to your colonies in September each year.", 0.7,
                 "2025-08-01T00:00:00Z"),
    ]
    answer = compose_answer("What syrup should I feed my colonies in autumn?", hits, NoVectorsEmbedder())
    assert not answer.abstained
    assert [c.post_id for c in answer.citations] == ["t2-p2"]
    assert "September" in answer.text and "October" not in answer.text
    assert_well_formed(answer)
    for citation in answer.citations:
        hit = next(h for h in hits if h.post_id == citation.post_id)
        assert hit.text[citation.start - hit.start : citation.end - hit.start] == citation.quote


@pytest.mark.unit
def test_weak_evidence_abstains_and_names_the_closest() -> None:
    hits = [make_hit("t1", "t1-p2", "Painting hive boxes with exterior paint is fine.", 0.21, "2024-01-01T00:00:00Z")]
    answer = compose_answer("how do I change a bicycle tyre", hits, NoVectorsEmbedder())
    assert answer.abstained and not answer.citations
    assert answer.text == "The community has not answered this yet."
    assert "not answered" in worded(answer) and "Thread t1" in worded(answer)


@pytest.mark.integration
@pytest.mark.parametrize("question", ON_TOPIC)
def test_on_topic_answer_cites_exact_source_text(library: Library, question: str) -> None:
    answer = library.ask(question)
    assert not answer.abstained and answer.citations
    assert 0.0 <= answer.confidence <= 1.0
    assert_well_formed(answer)
    catalog = library.snapshot().catalog
    for citation in answer.citations:
        source = source_of(catalog, citation.doc_id, citation.post_id)
        assert source[citation.start : citation.end] == citation.quote
        for start, end in citation.spans:
            assert citation.start <= start < end <= citation.end
            assert source[start:end].replace("**", "") in answer.text


@pytest.mark.integration
@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_question_abstains(library: Library, question: str) -> None:
    answer = library.ask(question)
    assert answer.abstained and not answer.citations
    assert answer.text.startswith("The community has not answered this yet.")
    assert answer.closest


@pytest.mark.integration
def test_newer_correction_beats_outdated_advice(library: Library) -> None:
    feeding = library.ask("What sugar syrup ratio should I use for autumn feeding?")
    cited = [c.post_id for c in feeding.citations]
    assert "sm-004-p2" not in cited  # the 2023 "1:1 in October" answer, corrected in 2025
    assert "2:1" in feeding.text
    registration = library.ask("Do I need to register my hives with the city?")
    cited = [c.post_id for c in registration.citations]
    assert cited and cited[0] not in ("cn-001-p2", "cn-001-p3")
    for old in ("cn-001-p2", "cn-001-p3"):
        if old in cited:
            assert cited.index(old) > cited.index("cn-001-p4")
    moisture = library.ask("Is honey at 20% moisture OK to bottle?")
    assert "hv-001-p2" not in [c.post_id for c in moisture.citations]


@pytest.mark.integration
def test_private_channel_stays_private(library: Library) -> None:
    private = private_ids(library.snapshot().catalog)
    question = "What are the terms of the Quarry Lane lease?"
    outside = library.ask(question)
    assert "quarry lane" not in outside.text.lower()
    assert not {c.doc_id for c in outside.citations} & private
    assert not {h.doc_id for h in outside.closest} & private
    assert not {e.doc_id for x in outside.experts for e in x.evidence} & private
    inside = library.ask(question, groups=("mentors",))
    assert not inside.abstained
    assert "quarry lane" in inside.text.lower()
    assert {c.doc_id for c in inside.citations} & private


@pytest.mark.integration
def test_answers_are_deterministic(library: Library) -> None:
    question = "How do I keep wax moth out of stored comb?"
    assert asdict(library.ask(question)) == asdict(library.ask(question))


@pytest.mark.unit
def test_answerer_registry_names_the_known_ones() -> None:
    assert isinstance(get_answerer("extractive"), ExtractiveAnswerer)
    with pytest.raises(ConfigError, match="extractive"):
        get_answerer("nonesuch")
    assert "extractive" in ANSWERERS


@pytest.mark.unit
def test_a_sentence_leaning_on_its_neighbour_is_joined_or_left_out() -> None:
    text = ("Formic acid strips work with brood present in the hive. Why: the acid reaches mites inside capped "
            "cells, unlike oxalic acid.\nWhy: it also evaporates fast when the weather turns hot outside.")
    hits = [make_hit("t1", "t1-p2", text, 0.8, "2024-01-01T00:00:00Z")]
    answer = compose_answer("Why use formic acid strips against mites in capped cells?", hits, NoVectorsEmbedder(),
                            abstain_below=0.0)
    assert "Why: it also" not in answer.text  # its neighbour is on another line: left out
    for match in re.finditer(r"Why: the acid", answer.text):
        assert answer.text[: match.start()].rstrip().endswith("brood present in the hive.")


def test_regression_swarming_answer_does_not_open_with_neighbour_advice(library: Library) -> None:
    answer = library.ask("How do I stop my bees from swarming in spring?")
    assert not answer.abstained
    assert not answer.text.startswith("Tell your neighbour")
    assert not re.search(r"winter[^.]*roof|roof[^.]*winter", answer.text, re.IGNORECASE)


def test_regression_varroa_answer_has_no_fragment_leaning_on_another_sentence(library: Library) -> None:
    answer = library.ask("What is the best way to treat varroa in winter?")
    assert not answer.abstained
    sentences = re.split(r"(?<=\]) ", answer.text)
    assert not any(re.match(r"(Why|Because|So|That|This|It)\b:?", s) for s in sentences), answer.text


def test_abstention_is_worded_from_structured_fields(library: Library) -> None:
    answer = library.ask("What is the capital of Australia?")
    assert answer.abstained and answer.text == "The community has not answered this yet."
    assert all(h.title in worded(answer) for h in answer.closest)
