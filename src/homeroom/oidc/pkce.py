"""RFC 7636: Proof Key for Code Exchange. Only ``S256``: "plain" is refused.

Security BCP §2.1.1: public clients MUST use PKCE; confidential clients may, and when a code
was issued with a challenge, the verifier is required at the token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from homeroom.oidc.errors import InvalidGrant, InvalidRequest

__all__ = ["S256", "check_challenge", "s256", "verify"]

S256 = "S256"
# RFC 7636 §4.1: code-verifier = 43*128unreserved; §4.2: the S256 challenge is 43 chars.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_challenge(challenge: str | None, method: str | None, *, required: bool) -> str | None:
    """Validate the authorization request's challenge; returns it (or None when absent)."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method without code_challenge")
        if required:
            # RFC 7636 §4.4.1: "invalid_request" when the server requires PKCE.
            raise InvalidRequest("code_challenge (PKCE, S256) is required for this client")
        return None
    if (method or "plain") != S256:
        # RFC 7636 §4.4.1: "transform algorithm not supported"
        raise InvalidRequest("code_challenge_method must be S256")
    if not _CHALLENGE.match(challenge):
        raise InvalidRequest("malformed code_challenge")
    return challenge


def verify(challenge: str | None, verifier: str | None) -> None:
    """RFC 7636 §4.6: "If the values are not equal, an error response indicating
    "invalid_grant" as described in Section 5.2 of [RFC6749] MUST be returned." """
    if challenge is None:
        if verifier is not None:
            # The code was issued without PKCE: a verifier now is a downgrade signal.
            raise InvalidGrant("code_verifier given but the code was issued without PKCE")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required")
    if not _VERIFIER.match(verifier):
        raise InvalidGrant("malformed code_verifier")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
