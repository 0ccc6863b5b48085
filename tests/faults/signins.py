"""Sign-in load for "nothing accepted is lost": real browsers' and apps' writes, checked after.

Each loop is one child's first click: ``/login`` (a session in the KV store, an audit event
in SQL) → ``/authorize`` (a code in the KV store) → ``/token`` with ``offline_access`` (a
refresh token in SQL). Every answer must keep the contract (success, or 429/503 with
``Retry-After``); every *accepted* write is remembered so the test can prove afterwards that
it survived the fault:

* a session whose sign-in was answered with a redirect still signs its browser in to the app,
* a refresh token that a 200 handed out still redeems (RFC 6749 §6),
* every accepted sign-in has its ``signin.success`` audit event.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

__all__ = ["Answer", "DemoApp", "SignInLoad"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class DemoApp:
    """What ``homeroom demo`` registered (``demo_app_credentials``)."""

    url: str
    district: str
    username: str
    password: str
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class Answer:
    step: str
    status: int  # 0: no HTTP answer
    retry_after: str | None

    @property
    def keeps_contract(self) -> bool:
        """A success (2xx/3xx), or a refusal that says when to come back."""
        return 200 <= self.status < 400 or (
            self.status in (429, 503) and self.retry_after is not None
        )


class _Refused(Exception):
    pass


def _authorize_url(app: DemoApp, verifier: str) -> str:
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return "/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": app.redirect_uri,
            "scope": "openid offline_access",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )


@dataclass
class SignInLoad:
    app: DemoApp
    clients: int
    timeout_s: float = 10.0
    answers: list[Answer] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    """Session cookies of sign-ins answered with a redirect (accepted)."""
    refresh_tokens: list[str] = field(default_factory=list)
    """Refresh tokens handed out by a 200 from ``/token`` (accepted)."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ the flow

    def _note(self, step: str, r: httpx.Response | None) -> httpx.Response:
        answer = Answer(
            step,
            0 if r is None else r.status_code,
            None if r is None else r.headers.get("retry-after"),
        )
        with self._lock:
            self.answers.append(answer)
        if r is None or r.status_code >= 400:
            raise _Refused(step)
        return r

    def _call(self, step: str, send: object) -> httpx.Response:
        try:
            r = send()  # type: ignore[operator]
        except httpx.TransportError:
            r = None
        return self._note(step, r)

    def one_sign_in(self, http: httpx.Client) -> None:
        app = self.app
        verifier = secrets.token_urlsafe(48)
        authorize = _authorize_url(app, verifier)
        page = self._call("login_page", lambda: http.get(f"{app.url}/login"))
        token = _CSRF.search(page.text)
        assert token, "no CSRF token on the sign-in page"
        signed_in = self._call(
            "login",
            lambda: http.post(
                f"{app.url}/login",
                data={
                    "district": app.district,
                    "username": app.username,
                    "password": app.password,
                    "csrf_token": token.group(1),
                    "next": authorize,
                },
            ),
        )
        assert signed_in.status_code == 303, signed_in.status_code
        cookie = http.cookies.get("homeroom_session")
        assert cookie, "accepted sign-in without a session cookie"
        with self._lock:
            self.sessions.append(cookie)
        redirect = self._call("authorize", lambda: http.get(app.url + authorize))
        code = parse_qs(urlsplit(redirect.headers.get("location", "")).query).get("code")
        assert redirect.status_code in (302, 303) and code, "authorize did not answer a code"
        tokens = self._call(
            "token",
            lambda: http.post(
                f"{app.url}/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code[0],
                    "redirect_uri": app.redirect_uri,
                    "code_verifier": verifier,
                },
                auth=(app.client_id, app.client_secret),
            ),
        )
        refresh = tokens.json().get("refresh_token")
        assert refresh, "token response without a refresh token (offline_access)"
        with self._lock:
            self.refresh_tokens.append(refresh)

    def _run(self) -> None:
        while not self._stop.is_set():
            with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as http:
                try:
                    self.one_sign_in(http)
                except _Refused:
                    time.sleep(0.05)  # a polite client backs off

    def start(self) -> SignInLoad:
        for _ in range(self.clients):
            thread = threading.Thread(target=self._run, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> SignInLoad:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout_s * 4 + 5)
        return self

    def wait_for_sessions(self, count: int, within_s: float) -> int:
        """Let the load get going (a busy CI box may need a while): at least ``count``
        accepted sign-ins, or the number there are when ``within_s`` runs out."""
        deadline = time.monotonic() + within_s
        while len(self.sessions) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(self.sessions)

    def wait_for_refusal(self, within_s: float) -> None:
        """Keep the fault on until the load has met it (a 503), at most ``within_s``."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            with self._lock:
                if any(a.status == 503 for a in self.answers):
                    return
            time.sleep(0.1)

    def broken_answers(self) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if not a.keeps_contract]

    def accepted_sign_ins(self) -> int:
        with self._lock:
            return sum(1 for a in self.answers if a.step == "login" and a.status == 303)

    # ------------------------------------------------------------------ afterwards

    def lost_sessions(self) -> list[str]:
        """Accepted sessions that no longer sign their browser in to the app."""
        lost = []
        for cookie in self.sessions:
            with httpx.Client(timeout=self.timeout_s, cookies={"homeroom_session": cookie}) as h:
                r = h.get(self.app.url + _authorize_url(self.app, secrets.token_urlsafe(48)))
                location = r.headers.get("location", "")
                if r.status_code not in (302, 303) or "code=" not in location:
                    lost.append(cookie)
        return lost

    def lost_refresh_tokens(self) -> list[str]:
        """Accepted refresh tokens that no longer redeem."""
        lost = []
        with httpx.Client(timeout=self.timeout_s) as http:
            for refresh in self.refresh_tokens:
                r = http.post(
                    f"{self.app.url}/token",
                    data={"grant_type": "refresh_token", "refresh_token": refresh},
                    auth=(self.app.client_id, self.app.client_secret),
                )
                if r.status_code != 200:
                    lost.append(f"{r.status_code} {r.text[:80]}")
        return lost
