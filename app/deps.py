"""FastAPI dependencies: settings, the served library, the caller's groups, limits.

They are ``async def`` on purpose: each is a few attribute reads, and FastAPI runs a plain
``def`` dependency in the threadpool, so five of them cost five thread hand-offs (and GIL
switches) per request before the endpoint's own hop; under load that doubled the server's CPU
per request (docs/benchmarks.md, load). Only a snapshot swap, which opens files, leaves the
event loop.
"""

from __future__ import annotations

import json
import types
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, HTTPException, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from app.activity import ActivityLog
from app.auth import KeyRing
from app.problems import invalid
from app.settings import Settings
from retrieval.filters import unknown_names_message
from retrieval.library import Library, Pinned


async def library(request: Request) -> AsyncIterator[Pinned]:
    """The library loaded in the lifespan, its current snapshot pinned for this request (an
    ingest swapping in a newer one meanwhile neither changes nor closes it under the request).
    The check for a newer snapshot (at most once a second; it may open one) runs in the
    threadpool, so the event loop never waits on the disk."""
    served: Library = request.app.state.library
    if served.refresh_due():
        await run_in_threadpool(served.snapshot)
    with served.lease() as pinned:
        yield pinned


async def activity(request: Request) -> ActivityLog:
    """The activity log opened in the lifespan."""
    return request.app.state.activity


async def settings(request: Request) -> Settings:
    """The app's settings (those it was created with)."""
    return request.app.state.settings


@dataclass(frozen=True)
class Caller:
    """Who is calling: ``name`` is the key's name (None for anonymous callers, who see public
    content only); ``role`` is ``anonymous``, ``member`` or ``facilitator``. Never the key."""

    name: str | None
    groups: tuple[str, ...]
    role: str = "anonymous"

    @property
    def key(self) -> str | None:
        """The key's name (kept under its old attribute name); None for anonymous callers."""
        return self.name


def groups_for_key(config: Settings, key: str | None) -> tuple[str, ...] | None:
    """The groups an API key grants: ``()`` for no key (public content only), None for a key
    nobody issued. The one place a key becomes groups outside a request (the MCP server on
    both transports), through the same :class:`~app.auth.KeyRing` the API's :func:`caller`
    uses (``TOWNSQUARE_API_KEYS`` plus the index's keys file)."""
    if key is None:
        return ()
    identity = _ring(config).identify(key)
    return None if identity is None else tuple(sorted(identity.groups))


def name_for_key(config: Settings, key: str | None) -> str | None:
    """The name of an API key's holder (keys are named after member ids, so expert
    suggestions leave them out); None for no key or a key nobody issued."""
    identity = _ring(config).identify(key) if key is not None else None
    return None if identity is None else identity.name


_RINGS: dict[tuple[str, str], KeyRing] = {}


def _ring(config: Settings) -> KeyRing:
    marker = (str(config.index_dir), json.dumps(config.api_keys, sort_keys=True))
    if marker not in _RINGS:
        _RINGS[marker] = KeyRing.for_index(config.api_keys, config.index_dir)
    return _RINGS[marker]


API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (optional for reads)")


async def caller(request: Request, x_api_key: Annotated[str | None, Security(API_KEY)] = None) -> Caller:
    """Map the ``X-API-Key`` header to the caller's groups; an unknown key is refused."""
    if x_api_key is None:
        return Caller(None, ())
    identity = request.app.state.keyring.identify(x_api_key)
    if identity is None:
        raise HTTPException(status_code=401, detail="unknown API key")
    return Caller(identity.name, identity.groups, identity.role)


async def writer(who: Annotated[Caller, Depends(caller)]) -> Caller:
    """Callers allowed to write: those with a valid key."""
    if who.name is None:
        raise HTTPException(status_code=401, detail="this endpoint needs an API key (header X-API-Key)")
    return who


async def facilitator(who: Annotated[Caller, Depends(writer)]) -> Caller:
    """Callers allowed to see admin views: facilitator keys (403 for members)."""
    if who.role != "facilitator":
        raise HTTPException(status_code=403, detail="this endpoint needs a facilitator key")
    return who


async def declared_query_only(request: Request) -> None:
    """A query parameter the route does not declare is a 422 naming it and listing the ones it
    takes (``/search?chanel=x`` must not answer unfiltered, ``/members?q=x`` must not answer the
    whole directory). Applied to every route of the app (:func:`app.main.create_app`); the names
    come from the route's own signature, so each endpoint lists exactly what it accepts."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    message = unknown_names_message(dict.fromkeys(request.query_params), _query_names(dependant), "parameter")
    if message:
        unknown = next(name for name in request.query_params if name not in _query_names(dependant))
        raise invalid(unknown, message)


def _query_names(dependant: Dependant) -> list[str]:
    names = [param.alias for param in dependant.query_params]
    return names + [name for sub in dependant.dependencies for name in _query_names(sub)]


async def one_value_each(request: Request) -> None:
    """A query parameter sent empty (``since=``, ``k=``) or sent more than once (``q=a&q=b``)
    is a 422 naming it: an empty value is never read as "no filter" nor a repeated one cut to
    its last value. A parameter the route declares as a list may repeat (none does yet).
    Applied to every route of the app with :func:`declared_query_only`
    (:func:`app.main.create_app`), so one rule holds for every parameter (README, "The HTTP API")."""
    given = request.query_params.multi_items()
    if not given:
        return
    times = Counter(name for name, _ in given)
    dependant = getattr(request.scope.get("route"), "dependant", None)
    lists = _list_names(dependant) if dependant is not None else set()
    for name, value in given:
        if value == "":
            raise invalid(name, f"{name} is empty: leave the parameter out, or give it a value")
        if times[name] > 1 and name not in lists:
            raise invalid(name, f"{name} was given {times[name]} times: give it once")


def _list_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params if _is_list(param.field_info.annotation)}
    return names.union(*(_list_names(sub) for sub in dependant.dependencies))


def _is_list(annotation: Any) -> bool:
    """True for ``list[str]``, ``tuple[int, ...]``, ``set[str] | None`` and the like."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_list(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_is_list(arg) for arg in get_args(annotation))
    return (origin or annotation) in (list, tuple, set, frozenset)


def checked_query(text: str, config: Settings, field: str = "q", where: str = "query") -> str:
    """The question within the configured length (422 naming ``field`` otherwise), stripped.
    A blank question is answered (no hits, an abstention), not refused: the schema allows it."""
    if len(text) > config.max_query_chars:
        raise invalid(field, f"at most {config.max_query_chars} characters, not {len(text)}", where)
    return text.strip()


def checked_k(k: int, config: Settings, field: str = "k", where: str = "query") -> int:
    """A result count within 1..max_k; 422 naming ``field`` (in ``where``) otherwise."""
    if not 1 <= k <= config.max_k:
        raise invalid(field, f"must be between 1 and {config.max_k}, not {k}", where)
    return k


LibraryDep = Annotated[Pinned, Depends(library)]
ActivityDep = Annotated[ActivityLog, Depends(activity)]
SettingsDep = Annotated[Settings, Depends(settings)]
CallerDep = Annotated[Caller, Depends(caller)]
WriterDep = Annotated[Caller, Depends(writer)]
FacilitatorDep = Annotated[Caller, Depends(facilitator)]
