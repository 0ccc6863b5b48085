"""Append-only audit events: who did what to which record, when, from where."""
