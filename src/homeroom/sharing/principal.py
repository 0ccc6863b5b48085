"""Who is calling a roster API: an app acting for one district, maybe for one user."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """From a verified access token. ``subject`` None: a district token from
    ``client_credentials`` (reads what the connection shares); a user id: the user's own
    token, which reaches only ``/me``-style calls."""

    client_id: str
    district_id: str
    subject: str | None = None
    scopes: frozenset[str] = frozenset()
