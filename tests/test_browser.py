"""One real-browser test: the page in headless Chromium (Debian's) answers a typed question."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_server import CHROMIUM, CHROMIUM_ARGS, serve_page

pytestmark = pytest.mark.e2e

QUESTION = "How do I treat varroa in winter?"


@pytest.fixture
def page_url(api_server: str, tmp_path: Path) -> Iterator[str]:
    """``streamlit run ui/page.py`` against the test API."""
    with serve_page(api_server, tmp_path / "page.log") as url:
        yield url


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is not installed (make browser)")
def test_browser_asks_and_sees_cited_answer_and_people(page_url: str, api_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    names = [m["name"] for m in httpx.get(f"{api_server}/members").json()["members"]]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(page_url)
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill(QUESTION)
            box.press("Enter")
            helpers = page.get_by_text("People who can help")
            expect(helpers).to_be_visible(timeout=90_000)
            answer = page.get_by_test_id("stChatMessage").nth(1)
            expect(answer).to_contain_text(re.compile(r"\[\d+\]"))
            assert any(name in answer.inner_text() for name in names), "no suggested member on the page"
            assert page.get_by_test_id("stException").count() == 0
            page.screenshot(path=str(tmp_path / "ask.png"))
        finally:
            browser.close()
    assert (tmp_path / "ask.png").stat().st_size > 10_000
