"""A web process's life, run as its own process by ``test_log_redaction``.

Starts the app from the environment (as ``homeroom serve`` does), serves requests, creates
an app (resolving the client-secret HMAC key), issues a session cookie (resolving the
session key), stores and reads an application secret, and then logs the resolved values
the careless ways real code does: in a DSN, in an exception's traceback, through a stdlib
logger. Writes the values it resolved (hex) to the file named in argv[1] so the test can
search the captured logs for them.
"""

from __future__ import annotations

import logging
import sys

import structlog
from fastapi.testclient import TestClient
from starlette.responses import Response

from homeroom.secrets import ADMIN, WEB
from homeroom.web.app import from_env


def main(out_path: str) -> None:
    app = from_env()
    container = app.state.container
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
    hmac_key = container.client_secret_key
    container.apps.create_app("Reader", ["https://reader.example/cb"])
    container.session_cookie.write(Response(), "sess-123")
    session_key = container.secrets.get_or_create("session-cookie-key")
    ref = "secret://development/homeroom-web/upstream-idp-client-secret"
    container.secret_store.put(ADMIN, ref, b"upstream-client-secret-value-77")
    upstream = container.secret_store.get(WEB, ref).value

    log = structlog.get_logger("homeroom.flow")
    log.info("connecting", dsn=f"postgresql://idp:{upstream.decode()}@db/x")
    log.info("keys", session=session_key.hex(), hmac=hmac_key.hex(), nested={"k": [upstream]})
    try:
        raise RuntimeError(f"upstream rejected {upstream.decode()}")
    except RuntimeError:
        log.exception("upstream_failed")
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    logging.getLogger("uvicorn.error").error("bad key %s", session_key.hex())
    with open(out_path, "w") as fh:
        fh.write("\n".join(v.hex() for v in (hmac_key, session_key, upstream)))
    container.close()


if __name__ == "__main__":
    main(sys.argv[1])
