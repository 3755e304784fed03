"""Real-browser tests: the page in headless Chromium (Debian's) answers a typed question, and
our Markdown shows as meant in Streamlit's own renderer."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_server import CHROMIUM, CHROMIUM_ARGS, ROOT, serve_page, serve_streamlit

pytestmark = pytest.mark.e2e

QUESTION = "How do I treat varroa in winter?"
LABEL_QUESTION = "What has to be on a honey jar label for the market?"


@pytest.fixture
def page_url(api_server: str, tmp_path: Path) -> Iterator[str]:
    """``streamlit run ui/page.py`` against the test API."""
    with serve_page(api_server, tmp_path / "page.log") as url:
        yield url


@contextmanager
def asked(page_url: str, question: str) -> Iterator[Any]:
    """The page in headless Chromium with ``question`` typed into the chat box and sent."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(page_url)
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill(question)
            box.press("Enter")
            yield page
        finally:
            browser.close()


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is not installed (make browser)")
def test_browser_asks_and_sees_cited_answer_and_people(page_url: str, api_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    names = [m["name"] for m in httpx.get(f"{api_server}/members").json()["members"]]
    with asked(page_url, QUESTION) as page:
        helpers = page.get_by_text("People who can help")
        expect(helpers).to_be_visible(timeout=90_000)
        answer = page.get_by_test_id("stChatMessage").nth(1)
        expect(answer).to_contain_text(re.compile(r"\[\d+\]"))
        assert any(name in answer.inner_text() for name in names), "no suggested member on the page"
        assert page.get_by_test_id("stException").count() == 0
        page.screenshot(path=str(tmp_path / "ask.png"))
    assert (tmp_path / "ask.png").stat().st_size > 10_000


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is not installed (make browser)")
def test_browser_source_cards_render_the_members_markdown(page_url: str) -> None:
    """A cited post written in Markdown (hv-006's checklist: ``- **The name.** ...``) shows
    as a bold-faced list in its source card, with no Markdown marks left on the page."""
    from playwright.sync_api import expect

    with asked(page_url, LABEL_QUESTION) as page:
        expect(page.get_by_text("Sources", exact=True)).to_be_visible(timeout=90_000)
        card = page.get_by_test_id("stExpander").filter(has_text="The whole post").first
        card.get_by_text("The whole post").click()
        bold = card.locator("li strong", has_text="The name.")
        expect(bold).to_be_visible()
        expect(card.locator("mark").first).to_be_visible()  # the cited sentence, highlighted
        shown = page.get_by_test_id("stChatMessage").nth(1).inner_text()  # the answer and its cards
        assert "**" not in shown and "](" not in shown
        assert page.get_by_test_id("stException").count() == 0


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is not installed (make browser)")
def test_browser_shows_quoted_html_as_written_and_makes_no_dead_link(tmp_path: Path) -> None:
    """In Streamlit's renderer (GFM: bare URLs become links), an answer quoting
    ``<iframe src=URL>`` shows those characters, no ``&gt;``, and creates no element; a
    ``javascript:`` link is plain text, not a link to ``#``; a URL with spaces is still a link."""
    from playwright.sync_api import expect, sync_playwright

    from tests.render_probe import QUOTED, SPACED

    with serve_streamlit(ROOT / "tests" / "render_probe.py", tmp_path / "probe.log") as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            shown = page.get_by_test_id("stMarkdownContainer")
            expect(shown.first).to_contain_text("into the club page", timeout=60_000)
            assert shown.first.inner_text() == QUOTED
            assert shown.first.locator("strong").inner_text() == "[1]"
            assert page.get_by_test_id("stMain").locator("iframe, script").count() == 0
            expect(page.get_by_text("#site · the original")).to_be_visible()
            links = page.get_by_test_id("stMain").locator("a")
            assert [(a.inner_text(), a.get_attribute("href")) for a in links.all() if "guide" in a.inner_text()] \
                == [("the guide", SPACED.replace(" ", "%20"))]
            assert all(a.get_attribute("href") not in ("#", "", None) for a in links.all())
        finally:
            browser.close()
