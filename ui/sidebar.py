"""The sidebar: view switcher, API connection (URL and the visitor's key) and the search filters."""

from __future__ import annotations

import streamlit as st

from ui import cached, state
from ui.client import Client, Filters
from ui.settings import PageSettings

ANY = ""


def navigation() -> str:
    """The view radio, initialised from ``?view=`` and mirrored back into the URL."""
    if "view" not in st.session_state:
        st.session_state.view = state.initial_view()
    view = st.sidebar.radio("View", state.VIEWS, key="view")
    st.query_params["view"] = state.slug(view)
    return view


def connection() -> Client:
    """API URL and the visitor's own key. The key lives only in this visitor's session: the
    page never reads a key from its server's settings, so opening the page grants nothing."""
    default_url = PageSettings().api_url
    with st.sidebar.expander("Connection", expanded=False):
        url = st.text_input("API URL", value=default_url, key="api_url")
        key = st.text_input("Your API key", type="password", key="api_key",
                            help="Optional: shows content of your groups and enables feedback; a facilitator "
                                 "key opens the Admin view. Kept in this browser session only.")
        st.caption("Signed in with your key." if key.strip() else "Reading as an anonymous visitor.")
    return Client(url.strip() or default_url, key.strip() or None)


def filters(client: Client) -> Filters:
    """Filter widgets (channel, author, tag, dates, kind, source) with options from the API."""
    facets = cached.overview(client)["facets"]
    names = cached.member_names(client)
    bar = st.sidebar
    bar.subheader("Filters")
    channel = bar.selectbox("Channel", [ANY, *(c["value"] for c in facets["channels"])], key="f_channel",
                            format_func=lambda v: f"#{v}" if v else "Any channel")
    author = bar.selectbox("Author", [ANY, *sorted(names, key=lambda m: names[m])], key="f_author",
                           format_func=lambda v: names.get(v, v) if v else "Anyone")
    tag = bar.selectbox("Tag", [ANY, *(t["value"] for t in facets["tags"])], key="f_tag",
                        format_func=lambda v: v or "Any tag")
    since = bar.date_input("From", value=None, key="f_since", format="YYYY-MM-DD")
    until = bar.date_input("Until", value=None, key="f_until", format="YYYY-MM-DD")
    kind = bar.radio("Kind", [ANY, "thread", "resource"], key="f_kind", horizontal=True,
                     format_func=lambda v: {"": "all", "thread": "threads", "resource": "resources"}[v])
    source = bar.selectbox("Source", [ANY, *(s["value"] for s in facets.get("sources", []))], key="f_source",
                           format_func=lambda v: v or "Any source")
    return Filters(channel, author, tag, since, until, kind, source)  # type: ignore[arg-type]
