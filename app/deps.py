"""FastAPI dependencies: settings, the served library, the caller's groups, limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from app.activity import ActivityLog
from app.settings import Settings
from retrieval.library import Library


def library(request: Request) -> Library:
    """The library loaded in the lifespan."""
    return request.app.state.library


def activity(request: Request) -> ActivityLog:
    """The activity log opened in the lifespan."""
    return request.app.state.activity


def settings(request: Request) -> Settings:
    """The app's settings (those it was created with)."""
    return request.app.state.settings


@dataclass(frozen=True)
class Caller:
    """Who is calling: ``key`` is None for anonymous callers, who see public content only."""

    key: str | None
    groups: tuple[str, ...]


def groups_for_key(config: Settings, key: str | None) -> tuple[str, ...] | None:
    """The groups an API key grants: ``()`` for no key (public content only), None for a key
    nobody issued. The one place a key becomes groups: the HTTP API and the MCP server (both
    transports) call this, so a change of key storage changes them all."""
    if key is None:
        return ()
    groups = config.api_keys.get(key)
    return None if groups is None else tuple(sorted(groups))


def caller(
    request: Request, x_api_key: Annotated[str | None, Header(description="API key (optional for reads)")] = None
) -> Caller:
    """Map the ``X-API-Key`` header to the caller's groups; an unknown key is refused."""
    groups = groups_for_key(request.app.state.settings, x_api_key)
    if groups is None:
        raise HTTPException(status_code=401, detail="unknown API key")
    return Caller(x_api_key, groups)


def writer(who: Annotated[Caller, Depends(caller)]) -> Caller:
    """Callers allowed to write: those with a valid key."""
    if who.key is None:
        raise HTTPException(status_code=401, detail="this endpoint needs an API key (header X-API-Key)")
    return who


def checked_query(text: str, config: Settings) -> str:
    """A non-empty question within the configured length; 422 otherwise."""
    text = text.strip()
    if not text:
        raise HTTPException(status_code=422, detail="the question is empty")
    if len(text) > config.max_query_chars:
        raise HTTPException(
            status_code=422, detail=f"the question is {len(text)} characters; the limit is {config.max_query_chars}"
        )
    return text


def checked_k(k: int, config: Settings) -> int:
    """A result count within 1..max_k; 422 otherwise."""
    if not 1 <= k <= config.max_k:
        raise HTTPException(status_code=422, detail=f"k must be between 1 and {config.max_k}, not {k}")
    return k


LibraryDep = Annotated[Library, Depends(library)]
ActivityDep = Annotated[ActivityLog, Depends(activity)]
SettingsDep = Annotated[Settings, Depends(settings)]
CallerDep = Annotated[Caller, Depends(caller)]
WriterDep = Annotated[Caller, Depends(writer)]
