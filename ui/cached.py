"""API reads that change only with a new snapshot, cached briefly per API URL and key.

Failures are not cached (Streamlit does not cache a raised error), so the page recovers as
soon as the API answers again.
"""

from __future__ import annotations

import streamlit as st

from ui.client import Client, Json

TTL = 120


@st.cache_data(ttl=TTL, show_spinner=False)
def overview(client: Client) -> Json:
    """See :meth:`Client.overview`."""
    return client.overview()


@st.cache_data(ttl=TTL, show_spinner=False)
def members(client: Client) -> list[Json]:
    """See :meth:`Client.members`."""
    return client.members()


@st.cache_data(ttl=TTL, show_spinner=False)
def thread(client: Client, thread_id: str) -> Json:
    """See :meth:`Client.thread`."""
    return client.thread(thread_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def resource(client: Client, resource_id: str) -> Json:
    """See :meth:`Client.resource`."""
    return client.resource(resource_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def related(client: Client, thread_id: str) -> list[Json]:
    """See :meth:`Client.related`."""
    return client.related(thread_id)


def member_names(client: Client) -> dict[str, str]:
    """Member id to display name."""
    return {m["id"]: m["name"] for m in members(client)}
