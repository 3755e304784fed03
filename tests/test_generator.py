"""The optional writer model, through the library on the real sample index and the real
embedder, against a stand-in OpenAI-compatible server (real uvicorn on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.generator import answerer_for
from app.settings import get_settings
from retrieval.answer import ExtractiveAnswerer, LLMAnswerer, get_answerer
from retrieval.answer.chat import OpenAIChat
from retrieval.answer.citation_check import complete_sentences, parse_markers, split_reply
from retrieval.answer.written import WrittenAnswer
from retrieval.embedding import Embedder
from retrieval.errors import ConfigError
from retrieval.index import IndexDir
from retrieval.library import Library
from tests.api_server import free_port
from tests.llm_standin import Script, StandIn, a_sentence, standin_server

pytestmark = pytest.mark.integration

QUESTION = "How do I keep wax moth out of stored comb?"
INVENTED = "Bees prefer jazz played at dawn, which doubles the honey crop of any hive."


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    with standin_server() as server:
        yield server


@pytest.fixture
def fresh(standin: StandIn) -> StandIn:
    standin.script, standin.requests[:] = Script(), []
    return standin


def writer_library(sample_index: IndexDir, embedder: Embedder, url: str, timeout: float = 5.0,
                   passages: int = 3) -> Library:
    answerer = LLMAnswerer(OpenAIChat(url, "stand-in", timeout=timeout), max_passages=passages)
    return Library(sample_index, embedder, answerer=answerer)


def written(answer: object) -> WrittenAnswer:
    assert isinstance(answer, WrittenAnswer)
    return answer


def quoting(*numbers: int, extra: str = "") -> Script:
    """A reply quoting the first sentence of each numbered passage, citing it."""
    return Script(lambda p: " ".join(f"{a_sentence(p[n])} [{n}]" for n in numbers) + extra)


def test_a_good_cited_reply_becomes_the_answer(fresh: StandIn, sample_index: IndexDir, embedder: Embedder) -> None:
    fresh.script = quoting(1, 2)
    library = writer_library(sample_index, embedder, fresh.url)
    answer = written(library.ask(QUESTION))
    sent = fresh.requests[0]
    assert sent["model"] == "stand-in" and not sent["stream"]
    report = answer.generator
    assert report.used and report.kept_sentences == 2 and not report.removed_sentences
    assert not report.invalid_citations and "Written by stand-in" in answer.note
    assert [c.n for c in answer.citations] == [1, 2] and answer.text.count("[1]") == answer.text.count("[2]") == 1
    extractive = library.searcher().search(QUESTION, k=20, collapse=False)
    for citation in answer.citations:
        hit = next(h for h in extractive if h.doc_id == citation.doc_id and h.start <= citation.start)
        assert citation.quote and citation.quote in hit.text
    assert not answer.abstained and answer.experts


def test_invented_citations_are_removed_and_said(fresh: StandIn, sample_index: IndexDir, embedder: Embedder) -> None:
    fresh.script = Script(lambda p: f"{a_sentence(p[1])} [1] {a_sentence(p[2])} [2][9] "
                                    f"{a_sentence(p[3])} [9]")
    answer = written(writer_library(sample_index, embedder, fresh.url).ask(QUESTION))
    report = answer.generator
    assert report.used and report.invalid_citations == [9]
    assert [r.reason for r in report.removed_sentences] == ["cites a passage that was not given"]
    assert "[9]" not in answer.text and report.kept_sentences == 2
    assert "citations of passages that were not given removed ([9])" in answer.note
    assert len(answer.citations) == 2


def test_a_sentence_its_passage_does_not_support_is_removed(
    fresh: StandIn, sample_index: IndexDir, embedder: Embedder
) -> None:
    fresh.script = quoting(1, extra=f" {INVENTED} [2]")
    answer = written(writer_library(sample_index, embedder, fresh.url).ask(QUESTION))
    (gone,) = answer.generator.removed_sentences
    assert gone.text == INVENTED and gone.reason == "not supported by the passages it cites"
    assert INVENTED not in answer.text and "1 unsupported sentence removed" in answer.note
    assert [c.n for c in answer.citations] == [1]


def test_nothing_supported_falls_back_to_the_extractive_answer(
    fresh: StandIn, sample_index: IndexDir, embedder: Embedder
) -> None:
    fresh.script = Script(f"{INVENTED} [1] Smoke calms nothing at all [2].")
    answer = written(writer_library(sample_index, embedder, fresh.url).ask(QUESTION))
    extractive = Library(sample_index, embedder).ask(QUESTION)
    assert not answer.generator.used and len(answer.generator.removed_sentences) == 2
    assert answer.text == extractive.text and answer.citations == extractive.citations
    assert answer.note == "The writer model wrote nothing its cited passages support; this is the extractive answer."


@pytest.mark.parametrize(("script", "why"), [
    (Script(quoting(1).reply, delay=3.0), "did not answer in time"),
    (Script(raw='{"choices": [{"message": '), "answered with something that is not a chat reply"),
    (Script(raw='{"choices": []}'), "answered with something that is not a chat reply"),
    (Script(status=500), "answered with an error"),
    (Script("NOT ANSWERED"), "found no answer in the passages"),
])
def test_a_failing_model_gives_the_extractive_answer_with_a_note(
    fresh: StandIn, sample_index: IndexDir, embedder: Embedder, script: Script, why: str
) -> None:
    fresh.script = script
    answer = written(writer_library(sample_index, embedder, fresh.url, timeout=1.0).ask(QUESTION))
    assert len(fresh.requests) == 1, "one request, no retries"
    assert not answer.generator.used and why in answer.note and answer.citations and not answer.abstained
    assert answer.text == Library(sample_index, embedder).ask(QUESTION).text


def test_an_endpoint_that_is_down_gives_the_extractive_answer(sample_index: IndexDir, embedder: Embedder) -> None:
    answer = written(writer_library(sample_index, embedder, f"http://127.0.0.1:{free_port()}/v1").ask(QUESTION))
    assert not answer.generator.used and "could not be reached" in answer.note and answer.citations


def test_weak_evidence_abstains_without_calling_the_model(
    fresh: StandIn, sample_index: IndexDir, embedder: Embedder
) -> None:
    answer = written(writer_library(sample_index, embedder, fresh.url).ask("What hydration should my sourdough have?"))
    assert answer.abstained and not answer.citations and not fresh.requests and not answer.generator.used


def test_streaming_yields_checked_sentences_then_the_answer(
    fresh: StandIn, sample_index: IndexDir, embedder: Embedder
) -> None:
    fresh.script = Script(lambda p: f"{a_sentence(p[2])} [2] {INVENTED} [1] {a_sentence(p[1])} [1] "
                                    f"{a_sentence(p[3])} [7]", chunk=3)
    draft = writer_library(sample_index, embedder, fresh.url).ask_draft(QUESTION)
    streamed = list(draft.sentences())
    answer = written(draft.answer())
    assert fresh.requests[0]["stream"] is True
    assert streamed[0].endswith("[1]") and streamed[1].endswith("[2]"), "renumbered in order of first citation"
    assert " ".join(streamed) == answer.text and len(streamed) == 2
    assert answer.generator.invalid_citations == [7] and len(answer.generator.removed_sentences) == 2
    assert answer.experts == draft.experts and answer.experts


def test_a_stream_that_breaks_off_gives_the_extractive_answer(
    fresh: StandIn, sample_index: IndexDir, embedder: Embedder
) -> None:
    fresh.script = Script(raw='data: {"choices": [{"delta": {"content": "Store comb cold. "}}]}\n\ndata: {oops\n\n')
    draft = writer_library(sample_index, embedder, fresh.url).ask_draft(QUESTION)
    list(draft.sentences())
    answer = written(draft.answer())
    assert not answer.generator.used and "not a chat reply" in answer.note


@pytest.mark.unit
def test_reply_sentences_keep_their_markers() -> None:
    reply = "Freeze frames for two days [1]. Then store them in the light. [2] [3, 4] Check monthly [9]."
    assert split_reply(reply) == ["Freeze frames for two days [1].", "Then store them in the light. [2] [3, 4]",
                                  "Check monthly [9]."]
    assert parse_markers("Then store them. [2] [3, 4]", 3) == ("Then store them.", [2, 3], [4])
    assert complete_sentences("Freeze frames [1]. Then [")[0] == ["Freeze frames [1]."]
    assert complete_sentences("Freeze frames. [1") == ([], "Freeze frames. [1")
    done, rest = complete_sentences("Freeze frames. [1] Th")
    assert done == ["Freeze frames. [1]"] and rest == "Th"


@pytest.mark.unit
def test_the_registry_builds_the_writer() -> None:
    answerer = get_answerer("llm", url="http://127.0.0.1:9/v1", model="m", timeout=2.0)
    assert isinstance(answerer, LLMAnswerer) and isinstance(answerer.fallback, ExtractiveAnswerer)
    assert answerer.generator.model == "m"


@pytest.mark.unit
def test_the_writer_is_off_by_default_and_a_url_needs_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    assert answerer_for(get_settings().generator) is None
    monkeypatch.setenv("TOWNSQUARE_GENERATOR__URL", "http://127.0.0.1:9/v1")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="TOWNSQUARE_GENERATOR__MODEL must name the model"):
        get_settings()
    monkeypatch.setenv("TOWNSQUARE_GENERATOR__MODEL", "llama3.2:3b")
    monkeypatch.setenv("TOWNSQUARE_GENERATOR__API_KEY", "sk-secret")
    get_settings.cache_clear()
    answerer = answerer_for(get_settings().generator)
    assert isinstance(answerer, LLMAnswerer) and answerer.generator.model == "llama3.2:3b"
    assert "sk-secret" not in repr(get_settings())
