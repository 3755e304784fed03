"""A whole thread (the matching post highlighted, related threads below) or resource."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import cached, render, state
from ui.client import ApiError, Client, Json


def show(client: Client, opened: dict[str, Any]) -> None:
    """Render the opened document with a way back to the results."""
    st.button("← Back to results", key="back", on_click=state.close_document)
    doc_id = opened["id"] or ""
    try:
        doc = cached.thread(client, doc_id) if opened["kind"] == "thread" else cached.resource(client, doc_id)
    except ApiError as e:
        if e.status != 404:
            raise
        st.warning(f"That {opened['kind']} is not available (it may have been removed, or is not visible to you).")
        return
    st.title(render.esc(doc["title"]))  # a member's title, shown as written (no Markdown or marks)
    tags = " ".join(f"`{t}`" if "`" not in t else render.esc(t) for t in doc["tags"])
    original = render.link("original", doc.get("url")) if render.linkable(doc.get("url")) else None
    st.caption(render.meta(f"#{doc['channel']}" if doc.get("channel") else opened["kind"],
                           render.day(doc.get("created_at")), original, tags))
    if opened["kind"] == "thread":
        _posts(doc, opened.get("post_id"), opened.get("span"))
        _related(client, doc_id)
    else:
        st.caption(render.meta("by " + ", ".join(doc["authors"]) if doc.get("authors") else None))
        _resource_text(doc, opened.get("span"))


def _posts(thread: Json, matching: str | None, span: tuple[int, int] | None) -> None:
    for position, post in enumerate(thread["posts"]):
        with st.container(border=True):
            role = "question" if position == 0 else ":green[accepted answer :material/check_circle:]" \
                if post["accepted"] else "reply"
            marker = ":orange-background[matching post] · " if post["id"] == matching else ""
            st.markdown(f"{marker}**{render.esc(post.get('author_name') or post['author'])}** · {role}")
            st.caption(render.meta(render.day(post["created_at"]), f"score {post['score']}" if post["score"] else ""))
            st.markdown(_text(post["text"], span if post["id"] == matching else None), unsafe_allow_html=True)


def _text(text: str, span: tuple[int, int] | None) -> str:
    """``text`` (Markdown) as safe HTML, with ``span`` highlighted when given and valid."""
    if not span or not 0 <= span[0] < span[1] <= len(text):
        return render.rich(text)
    start, end = span
    return render.highlight(text, text[start:end], start, end)


def _resource_text(resource: Json, span: tuple[int, int] | None) -> None:
    """The resource's text, the matching passage highlighted."""
    text = resource.get("text") or ""
    if span:
        st.caption("The matching passage is highlighted.")
    st.markdown(_text(text, span), unsafe_allow_html=True)


def _related(client: Client, thread_id: str) -> None:
    related = cached.related(client, thread_id)
    if not related:
        return
    st.subheader("Related")
    for hit in related:
        doc_id = hit.get("thread_id") or hit.get("resource_id")
        kind = "thread" if hit.get("thread_id") else "resource"
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.markdown(f"**{render.esc(hit['title'])}**  \n{render.where(hit)}")
        right.button("Open", key=f"related-{doc_id}", on_click=state.open_document, args=(kind, doc_id))
