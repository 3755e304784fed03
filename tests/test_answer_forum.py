"""Extractive answers on forum threads: lower-case replies, the asker's own replies, replies
of a question that matches the asked one (anchors), and the cap on cited posts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from retrieval.answer import ExtractiveAnswerer, compose_answer
from retrieval.answer.base import Evidence
from retrieval.answer.extractive import Anchoring, anchors, completed
from retrieval.answer.selection import Threads, Tuning, prior
from retrieval.search import Hit
from retrieval.sentences import candidates, is_quotable

pytestmark = pytest.mark.unit
WHEN = "2024-05-01T00:00:00Z"


class NoVectorsEmbedder:
    """Stand-in at the Embedder Protocol: these answers never embed at query time."""

    model_id, model_name, dimension, max_tokens = "none", "none", 4, 256

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        raise AssertionError("the extractive answerer must not embed here")

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def hit(doc_id: str, post: int, text: str, similarity: float, author: str = "m02", role: str = "answer") -> Hit:
    return Hit(
        chunk_id=hash((doc_id, post)) % 10_000, doc_id=doc_id, kind="thread", post_id=f"{doc_id}-p{post}",
        title=f"Thread {doc_id}", channel="general", url="", section="", text=text, start=0, end=len(text),
        author=author, author_name=author, created_at=WHEN, score=similarity / 60, similarity=similarity,
        role=role,
    )


def test_a_lower_case_reply_is_quotable_at_the_start_of_its_line_only() -> None:
    assert is_quotable("around 2100 riyals a month for a small car", opens_line=True)
    assert not is_quotable("around 2100 riyals a month for a small car")
    text = "try the rental desks at the airport first. they often beat the town prices"
    found = [s.text for s in candidates([hit("t1", 2, text, 0.7)], {})]
    assert found == [text]  # no capital after the full stop: one sentence, quoted whole


def test_the_askers_own_reply_weighs_less_than_another_members() -> None:
    threads = Threads(askers={"t1": "m01"})
    own = hit("t1", 3, "Thanks all, I went to the market in the end and it was fine.", 0.7, author="m01")
    other = replace(own, post_id="t1-p4", author="m02")
    assert prior(own, {}, Tuning(), threads) < prior(other, {}, Tuning(), threads)


def test_a_reply_that_asks_back_weighs_less_and_a_longer_reply_more() -> None:
    plain = hit("t1", 2, "Rent from the agency near the souq, it charges less.", 0.7)
    asking = replace(plain, text="Rent from the agency near the souq? It charges less, I think.")
    longer = replace(plain, text=plain.text + " They also include insurance and a second driver for free.")
    assert prior(asking, {}, Tuning()) < prior(plain, {}, Tuning()) < prior(longer, {}, Tuning())


def test_anchors_are_threads_whose_question_matches_about_as_well_as_the_best() -> None:
    hits = [hit("t1", 1, "Where can I rent a car cheaply?", 0.93, role="question"),
            hit("t2", 1, "Cheap car rental for a month?", 0.9, role="question"),
            hit("t3", 1, "Where to buy a used bicycle?", 0.7, role="question"),
            hit("t4", 2, "Car rentals are cheaper in winter here.", 0.8)]
    found = anchors(hits, Anchoring(floor=0.6, full=0.9, margin=0.05))
    assert set(found) == {"t1", "t2"} and found["t1"] == found["t2"] == 1.0
    assert anchors(hits, Anchoring(floor=0.95, margin=0.05)) == {}
    assert anchors(hits[3:], Anchoring()) == {}
    assert 0.0 < anchors(hits, Anchoring(floor=0.8, full=1.0))["t1"] < 1.0


def test_completion_adds_only_further_replies_of_anchor_threads() -> None:
    question = hit("t1", 1, "Where can I rent a car cheaply?", 0.93, role="question")
    further = [hit("t1", 5, "the agency near the souq is cheapest for a month", 0.4),
               hit("t9", 2, "Bicycles are sold at the Friday market near the port.", 0.45),
               hit("t1", 1, "Where can I rent a car cheaply?", 0.93, role="question")]
    evidence = Evidence("cheap car rental?", [question], NoVectorsEmbedder(), further=further)
    assert [h.post_id for h in completed(evidence, {"t1": 1.0}, Anchoring())] == ["t1-p1", "t1-p5"]
    assert completed(evidence, {}, Anchoring()) == [question]


def test_an_answer_quotes_the_anchor_threads_reply_not_the_askers_thanks() -> None:
    question = hit("t1", 1, "Where can I rent a car cheaply for one month?", 0.95, author="m01", role="question")
    thanks = hit("t1", 4, "Thanks everyone, I will rent a car from one of those this month.", 0.8, author="m01")
    elsewhere = hit("t2", 2, "Renting a car for one month is cheaper than a week at a time.", 0.75)
    reply = hit("t1", 3, "the rental desk near the souq charges about 1600 a month for a small car", 0.6)
    evidence = Evidence("Where can I rent a car cheaply for a month?", [question, thanks, elsewhere],
                        NoVectorsEmbedder(), further=[reply])
    answer = ExtractiveAnswerer(abstain_below=0.0).answer(evidence)
    assert answer.citations[0].post_id == "t1-p3"
    assert "t1-p4" not in [c.post_id for c in answer.citations]


def test_an_answer_cites_at_most_max_sources_posts() -> None:
    hits = [hit(f"t{i}", 2, f"Feed thick syrup of two parts sugar to one part water, batch {i}.", 0.8 - i / 100)
            for i in range(1, 6)]
    for cap in (1, 2):
        answerer = ExtractiveAnswerer(tuning=Tuning(max_sources=cap, keep_fraction=0.0, redundant=1.1),
                                      abstain_below=0.0)
        answer = answerer.answer(Evidence("What syrup do I feed?", hits, NoVectorsEmbedder()))
        assert 1 <= len(answer.citations) <= cap
    assert compose_answer("What syrup do I feed?", hits, NoVectorsEmbedder(), abstain_below=0.0).citations


def test_confidence_falls_with_the_support_of_the_best_quoted_sentence() -> None:
    from retrieval.answer.confidence import confidence_of

    hits = [hit("t1", 2, "Feed thick syrup of two parts sugar to one part water in autumn.", 0.7)]
    pool = candidates(hits, {})
    weights = {"syrup": 2.0, "autumn": 1.0}
    unscaled = confidence_of(hits, pool, weights)
    weak = confidence_of(hits, pool, weights, best_score=0.1)
    strong = confidence_of(hits, pool, weights, best_score=3.0)
    assert 0.0 < weak < strong == unscaled


def test_a_first_post_asks_unless_neither_it_nor_its_title_asks_anything() -> None:
    from retrieval.answer.selection import opener_asks

    assert opener_asks("Cheap car rental?", "Going to Doha next month.")
    assert opener_asks("Car rental", "Going to Doha next month. Can anyone suggest an agency")
    assert opener_asks("Birthday gift ideas", "Hi all! Appreciate your suggestions for a gift. Thanks.")
    assert opener_asks("Dentist", "I am looking for a good dentist near the souq.")
    announcement = ("The council passed the new rules in January. Every hive must be registered by 30 June. "
                    "Registration is free for up to four colonies.")
    assert not opener_asks("City beekeeping rules 2025: what changes for us", announcement)
    assert not opener_asks("Swarm risk today: HIGH", "Warm, still air, third fine day after a wet spell.")


def test_an_announcements_first_post_is_content_and_its_authors_replies_are_answers() -> None:
    opening = hit("t1", 1, "Every hive in the city must be registered with the council by 30 June.", 0.7,
                  author="m01", role="question")
    follow_up = hit("t1", 3, "Yes, registration is free for up to four colonies per site.", 0.7, author="m01")
    asking = Threads(askers={"t1": "m01"})
    informing = Threads(askers={"t1": "m01"}, informs=frozenset({"t1"}))
    assert prior(opening, {}, Tuning(), asking) < prior(opening, {}, Tuning(), informing)
    assert prior(opening, {}, Tuning(), informing) == prior(replace(opening, role="answer", author="m02"), {},
                                                            Tuning(), informing)
    assert prior(follow_up, {}, Tuning(), asking) < prior(follow_up, {}, Tuning(), informing)


def test_an_answer_quotes_an_announcement_but_not_a_question_post() -> None:
    rules = ("Every hive in the city must be registered with the council before the bees arrive. "
             "Registration is renewed every year by 31 March.")
    announcement = replace(hit("t1", 1, rules, 0.8, author="m01", role="question"), title="City hive rules 2025")
    question = replace(announcement, title="Do I register my hive with the council?",
                       text="Do I register my hive with the council? Every hive in my street seems to be registered.")
    aside = hit("t2", 2, "Councils rarely inspect registered hives more than once in a season.", 0.5)
    asked = "Do I have to register my hive with the council?"
    answerer = ExtractiveAnswerer(abstain_below=0.0)
    cited = answerer.answer(Evidence(asked, [announcement, aside], NoVectorsEmbedder())).citations
    assert cited[0].post_id == "t1-p1"
    cited = answerer.answer(Evidence(asked, [question, aside], NoVectorsEmbedder())).citations
    assert cited[0].post_id == "t2-p2"


def test_a_reply_opening_with_that_is_answers_the_question_but_a_later_one_leans_on_its_neighbour() -> None:
    from retrieval.answer import english as lang

    text = "That's chalkbrood, a fungus that turns larvae into chalky mummies. It is common in spring."
    reply = hit("t1", 2, text, 0.7)
    found = [s.text for s in candidates([reply], {}, lang.LEAN_ON_PREVIOUS, lang.POINTS_AT_QUESTION)]
    assert found[0] == "That's chalkbrood, a fungus that turns larvae into chalky mummies."
    assert "It is common in spring." not in found  # joined to the sentence before it instead
    question = replace(reply, role="question", post_id="t1-p1")
    in_question = [s.text for s in candidates([question], {}, lang.LEAN_ON_PREVIOUS, lang.POINTS_AT_QUESTION)]
    assert found[0] not in in_question  # in a first post "That's" has no asked question to point at
    opening = hit("t1", 3, "Keep the hive dry. That's what stops it coming back in most colonies.", 0.7)
    texts = [s.text for s in candidates([opening], {}, lang.LEAN_ON_PREVIOUS, lang.POINTS_AT_QUESTION)]
    assert "That's what stops it coming back in most colonies." not in texts


def test_more_of_an_already_cited_post_is_quoted_than_would_earn_a_new_citation() -> None:
    steps = ("Put one sheet of newspaper over the top bars of the stronger colony. "
             "Cut a few slits in it with the hive tool. Set the weaker box on top and close the hive. "
             "Leave them alone for a whole week before you look.")
    main = hit("t1", 2, steps, 0.8)
    other = hit("t2", 2, "Some keepers leave the paper out and unite the boxes with a spray of air freshener.", 0.8)
    question = "How do I unite two colonies with newspaper?"
    evidence = Evidence(question, [main, other], NoVectorsEmbedder())
    strict = ExtractiveAnswerer(tuning=Tuning(keep_quoted=0.6), abstain_below=0.0).answer(evidence)
    lenient = ExtractiveAnswerer(tuning=Tuning(keep_quoted=0.1), abstain_below=0.0).answer(evidence)
    strict_spans = sum(len(c.spans) for c in strict.citations if c.post_id == "t1-p2")
    lenient_spans = sum(len(c.spans) for c in lenient.citations if c.post_id == "t1-p2")
    assert lenient_spans > strict_spans
    assert [c.post_id for c in lenient.citations] == [c.post_id for c in strict.citations]


def test_completion_adds_further_sections_of_a_guide_already_among_the_hits() -> None:
    def section(name: str, similarity: float, doc_id: str = "resources/guide.md") -> Hit:
        return Hit(chunk_id=hash((doc_id, name)) % 10_000, doc_id=doc_id, kind="resource", post_id=None,
                   title="Guide", channel="", url="", section=name, text=f"Text of {name} in {doc_id}.", start=0,
                   end=20, author=None, author_name=None, created_at=WHEN, score=similarity / 60,
                   similarity=similarity)

    further = [section("Give them space", 0.6), section("Other guide part", 0.59, "resources/other.md"),
               section("Splits", 0.58)]
    evidence = Evidence("stop swarming?", [section("Signs", 0.7)], NoVectorsEmbedder(), further=further)
    added = [h.section for h in completed(evidence, {}, Anchoring(sections=4))]
    assert added == ["Signs", "Give them space", "Splits"]
    assert [h.section for h in completed(evidence, {}, Anchoring(sections=1))] == ["Signs", "Give them space"]


def test_an_answer_never_quotes_the_asked_text_back() -> None:
    from retrieval.answer.extractive import quoted_in

    asked = "Men who sacrificed their love and youth were called saints.\nNow they are called husbands!"
    assert quoted_in("Now they are  called HUSBANDS!", asked)
    assert not quoted_in("Now they are called heroes.", asked)
    same = hit("t1", 1, asked, 0.99, role="question")
    reply = hit("t1", 2, "Husbands who sacrifice their youth deserve a medal from the council.", 0.6)
    answer = ExtractiveAnswerer(abstain_below=0.0).answer(Evidence(asked, [same, reply], NoVectorsEmbedder()))
    assert [c.post_id for c in answer.citations] == ["t1-p2"]


def test_a_leaning_sentence_is_not_joined_to_one_that_leans_itself() -> None:
    from retrieval.answer import english as lang

    text = ("Mites spread viruses between colonies. This page sets out how we count them. "
            "It reflects what our members found on their rooftops.")
    section = replace(hit("t1", 2, text, 0.7), post_id=None, kind="resource", role="")
    found = [s.text for s in candidates([section], {}, lang.LEAN_ON_PREVIOUS, lang.POINTS_AT_QUESTION)]
    assert "Mites spread viruses between colonies. This page sets out how we count them." in found
    assert not any(s.startswith("This page") for s in found)
