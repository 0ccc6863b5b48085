"""Drive the ASGI app in-process, with no HTTP server or test client in between, so that a
benchmark round is the server's own work for one flow (what a load run's "flows per server
CPU-second" measures, minus uvicorn's HTTP parsing)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.types import ASGIApp, Message

__all__ = ["Browser", "Flows"]


class Browser:
    """One browser: a cookie jar and ``request`` straight into the app."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1:8000") -> None:
        self.app = app
        self.host = host.encode()
        self.cookies: dict[str, str] = {}
        self.refresh_token: str | None = None  # this browser's own, for the refresh flow

    async def request(
        self,
        method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> tuple[int, dict[str, str], bytes]:
        raw = [(b"host", self.host)] + [(k.encode(), v.encode()) for k, v in headers]
        if self.cookies:
            jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            raw.append((b"cookie", jar.encode()))
        if body:
            raw.append((b"content-type", b"application/x-www-form-urlencoded"))
            raw.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0
        out_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    name, value = k.decode().lower(), v.decode()
                    if name == "set-cookie":
                        cookie, _, _ = value.partition(";")
                        key, _, val = cookie.partition("=")
                        self.cookies[key] = val
                    else:
                        out_headers[name] = value
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, out_headers, b"".join(chunks)


class Flows:
    """The load harness's two login flows, checked as it checks them (status codes, state,
    the code in the redirect, the sub of userinfo)."""

    def __init__(self, app: ASGIApp, data: dict[str, Any], redirect: str, password: str) -> None:
        self.app = app
        self.data = data
        self.redirect = redirect
        self.password = password
        creds = f"{data['app'].id}:{data['secret']}".encode()
        self.basic = "Basic " + base64.b64encode(creds).decode()

    def _authorization(self, scope: str = "openid profile") -> tuple[str, str]:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.data["app"].id,
                "redirect_uri": self.redirect,
                "scope": scope,
                "state": "st",
                "nonce": "nn",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return query, verifier

    async def _redeem(
        self,
        b: Browser,
        status: int,
        headers: dict[str, str],
        verifier: str,
        sub: str | None = None,
    ) -> None:
        assert status == 302, status
        query = parse_qs(urlsplit(headers["location"]).query)
        assert query["state"] == ["st"]
        form = {
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": self.redirect,
            "code_verifier": verifier,
        }
        auth = (("authorization", self.basic),)
        status, _, body = await b.request(
            "POST", "/token", body=urlencode(form).encode(), headers=auth
        )
        assert status == 200, body
        tokens = json.loads(body)
        b.refresh_token = tokens.get("refresh_token", b.refresh_token)
        bearer = (("authorization", "Bearer " + tokens["access_token"]),)
        status, _, body = await b.request("GET", "/userinfo", headers=bearer)
        assert status == 200 and json.loads(body)["sub"] == (sub or self.data["student"].id), body

    async def client_credentials(self, b: Browser) -> None:
        """One client-credentials grant (the app's own token)."""
        auth = (("authorization", self.basic),)
        status, _, body = await b.request(
            "POST", "/token", body=b"grant_type=client_credentials", headers=auth
        )
        assert status == 200 and json.loads(body)["token_type"] == "Bearer", body

    async def refresh(self, b: Browser) -> None:
        """One rotation of the browser's refresh token (the first call signs in for one)."""
        if b.refresh_token is None:
            b.cookies.clear()
            await self.password_login(b, scope="openid offline_access")
        auth = (("authorization", self.basic),)
        form = urlencode({"grant_type": "refresh_token", "refresh_token": b.refresh_token})
        status, _, body = await b.request("POST", "/token", body=form.encode(), headers=auth)
        assert status == 200, body
        b.refresh_token = json.loads(body)["refresh_token"]

    async def instant_login(self, b: Browser) -> None:
        """authorize with the session cookie → token → userinfo."""
        query, verifier = self._authorization()
        status, headers, _ = await b.request("GET", "/authorize", query)
        await self._redeem(b, status, headers, verifier)

    async def password_login(self, b: Browser, scope: str = "openid profile") -> None:
        """A new browser: sign-in page → form (CSRF, argon2id) → authorize → token → userinfo."""
        b.cookies.clear()
        query, verifier = self._authorization(scope)
        after = "/authorize?" + query
        slug = self.data["district"].slug
        status, _, page = await b.request(
            "GET", "/login", urlencode({"district": slug, "next": after})
        )
        csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        assert status == 200 and csrf, page
        form = {
            "csrf_token": csrf.group(1).decode(),
            "district": slug,
            "username": self.data["student"].username,
            "password": self.password,
            "next": after,
        }
        status, headers, _ = await b.request("POST", "/login", body=urlencode(form).encode())
        assert status == 303, status
        if headers["location"].startswith(self.redirect + "?"):
            status = 302  # straight on to the app (web.oidc.continue_authorization)
        else:
            location = urlsplit(headers["location"])
            status, headers, _ = await b.request("GET", location.path, location.query)
        await self._redeem(b, status, headers, verifier)

    async def badge_login(self, b: Browser) -> None:
        """A new browser: badge page → scanned payload (CSRF) → launchpad → authorize → token
        → userinfo, checked as the load harness's ``badge_login`` checks it."""
        b.cookies.clear()
        path = urlsplit(self.data["badge"]).path
        status, _, page = await b.request("GET", path)
        csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        assert status == 200 and csrf, page
        form = {"csrf_token": csrf.group(1).decode(), "payload": self.data["badge"]}
        status, headers, _ = await b.request("POST", path, body=urlencode(form).encode())
        assert status == 303 and headers["location"].endswith("/apps"), (status, headers)
        status, _, page = await b.request("GET", urlsplit(headers["location"]).path)
        assert status == 200 and b"/launch/" in page, page
        query, verifier = self._authorization()
        status, headers, _ = await b.request("GET", "/authorize", query)
        await self._redeem(b, status, headers, verifier, self.data["badge_user"].id)
