"""The one database read of an instant login, shared by authorize and userinfo for a moment.

Both endpoints ask the same question: is this user still active, and does the app's
connection share them? An instant login asks it twice within a second (authorize, then the
app's userinfo call), and a profile of the quick-start server put these two reads at a third
of the flow's CPU. Each worker therefore keeps the answer for ``ttl_s`` seconds (setting
``sign_in_check_ttl_s``, default 5; 0 reads every time), keyed by (district, user, app).

Staleness is bounded and small: a user deactivated in the roster, or one the connection no
longer shares, can finish sign-ins already under way for at most ``ttl_s`` more seconds in a
worker that answered for them just before (the connection itself is cached for 30 s by
``oidc.clients``). An answer is tied to the connection object it was computed under, so a
changed connection (an admin change, ``ClientDirectory.invalidate``) is asked again at once;
a reload that finds the connection unchanged keeps the same object (``oidc.cache``).
The session check (the KV session read on every authorize) is not cached.

Each answer lives for a random share of ``ttl_s`` between ``1 - JITTER`` and 1 (never
longer, so the staleness bound holds). Answers made in the same instant therefore do not
expire in the same instant: a school's students signing in together at 08:00 would
otherwise all be asked again at 08:00:05, and the load harness's 500 flows/s showed exactly
that, its slowest seconds recurring every ``ttl_s`` while a whole worker's answers were read
again at once.

Answers leave as new ones are written: each write drops at most two answers past their time
from the oldest end, and past ``MAX_ENTRIES`` the oldest one. The cache used to be dropped
whole when full, which at 1,000 sign-ins a second was every 50 s: a pause of over 100 ms
freeing 50,000 answers under the lock, and every live answer read again
(``bench/bench_sign_in_check.py``).
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from homeroom.roster.models import User
from homeroom.sharing.models import Connection
from homeroom.sharing.policy import SharingPolicy
from homeroom.storage.sql import Database
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["SignInCheck"]

MAX_ENTRIES = 50_000  # past it the oldest answer leaves (bounded, and a miss is one read)
DROP_PER_WRITE = 2  # expired answers dropped per write: more than the one a write adds
JITTER = 0.5  # an answer lives between (1 - JITTER) * ttl_s and ttl_s


@dataclass(frozen=True, slots=True)
class _Answer:
    until: float
    connection: Connection | None
    user: User | None
    shared: bool


class SignInCheck:
    def __init__(
        self,
        db: Database,
        ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._clock = clock
        self._rng = rng
        # Oldest written first: expired answers are dropped from that end.
        self._answers: OrderedDict[tuple[str, str, str], _Answer] = OrderedDict()
        self._lock = threading.Lock()

    def active_shared(
        self, district_id: str, user_id: str, app_id: str, connection: Connection | None
    ) -> tuple[User | None, bool]:
        """The user (None unless found and active) and whether ``connection`` shares them."""
        key = (district_id, user_id, app_id)
        now = self._clock()
        answer = self._answers.get(key) if self.ttl_s > 0 else None
        if answer is not None and answer.until > now and answer.connection is connection:
            return answer.user, answer.shared
        user, shared = self._read(district_id, user_id, connection)
        if self.ttl_s > 0:
            lifetime = self.ttl_s * (1.0 - JITTER * self._rng())
            with self._lock:
                answers = self._answers
                answers[key] = _Answer(now + lifetime, connection, user, shared)
                answers.move_to_end(key)
                if len(answers) > MAX_ENTRIES:
                    answers.popitem(last=False)
                for _ in range(DROP_PER_WRITE):
                    oldest_key, oldest = next(iter(answers.items()))
                    if oldest.until > now:
                        break  # (lifetimes vary: a later one may be due; it goes later)
                    del answers[oldest_key]
        return user, shared

    def _read(
        self, district_id: str, user_id: str, connection: Connection | None
    ) -> tuple[User | None, bool]:
        policy = SharingPolicy.of(connection, utcnow())
        with TenantScope(district_id), self.db.scoped() as uow:
            user, shared = uow.sign_in_users.find_shared(user_id, policy)
        if user is None or user.status != "active":
            return None, False
        return user, shared

    def invalidate(self) -> None:
        """Forget every answer (after a change made in this process, and in tests)."""
        with self._lock:
            self._answers.clear()
