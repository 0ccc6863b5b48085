"""Errors of the roster APIs, one class per wire code.

OneRoster 1.1 REST binding §3.3 (Status codes) and the imsx_StatusInfo payload: every
failure carries ``imsx_codeMajor`` = ``failure``, ``imsx_severity`` = ``error`` and an
``imsx_CodeMinor`` naming the problem. The HTTP status follows the binding's table.
"""

from __future__ import annotations

from typing import Any

from homeroom.errors import HomeroomError

__all__ = [
    "InvalidBlankSelectionField",
    "InvalidFilterField",
    "InvalidPaging",
    "InvalidSelectionField",
    "InvalidSortField",
    "RosterApiError",
    "UnknownObject",
]


class RosterApiError(HomeroomError):
    """Base: ``code_minor`` is the imsx_CodeMinor value, ``status`` the HTTP status."""

    code_minor = "invalid_data"
    status = 400

    def imsx(self) -> dict[str, Any]:
        """The OneRoster 1.1 ``imsx_StatusInfo`` body."""
        return {
            "imsx_codeMajor": "failure",
            "imsx_severity": "error",
            "imsx_description": str(self),
            "imsx_CodeMinor": {
                "imsx_codeMinorField": [
                    {
                        "imsx_codeMinorFieldName": "TargetEndSystem",
                        "imsx_codeMinorFieldValue": self.code_minor,
                    }
                ]
            },
        }


class InvalidFilterField(RosterApiError):
    """``invalid_filter_field``: the filter names an unknown field or is malformed."""

    code_minor = "invalid_filter_field"


class InvalidSelectionField(RosterApiError):
    """``invalid_selection_field``: ``fields`` names a field the resource does not have."""

    code_minor = "invalid_selection_field"


class InvalidBlankSelectionField(RosterApiError):
    """``invalid_blank_selection_field``: ``fields`` was given but empty."""

    code_minor = "invalid_blank_selection_field"


class InvalidSortField(RosterApiError):
    """``invalid_sort_field``: ``sort`` names an unknown field (or ``orderBy`` is bad)."""

    code_minor = "invalid_sort_field"


class InvalidPaging(RosterApiError):
    """``invalid_data``: ``limit``/``offset`` (or a cursor) out of range."""

    code_minor = "invalid_data"


class UnknownObject(RosterApiError):
    """``unknownobject`` (404): no such record *visible to this app* — indistinguishable
    from one that exists elsewhere or is not shared."""

    code_minor = "unknownobject"
    status = 404
