"""A full sign-in run with every log at DEBUG, run as its own process by
``test_signin_logs``.

Starts the app from the environment (as ``homeroom serve`` does) with stdlib logging at
DEBUG (SQLAlchemy's statement and parameter log included), then: portal password sign-in →
authorize (PKCE) → token → userinfo → refresh → RP-initiated logout and portal logout, a
client-credentials grant and a failed client authentication. Then it logs every key of the
run on purpose, the careless ways real code does (structlog fields, an f-string, a
traceback, a propagating stdlib logger, ``uvicorn.error``), and a harmless canary the same
ways. Credentials a user or an app sends (the password, tokens, the client secret) are not
logged on purpose: the app never learns them as secrets to redact, so it must simply never
log them; the test searches for them all the same. After the line ``REDACTION-OFF`` it
clears the redactor and logs one key again: the test proves with that part that its search
would find a value that slipped through.

argv[1]: a file to write, one ``name hex`` line per secret value (and the canary).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import sys
from urllib.parse import parse_qs, urlencode, urlsplit

import structlog
from fastapi.testclient import TestClient

from homeroom.oidc.keys import ALGORITHMS
from homeroom.roster.models import Role
from homeroom.secrets.redaction import REDACTOR
from homeroom.secrets.setup import kek_file
from homeroom.web.app import from_env

REDIRECT = "https://reader.example/cb"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def run_flow(out_path: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG, force=True)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    app = from_env()
    container = app.state.container
    issuer = container.settings.issuer
    password = "pw-" + secrets.token_urlsafe(12)
    admin = container.roster_admin
    district = admin.create_district("lakeside", "Lakeside Unified")
    admin.create_user(
        "lakeside", username="ana", role=Role.STUDENT, given_name="Ana", password=password
    )
    new = container.apps.create_app(
        "Reader", [REDIRECT], post_logout_redirect_uris=["https://reader.example/bye"]
    )
    container.apps.connect(district, new.app.id)
    client_id, client_secret = new.app.id, str(new.client_secret)
    values: dict[str, bytes] = {
        "password": password.encode(),
        "client_secret": client_secret.encode(),
    }

    with TestClient(app, base_url=issuer) as client:
        # Portal password sign-in.
        signed_in = client.post(
            "/d/lakeside/signin",
            data={
                "username": "ana",
                "password": password,
                "csrf_token": _csrf(client, "/d/lakeside"),
            },
            follow_redirects=False,
        )
        assert signed_in.status_code == 303, signed_in.text
        values["session_cookie"] = str(client.cookies.get("homeroom_session")).encode()
        # Authorization code with PKCE.
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid profile offline_access",
            "state": "st-1",
            "nonce": "n-1",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
        authorized = client.get("/authorize?" + urlencode(query), follow_redirects=False)
        assert authorized.status_code == 302, authorized.text
        code = _query(authorized.headers["location"])["code"]
        values["authorization_code"] = code.encode()
        tokens = client.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
            auth=(client_id, client_secret),
        )
        assert tokens.status_code == 200, tokens.text
        body = tokens.json()
        values["refresh_token"] = body["refresh_token"].encode()
        values["access_token"] = body["access_token"].encode()
        userinfo = client.get(
            "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert userinfo.status_code == 200, userinfo.text
        refreshed = client.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
            auth=(client_id, client_secret),
        )
        assert refreshed.status_code == 200, refreshed.text
        values["refresh_token_2"] = refreshed.json()["refresh_token"].encode()
        # An app's own token, and a failed client authentication.
        service = client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)
        )
        assert service.status_code == 200, service.text
        values["service_token"] = service.json()["access_token"].encode()
        wrong = client_secret[:-4] + "AAAA"
        failed = client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=(client_id, wrong)
        )
        assert failed.status_code == 401 and failed.json()["error"] == "invalid_client"
        values["wrong_client_secret"] = wrong.encode()
        # RP-initiated logout, then the portal's own sign-out.
        logout = client.get(
            "/logout",
            params={
                "id_token_hint": refreshed.json()["id_token"],
                "post_logout_redirect_uri": "https://reader.example/bye",
            },
            follow_redirects=False,
        )
        assert logout.status_code in (200, 302, 303), logout.text
        out = client.post(
            "/d/lakeside/logout",
            data={"csrf_token": _csrf(client, "/d/lakeside")},
            follow_redirects=False,
        )
        assert out.status_code == 303, out.text

    # Every key the run used: resolved from the store, so the redactor knows them.
    credentials = set(values)
    values["session_cookie_key"] = container.session_keys.get().current.value
    values["client_secret_hmac_key"] = container.client_secret_key
    values["csrf_key"] = container.secrets.get_or_create("csrf-key")
    for alg in ALGORITHMS:
        jwk = container.key_ring.signing_key(alg).key
        private = jwk.as_dict(private=True)
        values[f"signing_{alg}_jwk"] = json.dumps(private).encode()
        values[f"signing_{alg}_d"] = str(private["d"]).encode()
        values[f"signing_{alg}_pem"] = jwk.as_pem(private=True)
    kek = json.loads(kek_file(container.settings).read_text())
    values["kek"] = base64.b64decode(kek["keys"][0])

    canary = "canary-" + secrets.token_hex(12)
    log = structlog.get_logger("homeroom.flow")
    stdlib = logging.getLogger("homeroom.flow.stdlib")  # propagates to the root handlers
    keys = [(n, v) for n, v in values.items() if n not in credentials]
    for name, value in [*keys, ("canary", canary.encode())]:
        text = value.decode("utf-8", "replace")
        log.debug("careless", what=name, value=text, raw=value, hexed=value.hex())
        log.info(f"careless {name}: {text}")
        try:
            raise RuntimeError(f"rejected {text}")
        except RuntimeError:
            log.exception("careless_traceback", what=name)
            stdlib.exception("careless %s %s", name, text)
        stdlib.debug("careless %s=%s", name, base64.b64encode(value).decode())
        logging.getLogger("uvicorn.error").error("careless %s %s", name, text)

    with open(out_path, "w") as fh:
        fh.write("".join(f"{n} {v.hex()}\n" for n, v in values.items()))
        fh.write(f"canary {canary.encode().hex()}\n")
    sys.stdout.flush()
    sys.stderr.flush()

    # The control: with the redactor emptied, a value gets through (the search must see it).
    print("REDACTION-OFF", file=sys.stderr, flush=True)
    REDACTOR.clear()
    log.info("leaked", value=values["session_cookie_key"].hex())
    container.close()


if __name__ == "__main__":
    run_flow(sys.argv[1])
