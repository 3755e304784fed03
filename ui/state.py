"""Navigation state kept in the session: the current view and the opened thread or resource.

The functions here are button callbacks: they run before the rerun, so the next run renders
the new state (and may change the ``view`` widget's value, which a script body may not).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

VIEWS = ("Ask", "Search", "Start here", "People", "Admin")


def slug(view: str) -> str:
    """The URL form of a view name (``?view=start-here``)."""
    return view.lower().replace(" ", "-")


def initial_view() -> str:
    """The view named by the ``view`` query parameter, else Ask."""
    wanted = st.query_params.get("view", "")
    return next((v for v in VIEWS if slug(v) == wanted), VIEWS[0])


def open_document(
    kind: str, doc_id: str, post_id: str | None = None, span: tuple[int, int] | None = None
) -> None:
    """Show a whole thread or resource in the Search view, with ``post_id`` marked as the
    matching post and ``span`` (character offsets in that post) highlighted."""
    st.session_state.opened = {"kind": kind, "id": doc_id, "post_id": post_id, "span": span}
    st.session_state.view = "Search"


def close_document() -> None:
    """Back to the search results."""
    st.session_state.pop("opened", None)


def opened() -> dict[str, Any] | None:
    """The opened document, if any."""
    return st.session_state.get("opened")


KEPT = ("search_q", "f_channel", "f_author", "f_tag", "f_since", "f_until", "f_kind", "people_q")
"""Widgets whose values outlive a visit to another view."""


def keep_widget_values(keys: tuple[str, ...] = KEPT) -> None:
    """Streamlit forgets the state of widgets a run does not draw; re-assigning a value as
    session state keeps it while its view is hidden (the search box behind an opened thread,
    the filters while on People)."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
