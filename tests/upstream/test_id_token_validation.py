"""OIDC Core §3.1.3.7 at the relying party: an ID token is accepted only with a valid
signature from the upstream's JWKS, our client_id in ``aud``, the configured ``iss``, a
future ``exp`` and the ``nonce`` we sent. Tokens are signed here with a real key; the JWKS
is the one the upstream would publish (seeded into the metadata cache, not mocked)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from homeroom.identity.upstream import UpstreamIdp, UpstreamProtocolError, _Cached
from homeroom.wiring import Container

ISSUER = "https://idp.example"
JWKS_URI = f"{ISSUER}/jwks"


def _claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    # Built at collection time, so the lifetime must outlast a long test session.
    base = {"iss": ISSUER, "aud": "client-1", "sub": "u1", "iat": now, "exp": now + 86_400}
    base["nonce"] = "n-1"
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("claims", "ok"),
    [
        (_claims(), True),
        (_claims(aud=["client-1", "other"]), True),
        (_claims(nonce="n-2"), False),
        (_claims(nonce=None), False),
        (_claims(aud="client-2"), False),
        (_claims(iss="https://evil.example"), False),
        (_claims(exp=int(time.time()) - 3600), False),
        (_claims(sub=None), False),
    ],
)
def test_id_token_rules(container: Container, claims: dict[str, Any], ok: bool) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    login = container.upstream_login
    login._cache[JWKS_URI] = _Cached({"keys": [key.as_dict(private=False)]}, time.monotonic() + 60)
    idp = UpstreamIdp("idp_1", "IdP", ISSUER, "client-1", "email", "email")
    meta = {"jwks_uri": JWKS_URI}
    token = jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)
    if ok:
        assert login._verify_id_token(idp, meta, token, "n-1")["sub"] == "u1"
    else:
        with pytest.raises(UpstreamProtocolError):
            login._verify_id_token(idp, meta, token, "n-1")
    forged = jwt.encode({"alg": "ES256", "kid": "k1"}, claims, stranger)
    with pytest.raises(UpstreamProtocolError):
        login._verify_id_token(idp, meta, forged, "n-1")
    with pytest.raises(UpstreamProtocolError):
        login._verify_id_token(idp, meta, None, "n-1")
