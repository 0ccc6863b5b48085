"""Portal sessions: one sign-in, shared by the portal and the OpenID Provider.

A session lives in the KV store under ``sess:<id>`` (so every worker and host sees it and
logout ends it everywhere); the browser holds only a signed cookie naming it. Sessions end
at the idle timeout (refreshed on use) or the absolute timeout, whichever comes first.

The id is ``<district_id>.<256 random bits>``: the KV key carries the district, and a
stored session is returned only when its recorded district matches the one in its id, so a
value can never be served under another district's key.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace

import orjson

from homeroom.storage.kv import KV

__all__ = ["Session", "SessionStore"]

_PREFIX = "sess:"
_USER_PREFIX = "usess:"
TOUCH_EVERY_S = 60


@dataclass(frozen=True, slots=True)
class Session:
    """Who signed in, to which district, how and when (``auth_time`` for OIDC ``max_age``)."""

    id: str
    district_id: str
    user_id: str
    auth_method: str  # "password", "badge", "upstream"
    auth_time: int  # epoch seconds
    expires_at: int  # absolute end, epoch seconds
    apps: tuple[str, ...] = field(default=())  # client_ids that received tokens (logout fan-out)
    touched_at: int = 0  # last write of the idle timeout, epoch seconds


class SessionStore:
    def __init__(self, kv: KV, idle_timeout_s: int = 3600, absolute_timeout_s: int = 43200):
        self.kv = kv
        self.idle = idle_timeout_s
        self.absolute = absolute_timeout_s

    def _ttl(self, session: Session, now: float) -> float:
        return max(1.0, min(self.idle, session.expires_at - now))

    def _save(self, session: Session, now: float) -> None:
        # Spelled out rather than ``asdict`` (a deep copy: a tenth of a sign-in's CPU).
        data = {
            "id": session.id,
            "district_id": session.district_id,
            "user_id": session.user_id,
            "auth_method": session.auth_method,
            "auth_time": session.auth_time,
            "expires_at": session.expires_at,
            "apps": list(session.apps),
            "touched_at": int(now),  # == session.touched_at except when touching
        }
        self.kv.set(_PREFIX + session.id, orjson.dumps(data), ttl_s=self._ttl(session, now))

    def start(self, district_id: str, user_id: str, auth_method: str) -> Session:
        now = time.time()
        session = Session(
            id=f"{district_id}.{secrets.token_urlsafe(32)}",
            district_id=district_id,
            user_id=user_id,
            auth_method=auth_method,
            auth_time=int(now),
            expires_at=int(now + self.absolute),
            touched_at=int(now),
        )
        self._save(session, now)
        # Index per user so that "sign out everywhere" and account lock can find sessions.
        self.kv.set(
            f"{_USER_PREFIX}{district_id}:{user_id}:{session.id}", b"1", ttl_s=self.absolute
        )
        return session

    def get(self, session_id: str, *, touch: bool = True) -> Session | None:
        """The live session, refreshing its idle timeout; None when ended or expired."""
        if not session_id or len(session_id) > 128:
            return None
        raw = self.kv.get(_PREFIX + session_id)
        if raw is None:
            return None
        data = orjson.loads(raw)
        data["apps"] = tuple(data.get("apps", ()))
        session = Session(**data)
        if session_id.partition(".")[0] != session.district_id:
            return None  # a value stored under another district's key: never serve it
        now = time.time()
        if session.expires_at <= now:
            self.kv.delete(_PREFIX + session_id)
            return None
        # Sliding the idle timeout costs a KV write; a minute's precision is plenty, so a
        # session touched less than TOUCH_EVERY_S ago is not rewritten (one KV read per
        # instant login instead of a read and a write).
        if touch and now - session.touched_at >= min(TOUCH_EVERY_S, self.idle / 10):
            self._save(session, now)
        return session

    def add_app(self, session: Session, client_id: str) -> Session:
        """Remember that an app got tokens from this session (for back-channel logout)."""
        if client_id in session.apps:
            return session
        updated = replace(session, apps=(*session.apps, client_id))
        self._save(updated, time.time())
        return updated

    def end(self, session_id: str) -> Session | None:
        """End a session everywhere; returns what it was (for logout fan-out)."""
        raw = self.kv.pop(_PREFIX + session_id)
        if raw is None:
            return None
        data = orjson.loads(raw)
        data["apps"] = tuple(data.get("apps", ()))
        session = Session(**data)
        self.kv.delete(f"{_USER_PREFIX}{session.district_id}:{session.user_id}:{session.id}")
        return session
