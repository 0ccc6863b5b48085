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
    """Too many attempts; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
