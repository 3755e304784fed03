"""The Streamlit page (``ui/page.py``) run by AppTest against a real API server on the sample index."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from app.settings import get_settings
from retrieval.index import IndexDir
from retrieval.words import plural
from tests.api_server import free_port
from tests.conftest import MEMBER_KEY, MENTOR_KEY, ROOT
from ui.client import ApiError, Client
from ui.render import esc

pytestmark = pytest.mark.e2e

APP = str(ROOT / "ui" / "page.py")
ANSWERABLE = "How do I treat varroa in winter?"
UNANSWERABLE = "What hydration should my sourdough starter have?"
PRIVATE_ONLY = "How much is the mentor stipend per season?"
"""Abstains for anonymous callers; answered in the mentors' private thread mt-004."""

Page = Callable[..., AppTest]


@pytest.fixture
def page(api_server: str, monkeypatch: pytest.MonkeyPatch) -> Page:
    """Build and run the page for a view, talking to ``url`` (default: the test API) with ``key``."""

    def open_page(view: str = "ask", url: str | None = None, key: str | None = None) -> AppTest:
        monkeypatch.setenv("TOWNSQUARE_API_URL", url or api_server)
        get_settings.cache_clear()
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params["view"] = view
        if key:  # typed by the visitor into the sidebar: it lives in their session only
            at.session_state["api_key"] = key
        return at.run()

    return open_page


def texts(at: AppTest) -> list[str]:
    """Every Markdown and caption text on the page."""
    return [m.value for m in at.markdown] + [c.value for c in at.caption]


def ask(at: AppTest, question: str) -> AppTest:
    """Submit ``question`` in the chat input."""
    return at.chat_input(key="question").set_value(question).run()


def member_names(api: str) -> set[str]:
    """Every member's display name, from the API."""
    return {m["name"] for m in httpx.get(f"{api}/members").json()["members"]}


def test_question_gets_cited_answer_and_people(page: Page, api_server: str) -> None:
    at = ask(page(), ANSWERABLE)
    assert not at.exception and not at.error
    shown = texts(at)
    assert any("**\\[1\\]**" in text for text in shown), "no citation marker in the answer"
    assert any("<mark>" in text for text in shown), "no highlighted cited passage"
    assert "**People who can help**" in shown
    assert {f"**{esc(name)}**" for name in member_names(api_server)} & set(shown), "no suggested member"
    assert any("Feedback needs an API key" in text for text in shown)
    n = len(re.findall(r"^\*\*\\\[\d+\\\]\*\* ", "\n".join(shown), re.M))  # the sources' headings
    assert f"· {plural(n, 'cited passage')}" in " ".join(c.value for c in at.caption)


def test_chat_keeps_the_session_history(page: Page) -> None:
    asked = [ANSWERABLE, "When do I add the next super?"]
    at = ask(ask(page(), asked[0]), asked[1])
    assert [m.value for m in at.markdown if m.value in map(esc, asked)] == [esc(q) for q in asked]


def test_abstained_answer_offers_a_ready_to_post_question(page: Page) -> None:
    at = ask(page(), UNANSWERABLE)
    assert not at.exception
    assert "has not answered this yet" in at.warning[0].value
    draft = at.code[0].value
    assert UNANSWERABLE in draft
    # off-topic: nobody has evidence, so the draft goes to everyone rather than to random members
    assert draft.startswith("Hi all") and "People who can help" not in [m.value for m in at.markdown]


def test_feedback_is_sent_with_a_key(page: Page, api_server: str) -> None:
    at = ask(page(key=MENTOR_KEY), ANSWERABLE)
    up = next(b for b in at.button if (b.key or "").startswith("up-"))
    answer_id = (up.key or "").removeprefix("up-")
    at.text_input(key=f"comment-{answer_id}").set_value("clear and cited")
    at = up.click().run()
    assert "feedback was recorded" in at.success[0].value
    summary = httpx.get(f"{api_server}/admin/feedback", headers={"X-API-Key": MENTOR_KEY}).json()
    assert any(f["comment"] == "clear and cited" for f in summary["latest"])


def test_suggested_people_say_why_and_take_feedback(page: Page, api_server: str) -> None:
    at = ask(page(key=MENTOR_KEY), ANSWERABLE)  # a facilitator sees feedback of the groups they share
    assert any("in all" in text and ("Answered" in text or "Asked" in text) for text in texts(at)), "no why-numbers"
    good = next(b for b in at.button if (b.key or "").startswith("eup-"))
    member_id = (good.key or "").rsplit(":", 1)[1]
    at = good.click().run()
    assert not at.exception and any("feedback was recorded" in c.value for c in at.caption)
    summary = httpx.get(f"{api_server}/admin/feedback", headers={"X-API-Key": MENTOR_KEY}).json()
    assert any(f["target"] == "expert" and f["member_id"] == member_id and f["helpful"] for f in summary["latest"])


def search(at: AppTest, query: str) -> AppTest:
    return at.text_input(key="search_q").set_value(query).run()


def result_captions(at: AppTest) -> list[str]:
    """The "where · who · when" line of each search result."""
    return [c.value for c in at.caption if " · " in c.value]


def test_search_filters_change_results(page: Page) -> None:
    at = search(page("search"), "varroa treatment")
    everything = result_captions(at)
    assert len(everything) > 3 and not at.exception
    at = at.selectbox(key="f_channel").set_value("honey-and-harvest").run()
    in_channel = result_captions(at)
    assert in_channel and in_channel != everything
    assert all(c.startswith("#honey-and-harvest") for c in in_channel)
    at.selectbox(key="f_channel").set_value("")
    at = at.radio(key="f_kind").set_value("resource").run()
    assert all(c.startswith("resource") for c in result_captions(at))
    at = at.radio(key="view").set_value("People").run()
    at = at.radio(key="view").set_value("Search").run()
    assert at.radio(key="f_kind").value == "resource", "filters are kept across views"


def test_opening_a_result_shows_the_whole_thread(page: Page) -> None:
    at = search(page("search"), "oxalic acid dribble or vaporise")
    opener = next(b for b in at.button if b.key and b.key.startswith("open-") and b.label == "Open thread")
    at = opener.click().run()
    assert not at.exception
    assert any("matching post" in m.value for m in at.markdown)
    assert any("<mark>" in m.value for m in at.markdown)
    assert "Related" in [h.value for h in at.subheader]
    at = at.button(key="back").click().run()
    assert at.text_input(key="search_q").value == "oxalic acid dribble or vaporise"
    assert result_captions(at)


def test_api_outage_is_one_line_and_recovers(page: Page, api_server: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    at = page(url=closed)
    assert not at.exception
    assert len(at.error) == 1 and closed in at.error[0].value
    assert "\n" not in at.error[0].value
    at = at.text_input(key="api_url").set_value(api_server).run()
    assert not at.error and at.title[0].value == "Ask the community"


def test_start_here_shows_topics_answers_resources_and_people(page: Page) -> None:
    at = page("start-here")
    assert not at.exception and not at.error
    headings = [h.value for h in at.subheader]
    for heading in ("Most discussed topics", "Best-received answers", "Shared resources", "Who to ask about what"):
        assert heading in headings
    topic_threads = [b for b in at.button if b.key and b.key.startswith("topic-")]
    assert len(topic_threads) >= 6
    assert "Mentor Handbook (Mentors Only)" not in [b.label for b in at.button]
    at = topic_threads[0].click().run()
    assert at.title[0].value == esc(topic_threads[0].label)  # the title as written: its Markdown source is escaped


def test_start_here_shows_group_content_to_key_holders(page: Page) -> None:
    at = page("start-here", key=MENTOR_KEY)
    assert "Mentor Handbook (Mentors Only)" in [b.label for b in at.button]


def test_people_directory_with_strengths_and_opt_out(page: Page, api_server: str) -> None:
    at = page("people")
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    everyone = len(member_names(api_server))  # the directory an anonymous visitor may see
    assert len(table) == everyone
    assert "opted out" in set(table["Suggested"])
    assert table["Strongest in"].map(len).sum() > 0
    at = at.text_input(key="people_q").set_value("varroa").run()
    assert 0 < len(at.dataframe[0].value) < everyone


def test_admin_needs_a_key(page: Page) -> None:
    at = page("admin")
    assert "needs an API key" in at.info[0].value


def test_page_never_hands_out_a_server_side_key(page: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOWNSQUARE_API_KEY", MENTOR_KEY)  # the old way of giving the page a key: ignored
    at = page("admin")
    assert "needs an API key" in at.info[0].value
    assert all(MENTOR_KEY not in (t.value or "") for t in at.text_input)


def test_admin_with_a_member_key_asks_for_a_facilitator_key(page: Page) -> None:
    at = page("admin", key=MEMBER_KEY)
    assert not at.exception and "need a facilitator key" in at.info[0].value


def test_admin_shows_stats_ingest_feedback_and_gaps(page: Page, api_server: str) -> None:
    for question in (UNANSWERABLE, PRIVATE_ONLY):
        httpx.post(f"{api_server}/ask", json={"question": question}, timeout=60)
    at = page("admin", key=MENTOR_KEY)
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    counts = httpx.get(f"{api_server}/stats", headers={"X-API-Key": MENTOR_KEY}).json()["counts"]
    anonymous = httpx.get(f"{api_server}/stats").json()["counts"]
    assert metrics["Threads"] == str(counts["threads"]) and metrics["Members"] == str(counts["members"])
    assert counts["threads"] > anonymous["threads"]  # mentors' threads are counted for a mentors key only
    assert {"Index", "Last ingest", "Feedback", "Knowledge gaps"} <= {h.value for h in at.subheader}
    assert any(esc(UNANSWERABLE) in m.value for m in at.markdown)
    gaps = httpx.get(f"{api_server}/admin/gaps", headers={"X-API-Key": MENTOR_KEY}, timeout=60).json()["gaps"]
    marked = [e.label for e in at.expander if e.label.startswith(esc(PRIVATE_ONLY))]
    assert marked and "answered in a private group you can see" in marked[0]  # mentors see mt-004; anonymous did not
    assert any(g["off_topic"] for g in gaps) == any(c.value.startswith("Off-topic (") for c in at.caption)


def test_overview_endpoint_respects_visibility(api_server: str, sample_index: IndexDir) -> None:
    public = httpx.get(f"{api_server}/overview").json()
    mentors = httpx.get(f"{api_server}/overview", headers={"X-API-Key": MENTOR_KEY}).json()
    assert "mentors" not in {c["value"] for c in public["facets"]["channels"]}
    assert "mentors" in {c["value"] for c in mentors["facets"]["channels"]}
    public_threads = {t["id"] for topic in public["topics"] for t in topic["threads"]}
    assert not any(t.startswith("mt-") for t in public_threads | {t["id"] for t in public["best_threads"]})
    assert all(topic["label"] and topic["people"] for topic in public["topics"])
    public_count = len(sample_index.open().catalog.list_documents("thread", ()))
    assert sum(topic["thread_count"] for topic in public["topics"]) == public_count


@pytest.mark.unit
def test_client_names_the_url_when_the_api_is_slow() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(ApiError, match=re.escape(f"API at {url} did not answer within 0.3 s")) as caught:
            Client(url, timeout=0.3).stats()
    assert caught.value.status is None


def test_client_errors_carry_the_api_detail(api_server: str) -> None:
    with pytest.raises(ApiError, match="answered 404: no thread 'nope'") as caught:
        Client(api_server).thread("nope")
    assert caught.value.status == 404
    with pytest.raises(ApiError, match="answered 401"):
        Client(api_server, api_key="wrong-key-123").members()


@pytest.mark.unit
def test_draft_addresses_suggested_members_by_handle() -> None:
    from ui.views.ask import draft

    experts = [{"member_id": "m01", "name": "Ines Albright"}, {"member_id": "m10", "name": "Chen Wei"}]
    text = draft("Is thymol safe at 32 °C?", experts, {"m01": "@ines"}, [{"title": "Thymol in a heatwave"}])
    assert text.startswith("@ines Chen Wei — could you help")
    assert "Is thymol safe at 32 °C?" in text and "“Thymol in a heatwave”" in text


@pytest.mark.unit
def test_two_suggested_members_with_one_name_are_told_apart() -> None:
    from ui.views.ask import draft, labels

    experts = [{"member_id": "d1", "name": "Sam Lee"}, {"member_id": "m10", "name": "Chen Wei"},
               {"member_id": "d2", "name": "Sam Lee"}]
    assert labels(experts) == {"d1": "Sam Lee (d1)", "m10": "Chen Wei", "d2": "Sam Lee (d2)"}
    text = draft("Which smoker fuel lasts?", experts, {"d2": "@sam2"}, [])
    assert text.startswith("Sam Lee (d1) Chen Wei @sam2 — could you help")


def test_source_cards_render_markdown_as_html(page: Page) -> None:
    at = ask(page(), "What has to be on a honey jar label for the market?")
    assert not at.exception
    html = [m.value for m in at.markdown if "<strong>The name.</strong>" in m.value]
    assert html and "<mark>" in html[0] and "**" not in html[0], "the cited post's Markdown is not rendered"


@pytest.mark.unit
def test_rendered_markdown_runs_no_script_and_keeps_highlights_inside_tags() -> None:
    from ui.render import highlight, rich

    text = ("<script>alert(1)</script> <img src=x onerror=alert(2)>\n\n"
            "- **Net weight** in [grams](javascript:alert(3))\n\n### Lot number")
    shown = rich(text)
    assert "<script" not in shown and "<img" not in shown and "&lt;script&gt;" in shown
    assert "<a " not in shown and "[grams](javascript:alert(3))" in shown  # not a link: shown as written
    assert "<strong>Net weight</strong>" in shown and "<h3>Lot number</h3>" in shown and "\n" not in shown
    start = text.index("**Net")
    marked = highlight(text, text[start:start + 22], start, start + 22)
    assert "<li><strong><mark>Net weight</mark></strong><mark> in [gra</mark>ms]" in marked
    heading = text.index("### Lot")
    assert "<h3><mark>Lot number</mark></h3>" in rich(text, heading, len(text))  # still a heading


@pytest.mark.unit
def test_escaped_text_shows_as_written_with_no_entity_and_no_live_html() -> None:
    """Quoted HTML next to a URL shows literally: backslash escapes only, no ``&gt;`` that a
    GFM autolink would show as written (the browser test checks Streamlit's renderer)."""
    import html as html_lib

    from markdown_it import MarkdownIt

    from tests.render_probe import QUOTED
    from ui.render import answer_markdown

    marked = answer_markdown(QUOTED)
    assert "&" not in marked.replace("\\&", "") and "<" not in marked.replace("\\<", "")
    shown = MarkdownIt("commonmark", {"html": True}).render(marked)  # raw HTML on: none may be left
    assert "<iframe" not in shown and "<script" not in shown and "<strong>[1]</strong>" in shown
    assert html_lib.unescape(re.sub(r"<[^>]+>", "", shown)).strip() == QUOTED
    text = "    indented *not* code\n:material/check: $x$ ~~y~~ | z |"
    shown = MarkdownIt("commonmark").render(esc(text))
    assert shown == "<p>indented *not* code<br />\n:material/check: $x$ ~~y~~ | z |</p>\n"


@pytest.mark.unit
def test_links_are_made_only_to_urls_a_page_can_open() -> None:
    from markdown_it import MarkdownIt

    from tests.render_probe import SCRIPTED, SPACED
    from ui.render import link, linkable

    for url in (SCRIPTED, " JavaScript:alert(1)", "data:text/html,x", "/t/relative", "", None):
        assert linkable(url) is None and link("the original", url) == esc("the original")
    shown = MarkdownIt("commonmark").render(link("the [guide]", SPACED))
    assert shown == '<p><a href="https://x.example/guide%20(v2).pdf">the [guide]</a></p>\n'
    assert linkable("mailto:ada@example.org") == "<mailto:ada@example.org>"


@pytest.mark.unit
def test_counts_agree_with_their_number_on_the_page_and_in_the_cli() -> None:
    from retrieval.words import plural
    from ui.render import count

    assert count(1, "cited passage") == "1 cited passage" and count(0, "cited passage") == "0 cited passages"
    assert plural(1014, "question") == "1,014 questions" and plural(1, "entry", "entries") == "1 entry"
    for n in (0, 1, 2, 1000):  # the page's copy says what the rest of the code says
        assert count(n, "thread") == plural(n, "thread")
        assert count(n, "entry", "entries") == plural(n, "entry", "entries")
