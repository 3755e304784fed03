"""Source cards under an answer: the cited passage highlighted, the whole post on expand (both
as the member wrote them: Markdown rendered, :func:`ui.render.rich`)."""

from __future__ import annotations

import streamlit as st

from ui import cached, render, state
from ui.client import ApiError, Client, Json


def cards(client: Client, citations: list[Json], key: str) -> None:
    """One bordered card per citation; ``key`` makes widget keys unique (the answer id)."""
    if not citations:
        return
    st.markdown("**Sources**")
    for citation in citations:
        with st.container(border=True):
            _card(client, citation, key)


def _card(client: Client, citation: Json, key: str) -> None:
    n, title = citation["n"], citation["title"]
    st.markdown(f"**\\[{n}\\]** {render.link(title, citation['url'])}")
    try:
        document = _document(client, citation)
    except ApiError as e:
        st.caption(str(e))
        document = None
    channel = f"#{document['channel']}" if document and document.get("channel") else None
    kind = "resource" if citation.get("resource_id") else None
    st.caption(render.meta(channel or kind, citation.get("author_name") or citation.get("author"),
                           render.day(citation.get("created_at"))))
    quote = citation["quote"]
    st.markdown(f"<blockquote>{render.rich(quote, 0, len(quote))}</blockquote>", unsafe_allow_html=True)
    if document is None:
        return
    doc_id = citation.get("thread_id") or citation.get("resource_id")
    kind = "thread" if citation.get("thread_id") else "resource"
    text, start, end = _context(document, citation)
    with st.expander("The whole post" if kind == "thread" else "In context"):
        st.markdown(render.highlight(text, citation["quote"], start, end), unsafe_allow_html=True)
        span = (citation["start"], citation["end"])
        st.button(f"Open the whole {kind}", key=f"open-{key}-{n}", type="tertiary",
                  on_click=state.open_document, args=(kind, doc_id, citation.get("post_id"), span))


def _document(client: Client, citation: Json) -> Json:
    if citation.get("thread_id"):
        return cached.thread(client, citation["thread_id"])
    return cached.resource(client, citation["resource_id"])


def _context(document: Json, citation: Json) -> tuple[str, int, int]:
    """The cited post's text (threads) or a window of the resource around the quote."""
    start, end = citation["start"], citation["end"]
    if "posts" in document:
        post = next((p for p in document["posts"] if p["id"] == citation.get("post_id")), None)
        return (post["text"], start, end) if post else (citation["quote"], 0, len(citation["quote"]))
    return render.window(document.get("text") or "", start, end)
