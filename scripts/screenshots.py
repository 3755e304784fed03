"""Save a screenshot of each view of the page into docs/screenshots/.

Starts the API on var/sample-index (ingesting corpus/sample first if that index is missing)
and the page, asks a few questions so every view has something to show, then drives
headless Chromium (Debian's, never a downloaded one) through the views.

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.api_server import BIN, CHROMIUM, CHROMIUM_ARGS, serve_api, serve_page  # noqa: E402

INDEX = ROOT / "var" / "sample-index"
OUT = ROOT / "docs" / "screenshots"
KEY = "screenshot-key-0001"
DEMO_GROUPS = ("mentors", "slack:mentors-circle", "discourse:mentors-lounge")
"""The groups of the key `make run` prints (scripts/run.sh): every private document of the sample."""
QUESTION = "How do I treat varroa in winter?"
GAPS = ("What hydration should my sourdough starter have?", "How wet should a sourdough starter be?",
        "Which chess opening suits beginners?")
WIDTH, MAX_HEIGHT = 1440, 3200
HEIGHT_JS = """() => Math.max(...[...document.querySelectorAll('main, [data-testid="stSidebarContent"]')]
    .map(e => e.scrollHeight))"""


def ensure_index() -> None:
    """Ingest the sample corpus into var/sample-index unless it is there."""
    if not (INDEX / "CURRENT").exists():
        command = [str(BIN / "townsquare"), "ingest", "corpus/sample", "--index", str(INDEX)]
        subprocess.run(command, cwd=ROOT, check=True)


def seed_activity(api: str) -> None:
    """Questions (one the sample cannot answer) and feedback, so the Admin view has data."""
    headers = {"X-API-Key": KEY}
    answered = httpx.post(f"{api}/ask", json={"question": QUESTION}, headers=headers, timeout=60).json()
    httpx.post(f"{api}/feedback", json={"target": "answer", "helpful": True, "answer_id": answered["answer_id"],
                                        "comment": "Exactly what I needed"}, headers=headers, timeout=10)
    for question in GAPS:
        httpx.post(f"{api}/ask", json={"question": question}, headers=headers, timeout=60)


def settle(page: Page) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_timeout(500)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
    page.wait_for_timeout(700)


def save(page: Page, name: str) -> None:
    """Screenshot the whole view: Streamlit scrolls inside its main container, so the
    viewport is grown to that container's height (capped) rather than using ``full_page``."""
    settle(page)
    height = page.evaluate(HEIGHT_JS)
    page.set_viewport_size({"width": WIDTH, "height": min(MAX_HEIGHT, max(900, int(height) + 40))})
    settle(page)
    page.screenshot(path=str(OUT / name))
    page.set_viewport_size({"width": WIDTH, "height": 1000})
    print(f"saved {OUT / name}")


def sign_in(page: Page) -> None:
    """Type the key into the sidebar, as a visitor does; it lives in this browser session only,
    so from here on views are opened with the sidebar, never by reloading the page."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Connection").click()
    field = sidebar.get_by_role("textbox", name="Your API key")
    field.fill(KEY)
    field.press("Enter")
    sidebar.get_by_text("Signed in with your key").wait_for(timeout=60_000)
    sidebar.get_by_text("Connection").click()


def open_view(page: Page, label: str) -> None:
    """Switch views with the sidebar's radio (keeps the session, and so the key)."""
    page.get_by_test_id("stSidebar").get_by_text(label, exact=True).click()
    settle(page)


def shoot(page: Page, label: str, ready: str, name: str) -> None:
    """Open the view ``label``, wait for the text ``ready``, save ``name``."""
    open_view(page, label)
    page.get_by_text(ready, exact=False).first.wait_for(timeout=60_000)
    save(page, name)


def views(page: Page, base: str) -> None:
    """Ask, Search (results, then an opened thread), Start here, People, Admin."""
    page.goto(f"{base}/?view=ask")
    sign_in(page)
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=60_000)
    box.fill(QUESTION)
    box.press("Enter")
    page.get_by_text("People who can help").wait_for(timeout=90_000)
    save(page, "ask.png")
    open_view(page, "Search")
    search = page.get_by_label("Search threads and resources")
    search.wait_for(timeout=60_000)
    search.fill("oxalic acid dribble or vaporise")
    search.press("Enter")
    page.get_by_text("threads and resources, best first").wait_for(timeout=60_000)
    save(page, "search.png")
    page.get_by_role("button", name="Open thread").first.click()
    page.get_by_text("Related").first.wait_for(timeout=60_000)
    save(page, "thread.png")
    shoot(page, "Start here", "Most discussed topics", "start-here.png")
    shoot(page, "People", "Opted out of suggestions", "people.png")
    shoot(page, "Admin", "Knowledge gaps", "admin.png")


def main() -> None:
    """Start everything, take the screenshots, stop everything."""
    ensure_index()
    OUT.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="townsquare-shots-"))
    keys = {KEY: {"groups": list(DEMO_GROUPS), "role": "facilitator", "name": "screenshots"}}
    with serve_api(INDEX, keys, logs / "api.log") as api:
        seed_activity(api)
        with serve_page(api, logs / "page.log") as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
            try:
                views(page, base)
            finally:
                browser.close()


if __name__ == "__main__":
    main()
