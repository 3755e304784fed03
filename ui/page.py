"""Townsquare's page: ``streamlit run ui/page.py``. A thin HTTP client of the API.

Every run checks the API first; when it is down or slow the page shows one line naming the
URL it tried (and the sidebar, to fix the URL), and the next run simply tries again.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run ui/page.py` puts only ui/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui import sidebar, state  # noqa: E402
from ui.client import ApiError, Client, Filters  # noqa: E402
from ui.views import admin, ask, people, search, start_here  # noqa: E402

log = logging.getLogger(__name__)

VIEWS = {
    "Ask": ask.render_view,
    "Search": search.render_view,
    "Start here": start_here.render_view,
    "People": people.render_view,
    "Admin": admin.render_view,
}

FILTERED = ("Ask", "Search")


def main() -> None:
    """Sidebar, API check, then the chosen view; errors end as one line on the page."""
    st.set_page_config(page_title="Townsquare", page_icon=":material/hive:", layout="wide")
    st.sidebar.title("Townsquare")
    state.keep_widget_values()
    view = sidebar.navigation()
    client = sidebar.connection()
    try:
        run_view(client, view)
    except ApiError as e:
        st.error(str(e))
        st.button("Try again", key="retry")
    except Exception as e:  # the page never shows a traceback; the log keeps it
        log.exception("view %s failed", view)
        st.error(f"Something went wrong in the {view} view ({type(e).__name__}: {e}).")


def run_view(client: Client, view: str) -> None:
    """Check the API, read the filters, render ``view``."""
    client.health()
    filters = sidebar.filters(client) if view in FILTERED else Filters()
    VIEWS[view](client, filters)


main()
