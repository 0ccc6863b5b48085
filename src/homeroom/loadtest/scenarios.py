"""The flows a load test runs, written against the standard protocols only.

Each scenario is a function ``(browser, flow) -> None`` that raises :class:`CheckFailed` for
anything a careful client would reject. They are framework-free: :mod:`.worker` gives them
a Locust ``FastHttpSession`` behind the small :class:`Http` protocol.

- ``health``: ``GET /healthz`` and ``GET /readyz``.
- ``instant_login``: portal session cookie → authorize (code + PKCE, RFC 7636) → token →
  ID token verified against the JWKS → userinfo.
- ``password_login``: a new browser: sign-in form with its CSRF token → authorize → token →
  userinfo.
- ``refresh``: refresh grant with rotation (RFC 6749 §6; the new refresh token must differ).
- ``client_credentials``: RFC 6749 §4.4 with ``district=<slug>`` (Homeroom).
- ``roster_paging``: a client-credentials token, then OneRoster 1.2 ``users`` pages
  (``limit``/``offset``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urljoin, urlsplit

from joserfc.jwk import KeySet

from homeroom.loadtest.checks import (
    CheckFailed,
    callback_code,
    find_form,
    find_login_form,
    pkce_pair,
    verify_jwt,
)
from homeroom.loadtest.results import Results

__all__ = ["SCENARIO_FLOWS", "Browser", "Flow", "Http", "Reply", "Target", "discover"]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int  # 0 when no response arrived (connection error, timeout)
    headers: Mapping[str, str]
    body: bytes
    error: str | None = None

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body)
        except ValueError:
            raise CheckFailed("not_json") from None
        if not isinstance(data, dict):
            raise CheckFailed("not_json_object")
        return data

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class Http(Protocol):
    """One browser's or client's HTTP connection(s) and cookie jar. Never follows redirects."""

    def request(
        self,
        method: str,
        url: str,
        *,
        name: str,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Reply: ...

    def clear_cookies(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """The server under test: its discovery document plus what ``loadtest seed`` wrote."""

    url: str
    issuer: str = ""
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    userinfo_endpoint: str = ""
    jwks_uri: str = ""
    client_id: str = ""
    client_secret: str = ""
    cc_client_id: str = ""  # a separate client for client credentials, when the server
    cc_client_secret: str = ""  # allows one grant type per client (django-oauth-toolkit)
    redirect_uri: str = ""
    district: str = ""
    scope: str = "openid profile"
    refresh_scope: str = "openid profile offline_access"
    client_credentials_scope: str = ""
    login_start: str = "homeroom"  # "homeroom": /login?district=&next=… ; "authorize"
    login_next: str = "path"  # next= as a same-origin "path" (open-redirect safe) or "url"
    district_param: bool = True  # send district=<slug> on client credentials
    roster_path: str = "/ims/oneroster/v1p1/users"
    roster_page_size: int = 100
    roster_pages: int = 3
    username_prefix: str = "lt-user-"
    users: int = 0
    password: str = ""
    badges: tuple[str, ...] = ()  # QR payloads, in the users' order (Homeroom's seed only)

    def username(self, n: int) -> str:
        return f"{self.username_prefix}{(n % max(self.users, 1)) + 1:05d}"

    def badge(self, n: int) -> str:
        """The payload on user ``n``'s badge (the same user as :meth:`username`)."""
        if not self.badges:
            raise CheckFailed("no_badges_in_seed_file")
        return self.badges[(n % max(self.users, 1)) % len(self.badges)]


def discover(http: Http, url: str, seed: Mapping[str, Any]) -> Target:
    """OpenID Connect Discovery 1.0 §4: the endpoints come from the provider, not from us."""
    reply = http.request("GET", url + "/.well-known/openid-configuration", name="discovery")
    if reply.status != 200:
        raise CheckFailed(f"discovery_http_{reply.status}")
    meta = reply.json()
    known = {k: v for k, v in seed.items() if k in Target.__dataclass_fields__}
    if "badges" in known:
        known["badges"] = tuple(str(b) for b in known["badges"])
    return Target(
        **{
            **known,
            "url": url,
            "issuer": str(meta.get("issuer", "")),
            "authorization_endpoint": str(meta.get("authorization_endpoint", "")),
            "token_endpoint": str(meta.get("token_endpoint", "")),
            "userinfo_endpoint": str(meta.get("userinfo_endpoint", "")),
            "jwks_uri": str(meta.get("jwks_uri", "")),
        }
    )


class Flow:
    """One scheduled flow; times each step from when it was due (see :mod:`.results`)."""

    def __init__(
        self,
        results: Results,
        scenario: str,
        scheduled: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.results = results
        self.scenario = scenario
        self.scheduled = scheduled
        self.due = scheduled
        self.clock = clock
        self.current = "start"

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.current = name
        yield
        done = self.clock()
        self.results.record_step(f"{self.scenario}.{name}", self.due, done)
        self.due = done


@dataclass
class Browser:
    """One simulated person (or app backend): cookies, JWKS, tokens, across flows."""

    http: Http
    target: Target
    number: int
    keys: KeySet | None = None
    signed_in: bool = False
    refresh_token: str | None = None
    app_token: tuple[str, float] | None = None  # client-credentials token, expiry

    @property
    def username(self) -> str:
        return self.target.username(self.number)

    # -------------------------------------------------------------- helpers

    def expect(self, reply: Reply, *statuses: int) -> Reply:
        if reply.status in statuses:
            return reply
        if reply.status == 0:
            raise CheckFailed(reply.error or "connection")
        if reply.status in (400, 401) and reply.body.startswith(b"{"):
            try:
                error = json.loads(reply.body).get("error")
            except ValueError:
                error = None
            if isinstance(error, str) and error.isidentifier():
                raise CheckFailed(f"http_{reply.status}_{error}")
        raise CheckFailed(f"http_{reply.status}")

    def jwks(self, refetch: bool = False) -> KeySet:
        """Fetched once per browser; fetched again only for an unknown ``kid`` (rotation)."""
        if self.keys is None or refetch:
            reply = self.expect(self.http.request("GET", self.target.jwks_uri, name="jwks"), 200)
            try:
                self.keys = KeySet.import_key_set(reply.json())  # type: ignore[arg-type]
            except CheckFailed:
                raise
            except Exception:
                raise CheckFailed("jwks_invalid") from None
        return self.keys

    def verify(self, token: str, *, nonce: str | None, what: str = "id_token") -> dict[str, Any]:
        audience = self.target.client_id if what == "id_token" else None
        kwargs: dict[str, Any] = {"issuer": self.target.issuer, "audience": audience}
        try:
            return verify_jwt(token, self.jwks(), nonce=nonce, what=what, **kwargs)
        except CheckFailed as exc:
            if not exc.kind.endswith("_unknown_key"):
                raise
        return verify_jwt(token, self.jwks(refetch=True), nonce=nonce, what=what, **kwargs)

    def authorize_url(self, scope: str) -> tuple[str, str, str, str]:
        """(url, state, nonce, code_verifier) for a fresh authorization request."""
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        verifier, challenge = pkce_pair()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.target.client_id,
                "redirect_uri": self.target.redirect_uri,
                "scope": scope,
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.target.authorization_endpoint}?{query}", state, nonce, verifier

    def client_auth(self) -> tuple[str, str]:
        return (self.target.client_id, self.target.client_secret)

    def follow_to_callback(self, reply: Reply, url: str, name: str, hops: int = 6) -> str:
        """Follow redirects (GET) until one points at our redirect URI; return that URL."""
        for _ in range(hops):
            if reply.status not in (301, 302, 303, 307):
                raise CheckFailed(f"unexpected_{reply.status}_at_{name}")
            location = reply.header("location")
            if not location:
                raise CheckFailed("redirect_without_location")
            url = urljoin(url, location)
            if url.startswith(self.target.redirect_uri):
                return url
            reply = self.http.request("GET", url, name=name)
        raise CheckFailed("too_many_redirects")

    def redeem(self, flow: Flow, code: str, verifier: str, nonce: str) -> dict[str, Any]:
        """Token request (RFC 6749 §4.1.3 + RFC 7636 §4.5) and the ID token checks."""
        with flow.step("token"):
            reply = self.http.request(
                "POST",
                self.target.token_endpoint,
                name="token",
                form={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.target.redirect_uri,
                    "code_verifier": verifier,
                },
                auth=self.client_auth(),
            )
            tokens = self.expect(reply, 200).json()
            if str(tokens.get("token_type", "")).lower() != "bearer":
                raise CheckFailed("token_type")
            if not tokens.get("access_token"):
                raise CheckFailed("no_access_token")
            claims = self.verify(str(tokens.get("id_token", "")), nonce=nonce)
            if tokens.get("refresh_token"):
                self.refresh_token = str(tokens["refresh_token"])
        with flow.step("userinfo"):
            reply = self.http.request(
                "GET",
                self.target.userinfo_endpoint,
                name="userinfo",
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
            info = self.expect(reply, 200).json()
            # OIDC Core §5.3.2: the sub in the UserInfo Response MUST be verified to exactly
            # match the sub Claim in the ID Token.
            if info.get("sub") != claims["sub"]:
                raise CheckFailed("userinfo_sub_mismatch")
        return tokens

    def password_sign_in(self, flow: Flow, scope: str) -> dict[str, Any]:
        """A new browser signs in with the form (CSRF field included) and lands an app."""
        self.http.clear_cookies()
        self.signed_in = False
        url, state, nonce, verifier = self.authorize_url(scope)
        start = url
        if self.target.login_start == "homeroom":
            parts = urlsplit(url)
            after = url if self.target.login_next == "url" else f"{parts.path}?{parts.query}"
            start = f"{self.target.url}/login?" + urlencode(
                {"district": self.target.district, "next": after}
            )
        with flow.step("login_page"):
            page_url = start
            reply = self.http.request("GET", page_url, name="login_page")
            for _ in range(4):  # a provider may redirect to its login page first
                location = reply.header("location")
                if reply.status not in (302, 303) or not location:
                    break
                page_url = urljoin(page_url, location)
                reply = self.http.request("GET", page_url, name="login_page")
            self.expect(reply, 200)
            form = find_login_form(reply.body.decode("utf-8", "replace"), page_url)
        with flow.step("login_submit"):
            assert form.username_field is not None and form.password_field is not None
            fields = {
                **form.fields,
                form.username_field: self.username,
                form.password_field: self.target.password,
            }
            reply = self.http.request(
                form.method.upper(), form.action, name="login_submit", form=fields
            )
            callback = self.follow_to_callback(reply, form.action, name="authorize")
            code = callback_code(callback, self.target.redirect_uri, state)
        tokens = self.redeem(flow, code, verifier, nonce)
        self.signed_in = True
        return tokens

    def badge_sign_in(self, flow: Flow) -> None:
        """A child's browser opens the badge page the QR code points at, the page's script
        posts the scanned payload, and the portal's launchpad opens."""
        self.http.clear_cookies()
        self.signed_in = False
        payload = self.target.badge(self.number)
        parts = urlsplit(payload)
        page_url = self.target.url + parts.path  # the seed's issuer may not be --url
        with flow.step("badge_page"):
            reply = self.expect(self.http.request("GET", page_url, name="badge_page"), 200)
            form = find_form(reply.body.decode("utf-8", "replace"), page_url, "payload")
        with flow.step("badge_submit"):
            reply = self.http.request(
                "POST",
                form.action,
                name="badge_submit",
                form={**form.fields, "payload": payload},
            )
            location = reply.header("location") if reply.status == 303 else None
            if location is None:
                raise CheckFailed(f"badge_http_{reply.status}" if reply.status else "connection")
            launchpad = urljoin(form.action, location)
            if not urlsplit(launchpad).path.endswith("/apps"):
                raise CheckFailed("badge_not_to_launchpad")
        with flow.step("launchpad"):
            self.expect(self.http.request("GET", launchpad, name="launchpad"), 200)
        self.signed_in = True

    def app_access_token(self, flow: Flow) -> str:
        if self.app_token is not None and self.app_token[1] > time.time() + 5:
            return self.app_token[0]
        with flow.step("token"):
            token, expires_in = client_credentials_grant(self)
        self.app_token = (token, time.time() + expires_in)
        return token


def client_credentials_grant(browser: Browser) -> tuple[str, float]:
    """RFC 6749 §4.4.2–4.4.3, with Homeroom's ``district`` parameter naming the tenant."""
    form = {"grant_type": "client_credentials"}
    if browser.target.district_param:
        form["district"] = browser.target.district
    if browser.target.client_credentials_scope:
        form["scope"] = browser.target.client_credentials_scope
    t = browser.target
    auth = (t.cc_client_id, t.cc_client_secret) if t.cc_client_id else browser.client_auth()
    reply = browser.http.request("POST", t.token_endpoint, name="token", form=form, auth=auth)
    body = browser.expect(reply, 200).json()
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise CheckFailed("no_access_token")
    if str(body.get("token_type", "")).lower() != "bearer":
        raise CheckFailed("token_type")
    expires_in = body.get("expires_in")
    if not isinstance(expires_in, int | float) or expires_in <= 0:
        raise CheckFailed("expires_in")
    if token.count(".") == 2:  # a JWT access token (RFC 9068): check it as an API would
        browser.verify(token, nonce=None, what="access_token")
    return token, float(expires_in)


# ------------------------------------------------------------------ scenarios


def health(b: Browser, flow: Flow) -> None:
    for path in ("/healthz", "/readyz"):
        with flow.step(path.strip("/")):
            reply = b.expect(b.http.request("GET", b.target.url + path, name=path), 200)
            if reply.json().get("status") != "ok":
                raise CheckFailed(f"{path.strip('/')}_not_ok")


def instant_login(b: Browser, flow: Flow) -> None:
    """A signed-in student clicks an app on the launchpad: no password, one round trip each
    for authorize, token and userinfo."""
    if not b.signed_in:
        b.password_sign_in(flow, b.target.scope)  # first flow of this browser: sign in
        return
    _app_sign_in(b, flow)


def _app_sign_in(b: Browser, flow: Flow) -> None:
    """An app's sign-in with the browser's live session: no form, one round trip each for
    authorize, token and userinfo."""
    url, state, nonce, verifier = b.authorize_url(b.target.scope)
    with flow.step("authorize"):
        reply = b.http.request("GET", url, name="authorize")
        location = reply.header("location") if reply.status in (302, 303) else None
        if location is None:
            if not _overloaded(reply):
                b.signed_in = False  # the session ended (timeout, logout): sign in next time
            # An overload answer (429, 5xx) or no answer at all says nothing about the
            # session: the student's browser still has its cookie and clicks the app again,
            # as this browser will. Signing in again would add an argon2id verification to
            # a server already behind, which no real morning does.
            raise CheckFailed(f"authorize_http_{reply.status}" if reply.status else "connection")
        if not urljoin(url, location).startswith(b.target.redirect_uri):
            b.signed_in = False
            raise CheckFailed("authorize_needs_interaction")
        code = callback_code(urljoin(url, location), b.target.redirect_uri, state)
    b.redeem(flow, code, verifier, nonce)


def _overloaded(reply: Reply) -> bool:
    """No answer (connection error, timeout), rate limited, or a server error."""
    return reply.status == 0 or reply.status == 429 or reply.status >= 500


def password_login(b: Browser, flow: Flow) -> None:
    b.password_sign_in(flow, b.target.scope)


def badge_login(b: Browser, flow: Flow) -> None:
    """A fresh browser signs in with the student's QR badge on the district portal, then
    opens an app from the launchpad: authorize → token → userinfo, verified as for an
    instant login."""
    b.badge_sign_in(flow)
    _app_sign_in(b, flow)


def refresh(b: Browser, flow: Flow) -> None:
    """Rotation (OAuth 2.0 Security BCP §4.14.2): each use returns a new refresh token."""
    if b.refresh_token is None:
        b.password_sign_in(flow, b.target.refresh_scope)
        if b.refresh_token is None:
            raise CheckFailed("no_refresh_token_issued")
        return
    old = b.refresh_token
    with flow.step("refresh"):
        reply = b.http.request(
            "POST",
            b.target.token_endpoint,
            name="refresh",
            form={"grant_type": "refresh_token", "refresh_token": old},
            auth=b.client_auth(),
        )
        if reply.status != 200:
            b.refresh_token = None  # start a new family next time
        tokens = b.expect(reply, 200).json()
        if not tokens.get("access_token"):
            raise CheckFailed("no_access_token")
        new = tokens.get("refresh_token")
        if not isinstance(new, str) or not new or new == old:
            b.refresh_token = None
            raise CheckFailed("refresh_not_rotated")
        b.refresh_token = new
        if tokens.get("id_token"):
            b.verify(str(tokens["id_token"]), nonce=None)


def client_credentials(b: Browser, flow: Flow) -> None:
    with flow.step("token"):
        client_credentials_grant(b)


def roster_paging(b: Browser, flow: Flow) -> None:
    """An app syncing the roster it was shared: pages of OneRoster 1.1 ``users``."""
    token = b.app_access_token(flow)
    size = b.target.roster_page_size
    for page in range(b.target.roster_pages):
        with flow.step("page"):
            url = f"{b.target.url}{b.target.roster_path}?" + urlencode(
                {"limit": size, "offset": page * size}
            )
            reply = b.http.request(
                "GET", url, name="roster_page", headers={"Authorization": f"Bearer {token}"}
            )
            if reply.status == 401:
                b.app_token = None
            users = b.expect(reply, 200).json().get("users")
            if not isinstance(users, list):
                raise CheckFailed("roster_no_users_list")
            if any(not isinstance(u, dict) or not u.get("sourcedId") for u in users):
                raise CheckFailed("roster_user_without_sourcedId")
        if len(users) < size:
            break


SCENARIO_FLOWS: dict[str, Callable[[Browser, Flow], None]] = {
    "health": health,
    "instant_login": instant_login,
    "password_login": password_login,
    "badge_login": badge_login,
    "refresh": refresh,
    "client_credentials": client_credentials,
    "roster_paging": roster_paging,
}
