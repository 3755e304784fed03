"""The page's own settings, and nothing else: a bad server setting (say an invalid
``TOWNSQUARE_API_KEYS``) must not break the page, which only talks to the API over HTTP."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class PageSettings(BaseSettings):
    """``TOWNSQUARE_API_URL``; other ``TOWNSQUARE_*`` variables are ignored (a bad server setting
    cannot break the page). There is no page-wide key: each visitor enters their own."""

    model_config = SettingsConfigDict(env_prefix="TOWNSQUARE_", extra="ignore")

    api_url: str = "http://127.0.0.1:8000"
