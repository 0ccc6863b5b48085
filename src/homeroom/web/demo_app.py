"""The demo relying party at ``/demo-app/``: a real OIDC client of this very server.

It reads its credentials from ``<data_dir>/demo-app.json`` (written by ``homeroom demo``)
and talks to the issuer over HTTP with Authlib, exactly as a third-party app would: login,
callback, a page showing who signed in (ID token and UserInfo claims), and RP-initiated
logout. Mounted only when that file exists.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from authlib.integrations.starlette_client import OAuth
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

__all__ = ["DEMO_FILE", "create_demo_app"]

DEMO_FILE = "demo-app.json"
_STYLE = (
    "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto}"
    "td{padding:.2rem .8rem;border-bottom:1px solid #ddd}</style>"
)


def _page(body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><title>Demo Reader</title>{_STYLE}<h1>Demo Reader</h1>{body}",
        headers={"Cache-Control": "no-store"},
    )


def create_demo_app(issuer: str, creds: dict[str, str], session_key: bytes) -> Starlette:
    base = f"{issuer}/demo-app"
    oauth = OAuth()
    client = oauth.register(
        "homeroom",
        client_id=creds["app_client_id"],
        client_secret=creds["app_client_secret"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )

    async def home(request: Request) -> Response:
        user = request.session.get("user")
        if not user:
            return _page(
                "<p>An example app that lets students sign in with Homeroom.</p>"
                f'<p><a href="{base}/login">Log in with Homeroom</a></p>'
            )
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
            for k, v in sorted(user.items())
        )
        name = html.escape(str(user.get("name") or user.get("sub")))
        return _page(
            f"<p>Signed in as <strong>{name}</strong>.</p><table>{rows}</table>"
            f'<p><a href="{base}/logout">Log out</a></p>'
        )

    async def login(request: Request) -> Response:
        """Also the app's ``initiate_login_uri`` (OIDC Core §4): a portal tile sends the
        browser here with ``iss`` (the OP to send the authentication request to) and
        ``login_hint``. This app trusts exactly one issuer: any other ``iss`` is refused,
        never followed (it would make the app an open launcher for any OP)."""
        iss = request.query_params.get("iss")
        if iss is not None and iss != issuer:
            return HTMLResponse(
                "<!doctype html><title>Demo Reader</title><h1>Unknown issuer</h1>",
                status_code=400,
                headers={"Cache-Control": "no-store"},
            )
        district = creds.get("district_slug")
        extra = {"district": district} if district else {}
        login_hint = request.query_params.get("login_hint")
        if login_hint and len(login_hint) <= 255:
            extra["login_hint"] = login_hint
        redirect: Response = await client.authorize_redirect(request, f"{base}/callback", **extra)
        return redirect

    async def callback(request: Request) -> Response:
        token = await client.authorize_access_token(request)
        profile = await client.userinfo(token=token)
        request.session["user"] = {**dict(token["userinfo"]), **dict(profile)}
        request.session["id_token"] = token["id_token"]
        return RedirectResponse(f"{base}/", status_code=303)

    async def logout(request: Request) -> Response:
        metadata = await client.load_server_metadata()
        query = urlencode(
            {
                "id_token_hint": request.session.get("id_token", ""),
                "post_logout_redirect_uri": f"{base}/",
            }
        )
        request.session.clear()
        return RedirectResponse(f"{metadata['end_session_endpoint']}?{query}", status_code=303)

    return Starlette(
        routes=[
            Route("/", home),
            Route("/login", login),
            Route("/callback", callback),
            Route("/logout", logout),
        ],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=session_key.hex(),
                session_cookie="demo_app_session",
                path="/demo-app",
                https_only=issuer.startswith("https://"),
            )
        ],
    )
