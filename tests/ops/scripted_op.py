"""A small, standard-conforming OpenID Provider for testing the probe's step reporting.

It is the probe's counterpart, not Homeroom: the probe is a client of the protocol, and this
provider lets each step be broken on purpose (``broken = "token"``) to check that the probe
fails at that step and names it. Homeroom's own OP replaces it in the end-to-end test once
the OIDC endpoints are merged.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

ISSUER = "http://testserver"
CLIENT_ID = "app_probe"
CLIENT_SECRET = "probe-secret"
REDIRECT_URI = "http://app.example/callback"
USERNAME, PASSWORD = "student01", "maple-leaf-7"

_FORM = """<html><body><form method="post" action="/d/{d}/signin">
<input type="hidden" name="csrf" value="{csrf}">
<input type="text" name="username"><input type="password" name="password">
<button>Sign in</button></form></body></html>"""


class ScriptedOP:
    def __init__(self) -> None:
        self.broken: str | None = None
        self.key = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256"})
        self.rogue = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256"})
        self.csrf = secrets.token_urlsafe(8)
        self.sessions: set[str] = set()
        self.codes: dict[str, dict[str, str]] = {}
        self.tokens: dict[str, str] = {}
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/d/{d}", self.portal),
                Route("/d/{d}/signin", self.signin, methods=["POST"]),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
                Route("/userinfo", self.userinfo),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        if self.broken == "discovery":
            return Response(status_code=404)
        return JSONResponse(
            {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
                "userinfo_endpoint": f"{ISSUER}/userinfo",
            }
        )

    async def portal(self, request: Request) -> Response:
        if request.cookies.get("sid") in self.sessions:
            return HTMLResponse("<html><body>Your apps</body></html>")
        return HTMLResponse(_FORM.format(d=request.path_params["d"], csrf=self.csrf))

    async def signin(self, request: Request) -> Response:
        form = await request.form()
        ok = (
            form.get("csrf") == self.csrf
            and form.get("username") == USERNAME
            and form.get("password") == PASSWORD
            and self.broken != "portal_sign_in"
        )
        if not ok:
            return HTMLResponse(_FORM.format(d=request.path_params["d"], csrf=self.csrf))
        sid = secrets.token_urlsafe(16)
        self.sessions.add(sid)
        response = RedirectResponse(f"/d/{request.path_params['d']}", status_code=303)
        response.set_cookie("sid", sid, httponly=True)
        return response

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if self.broken == "authorize" or request.cookies.get("sid") not in self.sessions:
            return RedirectResponse("/d/maplewood", status_code=302)  # the silent redirect
        code = secrets.token_urlsafe(16)
        self.codes[code] = dict(q)
        query = urlencode({"code": code, "state": q["state"]})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if self.broken == "token" or grant is None or grant["code_challenge"] != challenge:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": "usr_probe",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
        }
        key = self.rogue if self.broken == "id_token" else self.key
        id_token = jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)
        access = secrets.token_urlsafe(16)
        self.tokens[access] = "usr_probe"
        return JSONResponse({"access_token": access, "token_type": "Bearer", "id_token": id_token})

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def userinfo(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        sub = self.tokens.get(token)
        if sub is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"sub": "usr_other" if self.broken == "userinfo" else sub})
