"""Sign-in refusals. Their messages are generic on purpose (no user enumeration)::

HomeroomError
└── SignInError
    ├── SignInFailed       wrong username/password, unknown or voided badge
    └── SignInThrottled    too many attempts: locked account or busy IP (429)
"""

from __future__ import annotations

from homeroom.errors import HomeroomError

__all__ = ["SignInError", "SignInFailed", "SignInThrottled"]


class SignInError(HomeroomError):
    """A sign-in was refused; ``str()`` is never shown, the page shows a generic message."""


class SignInFailed(SignInError):
    """The credentials did not sign anyone in."""


class SignInThrottled(SignInError):
    """Too many attempts; try again after ``retry_after`` seconds.

    ``reason`` is ``locked`` (the account, for this address) or ``rate_limited`` (the
    address); ``headers`` carry Retry-After and the X-RateLimit-* trio for the page."""

    def __init__(self, reason: str, retry_after: int, headers: dict[str, str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.headers = {**headers, "Retry-After": str(retry_after)}
