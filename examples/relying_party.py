"""A minimal app that offers "Log in with Homeroom", using Authlib (Starlette client).

Run it::

    pip install authlib httpx starlette itsdangerous uvicorn
    export HOMEROOM_ISSUER=http://127.0.0.1:8000
    export CLIENT_ID=app_... CLIENT_SECRET=...   # from `homeroom app create --json`
    uvicorn relying_party:app --port 5000 --factory   # or: python relying_party.py

Register ``http://127.0.0.1:5000/callback`` as the redirect URI and
``http://127.0.0.1:5000/`` as the post-logout redirect URI. Nothing here is specific to
Homeroom: it is the standard OpenID Connect code flow with PKCE, discovered from
``<issuer>/.well-known/openid-configuration``.
"""

from __future__ import annotations

import html
import os
import secrets
from urllib.parse import urlencode

from authlib.integrations.starlette_client import OAuth
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route


def create_app(issuer: str, client_id: str, client_secret: str, base_url: str) -> Starlette:
    oauth = OAuth()
    homeroom = oauth.register(
        "homeroom",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )

    async def home(request: Request) -> Response:
        user = request.session.get("user")
        if not user:
            return HTMLResponse('<a href="login">Log in with Homeroom</a>')
        name = html.escape(user.get("name") or user["sub"])
        return HTMLResponse(f'<p>Hello, {name}!</p><a href="logout">Log out</a>')

    async def login(request: Request) -> Response:
        # Optional: send ?district=<slug> so the sign-in page knows the district.
        extra = (
            {"district": request.query_params["district"]}
            if "district" in request.query_params
            else {}
        )
        redirect: Response = await homeroom.authorize_redirect(
            request, f"{base_url}/callback", **extra
        )
        return redirect

    async def callback(request: Request) -> Response:
        token = await homeroom.authorize_access_token(request)  # verifies the ID token
        request.session["user"] = dict(token["userinfo"])
        request.session["id_token"] = token["id_token"]
        return RedirectResponse(f"{base_url}/", status_code=303)

    async def logout(request: Request) -> Response:
        metadata = await homeroom.load_server_metadata()
        id_token = request.session.get("id_token", "")
        request.session.clear()
        query = urlencode(
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": f"{base_url}/",
                "state": secrets.token_urlsafe(8),
            }
        )
        return RedirectResponse(f"{metadata['end_session_endpoint']}?{query}", status_code=303)

    return Starlette(
        routes=[
            Route("/", home),
            Route("/login", login),
            Route("/callback", callback),
            Route("/logout", logout),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32))],
    )


def app() -> Starlette:
    return create_app(
        os.environ.get("HOMEROOM_ISSUER", "http://127.0.0.1:8000"),
        os.environ["CLIENT_ID"],
        os.environ["CLIENT_SECRET"],
        os.environ.get("BASE_URL", "http://127.0.0.1:5000"),
    )


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, factory=True, port=5000)
