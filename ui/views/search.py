"""Search: results grouped by thread or resource; opening one shows the whole document."""

from __future__ import annotations

import streamlit as st

from ui import render, state
from ui.client import Client, Filters, Json
from ui.views import document

RESULTS = 20


def render_view(client: Client, filters: Filters) -> None:
    """The opened document if there is one, else the search box and its results."""
    opened = state.opened()
    if opened:
        document.show(client, opened)
        return
    st.title("Search")
    query = st.text_input("Search threads and resources", key="search_q",
                          placeholder="words or a question, e.g. oxalic acid dribble")
    if not query.strip():
        st.caption("Results are grouped by thread; filters are in the sidebar.")
        return
    hits = client.search(query.strip(), filters, k=RESULTS)
    if not hits:
        st.info("Nothing matches. Try other words or loosen the filters in the sidebar.")
        return
    st.caption("1 thread or resource" if len(hits) == 1 else f"{len(hits)} threads and resources, best first")
    for hit in hits:
        with st.container(border=True):
            result(hit)


def result(hit: Json) -> None:
    """One result: title, where and who, the best snippet, other matches, an Open button."""
    doc_id = hit.get("thread_id") or hit.get("resource_id")
    kind = "thread" if hit.get("thread_id") else "resource"
    badge = " :green[:material/check_circle:]" if any(h["accepted"] for h in [hit, *hit["more"]]) else ""
    head, action = st.columns([5, 1])
    head.markdown(f"**{render.esc(hit['title'])}**{badge}")
    head.caption(render.meta(render.where(hit), hit.get("author_name"), hit.get("role"), render.day(hit["created_at"])))
    span = (hit["start"], hit["end"])
    action.button(f"Open {kind}", key=f"open-{doc_id}", on_click=state.open_document,
                  args=(kind, doc_id, hit["post_id"], span), width="stretch")
    st.markdown(render.rich(render.snippet(hit["text"])), unsafe_allow_html=True)
    if hit["more"]:
        st.caption(f"and {render.count(len(hit['more']), 'more matching passage')} in this {kind}")
