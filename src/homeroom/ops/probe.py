"""The end-to-end probe: sign in like a student, then log in to an app, and time each step.

A synthetic check that only signs in to the portal once missed a 25-minute outage of app
logins. This probe walks the whole path a child's click takes, against the standard
protocol (so it works against any OpenID Provider, Homeroom included):

1. ``discovery``      GET ``/.well-known/openid-configuration`` (OIDC Discovery 1.0 §4);
                      ``issuer`` MUST equal the URL it was fetched for (§4.3).
2. ``portal_sign_in`` the district portal's sign-in form, filled like a browser would
                      (hidden fields such as CSRF tokens kept), by password.
                      Default page: the district portal ``/d/<slug>``, where students
                      start; its session is what the app login then relies on.
3. ``authorize``      authorization request with the portal session (RFC 6749 §4.1.1,
                      PKCE S256 per RFC 7636 §4.3); MUST end in a redirect to the app with
                      ``code`` and the same ``state`` (§4.1.2). A page, a login form or a
                      redirect anywhere else is a failure, even with a 200.
4. ``token``          code + ``code_verifier`` at the token endpoint (RFC 6749 §4.1.3).
5. ``id_token``       signature against the JWKS, ``iss``, ``aud``, ``exp`` and ``nonce``
                      (OIDC Core §3.1.3.7), with joserfc.
6. ``userinfo``       with the access token; ``sub`` MUST equal the ID token's (Core §5.3.2).

Each step's latency is reported; the first failure stops the run and names its step.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urljoin, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = [
    "STEPS",
    "ProbeConfig",
    "ProbeMetrics",
    "ProbeReport",
    "StepResult",
    "run_probe",
]

STEPS = ("discovery", "portal_sign_in", "authorize", "token", "id_token", "userinfo")


@dataclass(frozen=True)
class ProbeConfig:
    url: str
    """The issuer / base URL of the deployment, e.g. ``https://sso.example.org``."""
    district: str
    username: str
    password: str
    client_id: str
    redirect_uri: str
    client_secret: str | None = None
    portal_path: str = "/d/{district}"
    """The district portal, the path students take; ``/login?district={district}`` probes
    the provider's own sign-in page instead."""
    scope: str = "openid profile"
    timeout_s: float = 10.0


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class ProbeReport:
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return len(self.steps) == len(STEPS) and all(s.ok for s in self.steps)

    @property
    def failed(self) -> StepResult | None:
        return next((s for s in self.steps if not s.ok), None)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        failed = self.failed
        return {
            "ok": self.ok,
            "failed_step": failed.name if failed else None,
            "seconds": round(self.seconds, 4),
            "steps": [asdict(s) | {"seconds": round(s.seconds, 4)} for s in self.steps],
        }


class StepFailed(Exception):
    """One step's failure; the message is the detail shown to the operator."""


# ------------------------------------------------------------------ HTML form reading


class _Forms(HTMLParser):
    """Collects forms with their action, method and inputs (name, type, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get")})
            self.forms[-1]["inputs"] = []
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["inputs"].append(
                (a["name"], a.get("type", "text").lower(), a.get("value", ""))
            )


def _password_form(html: str) -> dict[str, Any] | None:
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        if any(kind == "password" for _, kind, _ in form["inputs"]):
            return form
    return None


# ------------------------------------------------------------------ the steps


class _Run:
    def __init__(self, config: ProbeConfig, client: httpx.Client) -> None:
        self.c = config
        self.http = client
        self.meta: dict[str, Any] = {}
        self.state = secrets.token_urlsafe(16)
        self.nonce = secrets.token_urlsafe(16)
        self.verifier = secrets.token_urlsafe(48)
        self.code = ""
        self.tokens: dict[str, Any] = {}
        self.sub = ""

    def discovery(self) -> str:
        r = self.http.get(self.c.url + "/.well-known/openid-configuration")
        if r.status_code != 200:
            raise StepFailed(f"discovery document answered HTTP {r.status_code}")
        try:
            meta = r.json()
        except ValueError:
            raise StepFailed("discovery document is not JSON") from None
        need = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        missing = [k for k in (*need, "userinfo_endpoint") if not meta.get(k)]
        if missing:
            raise StepFailed(f"discovery document lacks {', '.join(missing)}")
        if meta["issuer"] != self.c.url:
            raise StepFailed(f"issuer {meta['issuer']!r} is not {self.c.url!r}")
        self.meta = meta
        return "ok"

    def portal_sign_in(self) -> str:
        page_url = self.c.url + self.c.portal_path.format(district=self.c.district)
        page = self.http.get(page_url, follow_redirects=True)
        if page.status_code != 200:
            raise StepFailed(f"portal page answered HTTP {page.status_code}")
        form = _password_form(page.text)
        if form is None:
            raise StepFailed("no password sign-in form on the portal page")
        data: dict[str, str] = {}
        user_field = ""
        for name, kind, value in form["inputs"]:
            if kind == "password":
                data[name] = self.c.password
            elif kind in ("text", "email", "username") and not user_field:
                user_field = name
                data[name] = self.c.username
            elif kind in ("hidden", "text", "email"):
                data[name] = value
        if not user_field:
            raise StepFailed("the sign-in form has no username field")
        target = urljoin(str(page.url), form["action"] or str(page.url))
        r = self.http.post(target, data=data, follow_redirects=True)
        if r.status_code >= 400:
            raise StepFailed(f"sign-in answered HTTP {r.status_code}")
        if _password_form(r.text) is not None:
            raise StepFailed("sign-in form shown again: the credentials were refused")
        if not self.http.cookies:
            raise StepFailed("signed in but no session cookie was set")
        return f"signed in at {urlsplit(page_url).path}"

    def authorize(self) -> str:
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.c.client_id,
                "redirect_uri": self.c.redirect_uri,
                "scope": self.c.scope,
                "state": self.state,
                "nonce": self.nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        url = f"{self.meta['authorization_endpoint']}?{query}"
        for _ in range(10):
            r = self.http.get(url, follow_redirects=False)
            if r.status_code not in (302, 303, 307):
                raise StepFailed(
                    f"stopped at {urlsplit(url).path} with HTTP {r.status_code} instead of "
                    "redirecting to the app"
                )
            url = urljoin(url, r.headers.get("location", ""))
            if url.split("?", 1)[0] == self.c.redirect_uri:
                break
        else:
            raise StepFailed("too many redirects")
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        if "error" in params:
            raise StepFailed(f"{params['error']}: {params.get('error_description', '')}".strip())
        if params.get("state") != self.state:
            raise StepFailed("state in the redirect does not match the request")
        if not params.get("code"):
            raise StepFailed("redirect to the app carries no code")
        self.code = params["code"]
        return "ok"

    def token(self) -> str:
        data = {
            "grant_type": "authorization_code",
            "code": self.code,
            "redirect_uri": self.c.redirect_uri,
            "code_verifier": self.verifier,
        }
        headers: dict[str, str] = {}
        if self.c.client_secret:
            # client_secret_basic, RFC 6749 §2.3.1: form-encode both, then HTTP Basic.
            pair = f"{quote_plus(self.c.client_id)}:{quote_plus(self.c.client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            data["client_id"] = self.c.client_id
        r = self.http.post(self.meta["token_endpoint"], data=data, headers=headers)
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code != 200:
            raise StepFailed(f"HTTP {r.status_code} {body.get('error', '')}".strip())
        if not body.get("id_token") or not body.get("access_token"):
            raise StepFailed("token response lacks id_token or access_token")
        if str(body.get("token_type", "")).lower() != "bearer":
            raise StepFailed(f"token_type {body.get('token_type')!r} is not Bearer")
        self.tokens = body
        return "ok"

    def id_token(self) -> str:
        r = self.http.get(self.meta["jwks_uri"])
        if r.status_code != 200:
            raise StepFailed(f"JWKS answered HTTP {r.status_code}")
        try:
            keys = KeySet.import_key_set(r.json())
            token = jwt.decode(self.tokens["id_token"], keys, algorithms=["ES256", "RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.meta["issuer"]},
                aud={"essential": True, "value": self.c.client_id},
                nonce={"essential": True, "value": self.nonce},
                sub={"essential": True},
                exp={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise StepFailed(f"ID token rejected: {exc}") from None
        self.sub = str(token.claims["sub"])
        return f"sub {self.sub}"

    def userinfo(self) -> str:
        r = self.http.get(
            self.meta["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {self.tokens['access_token']}"},
        )
        if r.status_code != 200:
            raise StepFailed(f"HTTP {r.status_code}")
        try:
            sub = r.json().get("sub")
        except ValueError:
            raise StepFailed("userinfo is not JSON") from None
        if sub != self.sub:
            raise StepFailed("userinfo sub differs from the ID token's")
        return "ok"


def run_probe(config: ProbeConfig, client: httpx.Client | None = None) -> ProbeReport:
    """Run every step in order; stop at the first failure. Never raises for a failed step."""
    own = client is None
    http = client or httpx.Client(timeout=config.timeout_s)
    http.cookies.clear()  # every run is a fresh sign-in, as a child's first click would be
    run = _Run(config, http)
    report = ProbeReport()
    try:
        for name in STEPS:
            step: Callable[[], str] = getattr(run, name)
            started = time.perf_counter()
            try:
                detail, ok = step(), True
            except StepFailed as exc:
                detail, ok = str(exc), False
            except httpx.HTTPError as exc:
                detail, ok = f"{type(exc).__name__}: {exc}", False
            report.steps.append(StepResult(name, ok, time.perf_counter() - started, detail))
            if not ok:
                break
    finally:
        if own:
            http.close()
    return report


class ProbeMetrics:
    """The probe's own series, in its own registry (served on a port or written to a file)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.step_seconds = Gauge(
            "homeroom_probe_step_seconds",
            "Latency of each step in the last run",
            ["step"],
            registry=self.registry,
        )
        self.step_ok = Gauge(
            "homeroom_probe_step_success",
            "1 when the step passed in the last run, 0 when it failed or did not run",
            ["step"],
            registry=self.registry,
        )
        self.runs = Counter(
            "homeroom_probe_runs_total",
            "Probe runs by outcome and the step that failed (none when passed)",
            ["outcome", "failed_step"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            "homeroom_probe_last_success_timestamp_seconds",
            "When the probe last passed end to end (alert when this grows old)",
            registry=self.registry,
        )

    def record(self, report: ProbeReport) -> None:
        seen = {s.name: s for s in report.steps}
        for name in STEPS:
            result = seen.get(name)
            self.step_ok.labels(step=name).set(1 if result and result.ok else 0)
            if result is not None:
                self.step_seconds.labels(step=name).set(result.seconds)
        failed = report.failed
        self.runs.labels(
            outcome="pass" if report.ok else "fail",
            failed_step=failed.name if failed else "none",
        ).inc()
        if report.ok:
            self.last_success.set_to_current_time()
