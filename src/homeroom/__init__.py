"""Homeroom: one sign-in, rostering and usage for school districts."""

__all__ = ["__version__"]

__version__ = "0.1.0"
