"""Start here (for newcomers): most discussed topics, best-received answers, shared
resources, and who to ask about what."""

from __future__ import annotations

import streamlit as st

from ui import cached, render, state
from ui.client import Client, Filters, Json


def render_view(client: Client, filters: Filters) -> None:
    """The overview from GET /overview (filters do not apply here)."""
    st.title("Start here")
    st.caption("New to the community? These are the conversations and guides most worth reading first.")
    overview = cached.overview(client)
    _topics(overview["topics"])
    left, right = st.columns(2)
    with left:
        _best(overview["best_threads"])
    with right:
        _resources(overview["resources"])
    _who_to_ask(overview["topics"])


def _open_button(thread: Json, key: str) -> None:
    st.button(thread["title"], key=key, type="tertiary", on_click=state.open_document, args=("thread", thread["id"]))


def _topics(topics: list[Json]) -> None:
    st.subheader("Most discussed topics")
    cols = st.columns(3)
    for number, topic in enumerate(topics):
        with cols[number % 3].container(border=True):
            st.markdown(f"**{render.esc(topic['label'].capitalize())}**")
            st.caption(f"{render.count(topic['thread_count'], 'thread')} · {render.count(topic['post_count'], 'post')}")
            for thread in topic["threads"][:3]:
                _open_button(thread, f"topic-{number}-{thread['id']}")


def _best(threads: list[Json]) -> None:
    st.subheader("Best-received answers")
    for thread in threads:
        _open_button(thread, f"best-{thread['id']}")
        st.caption(render.meta(f"#{thread['channel']}", f"answered by {thread['answered_by']}" if thread["answered_by"]
                               else None, f"answer score {thread['answer_score']}"))


def _resources(resources: list[Json]) -> None:
    st.subheader("Shared resources")
    for resource in resources:
        st.button(resource["title"], key=f"res-{resource['id']}", type="tertiary",
                  on_click=state.open_document, args=("resource", resource["id"]))
        line = render.meta(f"by {resource['authors']}" if resource["authors"] else None,
                           " ".join(f"`{t}`" for t in resource["tags"][:4]))
        if line:
            st.caption(line)


def _who_to_ask(topics: list[Json]) -> None:
    st.subheader("Who to ask about what")
    rows = [
        f"| {render.esc(t['label'])} | {', '.join(render.esc(p['name']) for p in t['people']) or '—'} |"
        for t in topics
    ]
    st.markdown("\n".join(["| topic | people who answered most |", "|---|---|", *rows]))
    st.caption("Members who opted out of suggestions are not listed.")
