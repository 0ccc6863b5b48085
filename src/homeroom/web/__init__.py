"""The thin web layer: parse, call a domain service, render."""

from homeroom.web.app import create_app

__all__ = ["create_app"]
